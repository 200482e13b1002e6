// scan_logs(): whole access logs -> sightings. An uncompressed regular file is cut at line
// boundaries into units (up to 16 MiB) that the threads take in turn from a shared counter,
// each read through 8 MiB mappings (or with pread into a 256 KiB buffer: ScanOptions::map_files,
// and after a truncation under a mapping); lines are views into the mapping or buffer, never
// copied, and combined lines are parsed and cut in one pass by LineParser::parse_line_at.
// Each thread has its own SightingTable (records tagged with their unit), each unit its own
// LineParser and counts; the tables are merged by unit order and the counts folded in file
// order at the end, so the result does not depend on the number of threads. A gzip file,
// standard input or a pipe is streamed by zlib on one thread; when there are several regular
// gzip files (rotated logs), up to `threads` of them are read at a time, ahead of their turn,
// each into its own table, folded in file order like the rest.
// Thread-safety: scan_logs may be called from any thread; it starts and joins its own. The
// first mapped read installs a process-wide SIGBUS handler that chains to the previous one.
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
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
constexpr uint64_t kUnitBytes = 16 << 20;  // the largest unit of work of a thread (see scan_logs)
constexpr uint64_t kMaxUnits = 65535;      // SightingTable::set_unit
static_assert(kBuffer > 2 * (kMaxLogLine + 1));

// Shared progress counters (relaxed: only for the progress bar).
struct Progress {
  std::atomic<uint64_t> bytes{0}, lines{0};
};

// One part of one file: its parser, its table, its counts (line numbers local to the part).
// Requests are handed to the table in batches; the lines they point into must stay put
// until flush() (read_range flushes before it moves its buffer, read_stream when
// read_log_fd reports progress).
struct Part {
  LineParser parser;
  SightingTable* table = nullptr;
  size_t keep = 0;
  uint64_t lines = 0, records = 0, unparsed = 0;
  uint64_t bytes_done = 0, lines_done = 0;  // given to the progress counters by read_mapped
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
    if (!in_line || pending == SightingTable::kBatch) flush();
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
    if (++pending == SightingTable::kBatch) flush();
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
// The first read is 4 KiB (log lines are ~200 bytes): scan_logs cuts a 1 GiB file ~80 times
// before its threads start, and 64 KiB copies made that ~0.8 ms of serial time, 4 KiB ~0.07.
Result<uint64_t> line_start_after(int fd, const std::string& path, uint64_t at, uint64_t size) {
  if (at == 0) return uint64_t{0};
  char buf[65536];
  size_t want = 4096;
  uint64_t off = at - 1;
  while (off < size) {
    ssize_t n = ::pread(fd, buf, want, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::io_error, std::string("read failed: ") + std::strerror(errno), path);
    }
    if (n == 0) break;
    if (const void* p = std::memchr(buf, '\n', static_cast<size_t>(n)))
      return off + static_cast<uint64_t>(static_cast<const char*>(p) - buf) + 1;
    off += static_cast<uint64_t>(n);
    want = sizeof buf;
  }
  return size;
}

// ---- mapped reading ------------------------------------------------------------------------
// A file truncated under a mapping (logrotate's copytruncate) raises SIGBUS when a page past
// its new end is touched. While read_mapped runs, this thread's guard names its mapping; the
// process-wide handler (installed once, chaining to the previous one for any other fault)
// jumps back into read_mapped when the faulting address is in it. read_mapped then drops the
// unit, and the caller reads the file again with pread (which sees the shorter file). The jump skips
// the destructors of the frames in between (parser and table code): at worst a temporary
// string leaks; the part's parser and table are not used again, only destroyed.
struct BusGuard {
  sigjmp_buf* jump = nullptr;
  const char* lo = nullptr;  // the mapping of this thread, [lo, hi)
  const char* hi = nullptr;
};
thread_local BusGuard t_bus;
struct sigaction g_prev_bus;
std::once_flag g_bus_once;

void on_sigbus(int sig, siginfo_t* si, void* uc) {
  const char* a = static_cast<const char*>(si->si_addr);
  if (t_bus.jump && a >= t_bus.lo && a < t_bus.hi) siglongjmp(*t_bus.jump, 1);
  if (g_prev_bus.sa_flags & SA_SIGINFO) {
    g_prev_bus.sa_sigaction(sig, si, uc);
    return;
  }
  if (g_prev_bus.sa_handler != SIG_DFL && g_prev_bus.sa_handler != SIG_IGN) {
    g_prev_bus.sa_handler(sig);
    return;
  }
  // Not ours: back to the default action, which the faulting access, run again, then takes.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(SIGBUS, &dfl, nullptr);
}

