// scan_logs(): whole access logs -> sightings. An uncompressed regular file is read with
// pread into a 256 KiB buffer per thread (lines are views into it, never copied; combined
// lines are parsed and cut in one pass by LineParser::parse_line_at), cut at line
// boundaries into one part per thread; each part has its own LineParser and SightingTable,
// and the tables are merged in file order at the end, so the result does not depend on the
// number of threads. gzip and standard input go through read_log_lines on one thread.
// Thread-safety: scan_logs may be called from any thread; it starts and joins its own.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include "detect/detect.h"
#include "detect/sighting_table.h"

namespace fw::detect {

std::vector<model::Sighting> ScanResult::sightings(const Classifier& classifier) const {
  return table ? table->sightings(classifier) : std::vector<model::Sighting>{};
}
size_t ScanResult::sighting_count() const { return table ? table->size() : 0; }

namespace {

constexpr size_t kBuffer = 256 << 10;  // > 2 * kMaxLogLine
static_assert(kBuffer > 2 * (kMaxLogLine + 1));

// Shared progress counters (relaxed: only for the progress bar).
struct Progress {
  std::atomic<uint64_t> bytes{0}, lines{0};
};

// One part of one file: its parser, its table, its counts (line numbers local to the part).
// Requests are handed to the table in batches; the lines they point into must stay put
// until flush() (read_range flushes before it moves its buffer; `batching` = false flushes
// after every line, for callers whose line buffer does not stay put).
struct Part {
  LineParser parser;
  SightingTable* table = nullptr;
  size_t keep = 0;
  bool batching = true;
  uint64_t lines = 0, records = 0, unparsed = 0;
  std::vector<std::pair<uint64_t, Error>> first_unparsed;
  Status status;
  LogRecord recs[SightingTable::kBatch];
  const LogRecord* ptrs[SightingTable::kBatch];
  size_t pending = 0;

  void flush() {
    if (pending) table->add_batch(ptrs, pending);
    pending = 0;
  }
  void on_line(std::string_view line) {
    ++lines;
    LogRecord& rec = recs[pending];
    auto r = parser.parse_into(line, rec);
    if (!r) {
      ++unparsed;
      if (first_unparsed.size() < keep) first_unparsed.emplace_back(lines, std::move(r.error()));
      return;
    }
    if (!*r) return;
    ++records;
    ptrs[pending] = &rec;
    ++pending;
    // A User-Agent unescaped into the parser's scratch buffer is only valid until the next
    // line: such a record is folded right away.
    bool in_line = rec.user_agent.empty() ||
                   (rec.user_agent.data() >= line.data() && rec.user_agent.data() <= line.data() + line.size());
    if (!batching || !in_line || pending == SightingTable::kBatch) flush();
  }
  // The fast path over the buffer from a line start (LineParser::parse_line_at): the length
  // of the line taken with its '\n', or 0 (the caller then cuts the line and calls on_line).
  size_t on_text(std::string_view text) {
    LogRecord& rec = recs[pending];
    size_t n = parser.parse_line_at(text, rec);
    if (n == 0) return 0;
    ++lines;
    ++records;
    ptrs[pending] = &rec;  // its views point into the buffer, never into scratch
    if (++pending == SightingTable::kBatch || !batching) flush();
    return n;
  }
};

int open_file(const std::string& path) {
  int fd;
  do fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  return fd;
}

// Reads [begin, end) of fd, which starts at a line start, and gives each line (without the
// '\n') to part.on_line, like read_log_lines: a line longer than kMaxLogLine is cut to
// kMaxLogLine + 1 bytes (the parser then rejects it), a last line without '\n' still counts.
Status read_range(int fd, const std::string& path, uint64_t begin, uint64_t end, Part& part, Progress& prog,
                  const std::function<void()>& tick) {
  std::unique_ptr<char[]> buf(new char[kBuffer]);
  size_t have = 0;
  uint64_t off = begin;
  bool skipping = false;  // inside an over-long line already reported: drop up to its '\n'
  for (;;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(kBuffer - have, end - off));
    ssize_t n = 0;
    if (want > 0) {
      n = ::pread(fd, buf.get() + have, want, static_cast<off_t>(off));
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(Errc::io_error, std::string("read failed: ") + std::strerror(errno), path);
      }
      if (n == 0) end = off;  // the file shrank while we read it
    }
    off += static_cast<uint64_t>(n);
    have += static_cast<size_t>(n);
    uint64_t lines_before = part.lines;
    size_t pos = 0;
    for (;;) {
      if (!skipping) {
        // Most lines: parsed and cut in one pass, without a separate newline scan.
        size_t took = part.on_text(std::string_view(buf.get() + pos, have - pos));
        if (took) {
          pos += took;
          continue;
        }
      }
      const void* nlp = std::memchr(buf.get() + pos, '\n', have - pos);
      if (!nlp) break;
      size_t nl = static_cast<size_t>(static_cast<const char*>(nlp) - buf.get());
      if (skipping) skipping = false;
      else part.on_line(std::string_view(buf.get() + pos, nl - pos));
      pos = nl + 1;
    }
    size_t rem = have - pos;
    bool done = off >= end;
    if (done) {
      if (!skipping && rem > 0) part.on_line(std::string_view(buf.get() + pos, rem));
      part.flush();
    } else if (skipping) {
      rem = 0;
    } else if (rem > kMaxLogLine) {
      part.on_line(std::string_view(buf.get() + pos, kMaxLogLine + 1));
      skipping = true;
      rem = 0;
    }
    prog.bytes.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    prog.lines.fetch_add(part.lines - lines_before, std::memory_order_relaxed);
    if (tick) tick();
    part.flush();
    if (done) return {};
    if (rem > 0) std::memmove(buf.get(), buf.get() + pos, rem);
    have = rem;
  }
}

