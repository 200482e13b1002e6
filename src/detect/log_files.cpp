// Reading log files line by line: plain or gzip-compressed (zlib reads both), or "-" for
// standard input. The I/O layer above the pure parsers in logs.cpp. One call per thread.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "detect/detect.h"

namespace fw::detect {

Status read_log_lines(const std::string& path, const std::function<void(std::string_view)>& on_line,
                      const std::function<void(uint64_t)>& on_progress) {
  int fd;
  if (path == "-") fd = ::dup(0);
  else
    do fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
  if (fd < 0) return fail(Errc::io_error, std::string("cannot open: ") + std::strerror(errno), path);
  return read_log_fd(fd, path, on_line, on_progress);
}

Status read_log_fd(int fd, const std::string& path, const std::function<void(std::string_view)>& on_line,
                   const std::function<void(uint64_t)>& on_progress) {
  // Progress in file bytes only where there is an offset to ask for: not from a pipe.
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  gzFile gz = gzdopen(fd, "rb");
  if (!gz) {
    ::close(fd);
    return fail(Errc::io_error, "cannot open", path);
  }
  gzbuffer(gz, 1 << 18);
  std::vector<char> buf(1 << 20);
  std::string carry, held;  // held: the last line joined across chunks, given to on_line
  bool carry_too_long = false;
  uint64_t last_offset = 0;
  for (;;) {
    int n = gzread(gz, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int errnum = 0;
      const char* msg = gzerror(gz, &errnum);
      std::string m = msg ? msg : "read error";
      gzclose(gz);
      return fail(Errc::io_error, m, path);
    }
    if (n == 0) break;
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    size_t pos = 0;
    if (!carry.empty() || carry_too_long) {
      const void* nlp = std::memchr(chunk.data(), '\n', chunk.size());
      if (!nlp) {
        // Keep at most one byte past the limit: the parser then reports the line as too long.
        if (carry.size() <= kMaxLogLine) carry.append(chunk.substr(0, kMaxLogLine + 1 - carry.size()));
        carry_too_long = true;
        continue;
      }
      size_t nl = static_cast<size_t>(static_cast<const char*>(nlp) - chunk.data());
      if (carry.size() <= kMaxLogLine) carry.append(chunk.substr(0, std::min(nl, kMaxLogLine + 1 - carry.size())));
      held.swap(carry);  // stays put until the next chunk is read (see detect.h)
      carry.clear();
      on_line(held);
      carry_too_long = false;
      pos = nl + 1;
    }
    for (;;) {
      const void* nlp = std::memchr(chunk.data() + pos, '\n', chunk.size() - pos);
      if (!nlp) break;
      size_t nl = static_cast<size_t>(static_cast<const char*>(nlp) - chunk.data());
      on_line(chunk.substr(pos, nl - pos));
      pos = nl + 1;
    }
    if (pos < chunk.size()) {
      carry.assign(chunk.substr(pos, std::min(chunk.size() - pos, kMaxLogLine + 1)));
      carry_too_long = chunk.size() - pos > kMaxLogLine;
    }
    if (on_progress) {
      uint64_t bytes = 0;
      if (regular) {
        auto off = static_cast<uint64_t>(gzoffset(gz));
        if (off > last_offset) bytes = off - last_offset, last_offset = off;
      }
      on_progress(bytes);
    }
  }
  // zlib tells of a gzip stream cut short (a copy cut by a full disk, a file still being
  // compressed) only here (zlib.h, gzread): the file then fails like a corrupt one, and its
  // last line, which is cut, is not given as a line.
  int rc = gzclose(gz);
  if (rc == Z_BUF_ERROR) return fail(Errc::io_error, "the gzip stream ends early: the file is truncated", path);
  if (rc != Z_OK) return fail(Errc::io_error, "read error", path);
  if (!carry.empty()) {  // a last line without '\n'
    on_line(carry);
    if (on_progress) on_progress(0);  // its views end here (see detect.h)
  }
  return {};
}

}  // namespace fw::detect