void install_bus_handler() {
  std::call_once(g_bus_once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, &g_prev_bus);
  });
}

// read_range over mappings of the file instead of pread copies (the kernel's copy into the
// buffer was 10-14% of a scan; this is ~10% less CPU in all, measured): windows of the file
// are mapped in turn (so the mapped pages in the RSS stay small), each mapping
// reaching kMaxLogLine + 1 bytes further so that every line starting in the window is seen
// whole (`window`: ScanOptions::map_window_bytes); the lines go to part.on_text / part.on_line as in read_range, the batch is flushed
// before a window is unmapped, and the next lines are prefetched 2 KiB ahead (the hardware
// prefetcher stops at page boundaries). Returns false when the file shrank under a mapping
// (see BusGuard): the file is then to be read again with read_range.
Result<bool> read_mapped(int fd, const std::string& path, uint64_t begin, uint64_t end, uint64_t window,
                         Part& part, Progress& prog, const std::function<void()>& tick) {
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  install_bus_handler();
  sigjmp_buf jump;
  if (sigsetjmp(jump, 1)) {  // SIGBUS in the mapping [t_bus.lo, t_bus.hi)
    ::munmap(const_cast<char*>(t_bus.lo), static_cast<size_t>(t_bus.hi - t_bus.lo));
    t_bus = {};
    return false;
  }
  struct Reset {
    ~Reset() { t_bus = {}; }
  } reset;
  t_bus.jump = &jump;
  uint64_t off = begin;
  while (off < end) {
    uint64_t map_from = off & ~(page - 1);
    uint64_t parse_to = std::min(end, off + std::max<uint64_t>(1, window));  // lines starting before this are read here
    uint64_t map_to = std::min(end, parse_to + kMaxLogLine + 1);
    size_t len = static_cast<size_t>(map_to - map_from);
    void* m = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, static_cast<off_t>(map_from));
    if (m == MAP_FAILED) return fail(Errc::io_error, std::string("mmap failed: ") + std::strerror(errno), path);
    t_bus.lo = static_cast<const char*>(m);
    t_bus.hi = t_bus.lo + len;
    const char* base = t_bus.lo + (off - map_from);
    size_t have = static_cast<size_t>(map_to - off), stop = static_cast<size_t>(parse_to - off);
    uint64_t lines_before = part.lines;
    uint64_t skip_to = 0;  // set when an over-long line ends beyond the mapping
    size_t pos = 0;
    while (pos < stop) {
      if (pos + 2048 + 256 <= have) {  // (the last 2 KiB of a mapping are not prefetched)
        const char* ahead = base + pos + 2048;
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead + 64);
        __builtin_prefetch(ahead + 128);
        __builtin_prefetch(ahead + 192);
      }
      size_t took = part.on_text(std::string_view(base + pos, have - pos));
      if (took) {
        pos += took;
        continue;
      }
      const void* nlp = std::memchr(base + pos, '\n', have - pos);
      size_t nl = nlp ? static_cast<size_t>(static_cast<const char*>(nlp) - base) : have;
      if (nl - pos > kMaxLogLine) {
        part.on_line(std::string_view(base + pos, kMaxLogLine + 1));  // reported as too long
        if (!nlp && map_to < end) {  // its '\n' is beyond this mapping: found by pread
          auto next = line_start_after(fd, path, map_to, end);
          if (!next) return std::unexpected(next.error());
          skip_to = *next;
          break;
        }
      } else if (nlp || map_to == end) {
        part.on_line(std::string_view(base + pos, nl - pos));  // the last line may lack its '\n'
      }
      pos = nl + 1;
    }
    part.flush();
    t_bus.lo = t_bus.hi = nullptr;
    ::munmap(m, len);
    uint64_t next = skip_to ? skip_to : off + std::min(pos, have);
    part.bytes_done += next - off;
    part.lines_done += part.lines - lines_before;
    prog.bytes.fetch_add(next - off, std::memory_order_relaxed);
    prog.lines.fetch_add(part.lines - lines_before, std::memory_order_relaxed);
    if (tick) tick();
    off = next;
  }
  return true;
}