// The first line start at or after `at` (a '\n' at at - 1 or later, plus one); size when none.
Result<uint64_t> line_start_after(int fd, const std::string& path, uint64_t at, uint64_t size) {
  if (at == 0) return uint64_t{0};
  char buf[65536];
  uint64_t off = at - 1;
  while (off < size) {
    ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::io_error, std::string("read failed: ") + std::strerror(errno), path);
    }
    if (n == 0) break;
    if (const void* p = std::memchr(buf, '\n', static_cast<size_t>(n)))
      return off + static_cast<uint64_t>(static_cast<const char*>(p) - buf) + 1;
    off += static_cast<uint64_t>(n);
  }
  return size;
}

// The format for the parts after the first: the requested one when later lines do not depend
// on earlier ones (combined, common, nginx); with --format auto, the one the lines of the
// first part (the first MiB of it at most) settle on when it is combined or common. nullopt:
// read the file on one thread.
std::optional<LogFormat> stateless_format(int fd, LogFormat requested, uint64_t first_part_end) {
  if (requested == LogFormat::combined || requested == LogFormat::common || requested == LogFormat::nginx)
    return requested;
  if (requested != LogFormat::auto_detect) return std::nullopt;
  std::unique_ptr<char[]> buf(new char[kBuffer]);
  ssize_t n = ::pread(fd, buf.get(), static_cast<size_t>(std::min<uint64_t>(kBuffer, first_part_end)), 0);
  if (n <= 0) return std::nullopt;
  auto probe = LineParser::make(LogFormat::auto_detect);
  if (!probe) return std::nullopt;
  LogRecord rec;
  std::string_view data(buf.get(), static_cast<size_t>(n));
  for (;;) {
    size_t nl = data.find('\n');
    if (nl == std::string_view::npos) break;  // the last, maybe partial, line is not looked at
    (void)probe->parse_into(data.substr(0, nl), rec);
    if (probe->format() != LogFormat::auto_detect) break;
    data.remove_prefix(nl + 1);
  }
  LogFormat f = probe->format();
  if (f == LogFormat::combined || f == LogFormat::common) return f;
  return std::nullopt;
}

}  // namespace

