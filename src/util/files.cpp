// Small files written and read whole (files.h).
#include "util/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace fw {
namespace {

Error io_error(const char* step, int err, const std::string& where) {
  return Error{Errc::io_error, std::string(step) + ": " + std::strerror(err), where};
}

}  // namespace

Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode, bool durable) {
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return std::unexpected(io_error("create", errno, tmp));
  auto give_up = [&](const char* step) -> Status {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return std::unexpected(io_error(step, e, tmp));
  };
  if (::fchmod(fd, mode) != 0) return give_up("chmod");  // mkstemp made it 0600; the umask plays no part
  for (size_t off = 0; off < data.size();) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return give_up("write");
    off += static_cast<size_t>(n);
  }
  if (durable && ::fsync(fd) != 0) return give_up("fsync");
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return std::unexpected(io_error("close", e, tmp));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return std::unexpected(io_error("rename", e, path));
  }
  if (!durable) return {};
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return std::unexpected(io_error("open directory", errno, dir));
  int rc = ::fsync(dfd);
  int e = errno;
  ::close(dfd);
  if (rc != 0) return std::unexpected(io_error("fsync directory", e, dir));
  return {};
}

Result<std::string> read_file_limited(const std::string& path, size_t max_bytes, bool follow_links) {
  int fd;
  do fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | (follow_links ? 0 : O_NOFOLLOW));
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == ENOENT) return fail(Errc::not_found, "no such file", path);
    if (errno == ELOOP) return fail(Errc::invalid_argument, "a symbolic link, not read", path);
    return std::unexpected(io_error("open", errno, path));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return std::unexpected(io_error("stat", e, path));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(Errc::invalid_argument, "not a regular file", path);
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return fail(Errc::too_large, "larger than " + std::to_string(max_bytes) + " bytes", path);
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t have = 0;
  while (have < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + have, bytes.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return std::unexpected(io_error("read", e, path));
    }
    if (n == 0) break;  // it shrank meanwhile
    have += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(have);
  return bytes;
}

}  // namespace fw