// Streams fd (taken over) into part with zlib on this thread: gzip files, standard input,
// pipes. Requests are folded in batches: read_log_fd's lines stay put until its next
// on_progress call (also made after the last line), where the batch is flushed.
Status read_stream(int fd, const std::string& file, Part& part, Progress& prog, const std::function<void()>& tick) {
  uint64_t lines_seen = 0;
  return read_log_fd(
      fd, file, [&](std::string_view line) { part.on_line(line); },
      [&](uint64_t bytes) {
        part.flush();
        prog.bytes.fetch_add(bytes, std::memory_order_relaxed);
        prog.lines.fetch_add(part.lines - lines_seen, std::memory_order_relaxed);
        lines_seen = part.lines;
        if (tick) tick();
      });
}

// Whether fd, a regular file, starts with gzip's magic bytes.
bool starts_as_gzip(int fd) {
  unsigned char magic[2] = {0, 0};
  return ::pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

// Whether path is a regular file that starts with gzip's magic bytes. A named pipe is not
// opened (stat first): it is read only when its turn comes.
bool regular_gzip(const std::string& path) {
  struct stat st {};
  if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  bool gz = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && starts_as_gzip(fd);
  ::close(fd);
  return gz;
}

// Regular gzip files read ahead of their turn: zlib streams a file on one thread, so with
// several of them (rotated logs) `threads` workers take them in file order, each into its own
// table and Part; scan_logs waits for each when its turn comes and folds it in file order.
// A worker starts a file only while fewer than 2 x threads files are read and not yet taken
// (memory stays bounded however many files there are). The destructor lets no new file
// start and joins (a file being read is read to its end).
class GzipAhead {
 public:
  struct File {
    std::string path;
    std::unique_ptr<SightingTable> table;
    std::unique_ptr<Part> part;
    Status status;
    bool done = false;  // under mu_
  };
  using MakePart = std::function<Result<std::unique_ptr<Part>>(SightingTable*)>;

  GzipAhead(std::vector<std::string> paths, unsigned threads, std::vector<std::string> strip, MakePart make,
            Progress& prog)
      : strip_(std::move(strip)), make_(std::move(make)), prog_(prog), window_(2 * size_t{threads}) {
    for (auto& p : paths) {
      files_.push_back(std::make_unique<File>());
      files_.back()->path = std::move(p);
    }
    try {
      for (unsigned k = 0; k < std::min<size_t>(threads, files_.size()); ++k) workers_.emplace_back([this] { work(); });
    } catch (const std::system_error&) {  // no thread to be had: fewer workers, or none
      if (workers_.empty()) throw;
    }
  }
  ~GzipAhead() {
    {
      std::lock_guard lock(mu_);
      cancel_ = true;
    }
    room_.notify_all();
    for (auto& w : workers_) w.join();
  }
  // File j once read, for the caller to take its table and part (files are taken in order);
  // tick (the progress bar, on this thread) every 100 ms meanwhile.
  File& take(size_t j, const std::function<void()>& tick) {
    std::unique_lock lock(mu_);
    while (!files_[j]->done) {
      done_.wait_for(lock, std::chrono::milliseconds(100));
      if (tick) {
        lock.unlock();
        tick();
        lock.lock();
      }
    }
    taken_ = j + 1;
    room_.notify_all();
    return *files_[j];
  }

 private:
  void work() {
    for (;;) {
      size_t j;
      {
        std::unique_lock lock(mu_);
        room_.wait(lock, [&] { return cancel_ || next_ >= files_.size() || next_ < taken_ + window_; });
        if (cancel_ || next_ >= files_.size()) return;
        j = next_++;
      }
      File& f = *files_[j];
      try {  // nothing may escape a thread (std::terminate): a failure is the file's status
        f.table = std::make_unique<SightingTable>(strip_);
        auto made = make_(f.table.get());
        if (!made) {
          f.status = std::unexpected(made.error());
        } else {
          f.part = std::move(*made);
          int fd = open_file(f.path);
          f.status = fd < 0 ? fail(Errc::io_error, std::string("cannot open: ") + std::strerror(errno), f.path)
                            : read_stream(fd, f.path, *f.part, prog_, {});
        }
      } catch (const std::bad_alloc&) {
        f.status = fail(Errc::too_large, "out of memory", f.path);
      } catch (const std::exception& e) {
        f.status = fail(Errc::internal, e.what(), f.path);
      }
      {
        std::lock_guard lock(mu_);
        f.done = true;
      }
      done_.notify_all();
    }
  }

  const std::vector<std::string> strip_;
  MakePart make_;
  Progress& prog_;
  const size_t window_;
  std::vector<std::unique_ptr<File>> files_;
  std::mutex mu_;
  std::condition_variable done_, room_;
  size_t next_ = 0, taken_ = 0;  // under mu_
  bool cancel_ = false;          // under mu_
  std::vector<std::thread> workers_;  // last: started after everything they use
};

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
  // Takes in the table of the lines right after the ones res.table has seen.
  auto absorb = [&](std::unique_ptr<SightingTable> t) {
    if (res.table->size() == 0) res.table = std::move(t);  // nothing to fold into yet
    else res.table->merge_from(*t);
  };
  auto make_part = [&](LogFormat f, SightingTable* table) -> Result<std::unique_ptr<Part>> {
    auto p = std::make_unique<Part>();
    FW_TRY(p->parser, LineParser::make(f, opts.nginx_format));
    p->table = table;
    p->keep = opts.keep_unparsed;
    return p;
  };

  // With two or more regular gzip files and threads, they are read ahead (GzipAhead, started
  // when the first of them is reached), indexed here.
  std::vector<size_t> ahead_index(files.size(), SIZE_MAX);
  std::vector<std::string> ahead_paths;
  if (threads >= 2)
    for (size_t i = 0; i < files.size(); ++i)
      if (regular_gzip(files[i])) {
        ahead_index[i] = ahead_paths.size();
        ahead_paths.push_back(files[i]);
      }
  if (ahead_paths.size() < 2) ahead_index.assign(files.size(), SIZE_MAX);
  std::optional<GzipAhead> ahead;

  for (size_t fi = 0; fi < files.size(); ++fi) {
    const std::string& file = files[fi];
    if (ahead_index[fi] != SIZE_MAX) {
      if (!ahead)
        ahead.emplace(std::move(ahead_paths), threads, opts.strip_domains,
                      [&](SightingTable* t) { return make_part(opts.format, t); }, prog);
      auto& got = ahead->take(ahead_index[fi], tick);
      if (!got.status) return std::unexpected(got.status.error());
      absorb(std::move(got.table));
      fold(file, *got.part, 0);
      got.part.reset();
      continue;
    }
    int fd = file == "-" ? -1 : open_file(file);
    if (file != "-" && fd < 0) return fail(Errc::io_error, std::string("cannot open: ") + std::strerror(errno), file);
    struct stat stt {};
    bool plain = fd >= 0 && ::fstat(fd, &stt) == 0 && S_ISREG(stt.st_mode) && !starts_as_gzip(fd);
    if (!plain) {
      // gzip, standard input, pipes: zlib streams it on this thread, from the descriptor
      // already open (a named pipe opened twice would block on its second open).
      if (fd < 0 && (fd = ::dup(0)) < 0)
        return fail(Errc::io_error, std::string("cannot read standard input: ") + std::strerror(errno), file);
      auto made = make_part(opts.format, res.table.get());
      if (!made) {
        ::close(fd);
        return std::unexpected(made.error());
      }
      auto part = std::move(*made);
      auto st = read_stream(fd, file, *part, prog, tick);
      if (!st) return std::unexpected(st.error());
      fold(file, *part, 0);
      continue;
    }
    auto size = static_cast<uint64_t>(stt.st_size);
    unsigned n = threads;
    uint64_t min_part = std::max<uint64_t>(1, opts.min_part_bytes);
    if (size / min_part < n) n = static_cast<unsigned>(std::max<uint64_t>(1, size / min_part));
    // With several threads the file is cut at line starts into units of up to 16 MiB (about
    // 8 per thread for small files), which the threads take in turn from a shared counter:
    // a thread slowed down (by the classifier loading beside the scan, by another process)
    // takes fewer units, and no thread waits for another. Unit 0 has the requested format
    // (auto-detection happens there as it would on one thread); the others start with the
    // format unit 0 settles on.
    // The last two units' worth per thread are cut in quarters, so that the threads finish
    // within a quarter unit (~4 ms) of each other rather than a whole one.
    std::vector<uint64_t> cuts{0};
    if (n > 1) {
      uint64_t smallest = std::max(min_part, size / kMaxUnits + 1);
      uint64_t unit = std::max(smallest, std::min<uint64_t>(kUnitBytes, size / (n * 8)));
      uint64_t tail = 2 * unit * n, quarter = std::max(smallest, unit / 4);
      for (uint64_t from = 0;;) {
        uint64_t at = from + (size - from > tail ? unit : quarter);
        if (at >= size) break;
        auto c = line_start_after(fd, file, at, size);
        if (!c) {
          ::close(fd);
          return std::unexpected(c.error());
        }
        if (*c >= size) break;
        cuts.push_back(*c);
        from = *c;
      }
    }
    cuts.push_back(size);
    std::optional<LogFormat> part_format = cuts.size() > 2 ? stateless_format(fd, opts.format, cuts[1]) : std::nullopt;
    if (!part_format) cuts = {0, size};
    size_t units = cuts.size() - 1;
    n = static_cast<unsigned>(std::min<size_t>(n, units));
    // One table per thread, which sees its units in file order (the counter only goes up);
    // one Part per unit for its counts and unparsed lines, folded in file order at the end.
    std::vector<std::unique_ptr<SightingTable>> tables;
    for (unsigned k = 0; k < n; ++k) tables.push_back(std::make_unique<SightingTable>(opts.strip_domains));
    std::vector<std::unique_ptr<Part>> parts(units);
    std::atomic<size_t> next_unit{0};
    std::atomic<bool> stop{false}, shrank{false};
    auto run_thread = [&](unsigned k, const std::function<void()>& tk) {
      for (;;) {
        size_t u = next_unit.fetch_add(1, std::memory_order_relaxed);
        if (u >= units || stop.load(std::memory_order_relaxed)) return;
        auto p = make_part(u == 0 ? opts.format : *part_format, tables[k].get());
        if (!p) {
          parts[u] = std::make_unique<Part>();
          parts[u]->status = std::unexpected(p.error());
          stop = true;
          return;
        }
        parts[u] = std::move(*p);
        Part& part = *parts[u];
        tables[k]->set_unit(static_cast<uint32_t>(u));
        if (opts.map_files) {
          auto whole = read_mapped(fd, file, cuts[u], cuts[u + 1], opts.map_window_bytes, part, prog, tk);
          if (!whole) part.status = std::unexpected(whole.error());
          else if (!*whole) shrank = true;  // the file shrank under the mapping
        } else {
          part.status = read_range(fd, file, cuts[u], cuts[u + 1], part, prog, tk);
        }
        if (!part.status || shrank) {
          stop = true;
          return;
        }
      }
    };
    std::vector<std::thread> workers;
    for (unsigned k = 1; k < n; ++k) workers.emplace_back([&, k] { run_thread(k, {}); });
    run_thread(0, tick);
    for (auto& w : workers) w.join();
    for (auto& p : parts)
      if (p && !p->status) {
        ::close(fd);
        return std::unexpected(p->status.error());
      }
    if (shrank) {
      // Read the whole file again, on this thread, with pread (which sees the shorter file).
      for (auto& p : parts)
        if (p) {
          prog.bytes.fetch_sub(p->bytes_done, std::memory_order_relaxed);
          prog.lines.fetch_sub(p->lines_done, std::memory_order_relaxed);
        }
      tables.clear();
      tables.push_back(std::make_unique<SightingTable>(opts.strip_domains));
      auto p = make_part(opts.format, tables[0].get());
      if (!p) {
        ::close(fd);
        return std::unexpected(p.error());
      }
      parts.clear();
      parts.push_back(std::move(*p));
      parts[0]->status = read_range(fd, file, 0, size, *parts[0], prog, tick);
      if (!parts[0]->status) {
        ::close(fd);
        return std::unexpected(parts[0]->status.error());
      }
    }
    ::close(fd);
    for (size_t k = 1; k < tables.size(); ++k) tables[0]->merge_from(*tables[k], /*by_unit=*/true);
    absorb(std::move(tables[0]));
    uint64_t offset = 0;
    for (auto& p : parts) {
      fold(file, *p, offset);
      offset += p->lines;
    }
  }
  if (tick) tick();
  return res;
}

}  // namespace fw::detect