Result<ScanResult> scan_logs(const std::vector<std::string>& files, const ScanOptions& opts) {
  FW_TRY_STATUS(LineParser::make(opts.format, opts.nginx_format));  // a bad nginx format fails early
  unsigned threads = opts.threads ? opts.threads : std::min(2u, std::max(1u, std::thread::hardware_concurrency()));
  ScanResult res;
  res.table = std::make_shared<SightingTable>(opts.strip_domains);
  Progress prog;
  std::function<void()> tick;
  if (opts.on_progress)
    tick = [&] { opts.on_progress(prog.bytes.load(std::memory_order_relaxed), prog.lines.load(std::memory_order_relaxed)); };

  // Folds one finished part into the result, in order.
  auto fold = [&](const std::string& file, Part& p, uint64_t line_offset) {
    res.lines += p.lines;
    res.records += p.records;
    res.unparsed += p.unparsed;
    for (auto& [line, err] : p.first_unparsed)
      if (res.first_unparsed.size() < opts.keep_unparsed)
        res.first_unparsed.push_back(UnparsedLine{file, line_offset + line, std::move(err)});
  };
  auto make_part = [&](LogFormat f, SightingTable* table) -> Result<std::unique_ptr<Part>> {
    auto p = std::make_unique<Part>();
    FW_TRY(p->parser, LineParser::make(f, opts.nginx_format));
    p->table = table;
    p->keep = opts.keep_unparsed;
    return p;
  };

  for (const auto& file : files) {
    int fd = file == "-" ? -1 : open_file(file);
    if (file != "-" && fd < 0) return fail(Errc::io_error, "cannot open", file);
    struct stat stt {};
    unsigned char magic[2] = {0, 0};
    bool plain = fd >= 0 && ::fstat(fd, &stt) == 0 && S_ISREG(stt.st_mode) &&
                 !(::pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b);
    if (!plain) {
      // gzip, standard input, pipes: zlib streams it on this thread.
      if (fd >= 0) ::close(fd);
      FW_TRY(auto part, make_part(opts.format, res.table.get()));
      part->batching = false;
      uint64_t lines_seen = 0;
      auto st = read_log_lines(
          file, [&](std::string_view line) { part->on_line(line); },
          [&](uint64_t bytes) {
            prog.bytes.fetch_add(bytes, std::memory_order_relaxed);
            prog.lines.fetch_add(part->lines - lines_seen, std::memory_order_relaxed);
            lines_seen = part->lines;
            if (tick) tick();
          });
      if (!st) return std::unexpected(st.error());
      fold(file, *part, 0);
      continue;
    }
    auto size = static_cast<uint64_t>(stt.st_size);
    unsigned n = threads;
    uint64_t min_part = std::max<uint64_t>(1, opts.min_part_bytes);
    if (size / min_part < n) n = static_cast<unsigned>(std::max<uint64_t>(1, size / min_part));
    // Part 0 continues the sequence on the result's own table with the requested format
    // (auto-detection happens there as it would on one thread); the others start with the
    // format part 0 settles on, on tables of their own.
    std::vector<uint64_t> cuts{0};
    for (unsigned k = 1; k < n; ++k) {
      auto c = line_start_after(fd, file, size * k / n, size);
      if (!c) {
        ::close(fd);
        return std::unexpected(c.error());
      }
      cuts.push_back(std::max(cuts.back(), *c));
    }
    cuts.push_back(size);
    std::optional<LogFormat> part_format = n > 1 ? stateless_format(fd, opts.format, cuts[1]) : std::nullopt;
    if (!part_format) {
      n = 1;
      cuts = {0, size};
    }
    std::vector<std::unique_ptr<Part>> parts;
    std::vector<std::unique_ptr<SightingTable>> tables;
    for (unsigned k = 0; k < n; ++k) {
      SightingTable* t = res.table.get();
      if (k > 0) t = tables.emplace_back(std::make_unique<SightingTable>(opts.strip_domains)).get();
      auto p = make_part(k == 0 ? opts.format : *part_format, t);
      if (!p) {
        ::close(fd);
        return std::unexpected(p.error());
      }
      parts.push_back(std::move(*p));
    }
    std::vector<std::thread> workers;
    for (unsigned k = 1; k < n; ++k)
      workers.emplace_back([&, k] { parts[k]->status = read_range(fd, file, cuts[k], cuts[k + 1], *parts[k], prog, {}); });
    parts[0]->status = read_range(fd, file, cuts[0], cuts[1], *parts[0], prog, tick);
    for (auto& w : workers) w.join();
    ::close(fd);
    uint64_t offset = 0;
    for (unsigned k = 0; k < n; ++k) {
      if (!parts[k]->status) return std::unexpected(parts[k]->status.error());
      if (k > 0) res.table->merge_from(*tables[k - 1]);
      fold(file, *parts[k], offset);
      offset += parts[k]->lines;
    }
  }
  if (tick) tick();
  return res;
}

}  // namespace fw::detect
