// Small files written and read whole: state, caches. Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "util/error.h"

namespace fw {

// Writes data to a fresh temporary file beside path (mkstemp: a new name, never an existing
// file or link someone placed there) with permissions `mode`, and renames it over path, so
// that readers see the old file or the new one, never a part. durable: fsync the file and
// then its directory (state that must survive a power cut); caches skip that. On failure the
// temporary file is removed and path is unchanged: io_error naming the step.
Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode = 0644, bool durable = true);

// The bytes of the regular file at path, at most max_bytes: opened without blocking (a named
// pipe placed there is refused, not waited on) and, unless follow_links, without following
// a symbolic link (caches: a link placed there is not read through). not_found when
// missing; invalid_argument when a link (not followed), pipe or anything but a regular
// file; too_large over max_bytes; io_error otherwise. A file that changes while it is read
// gives whatever bytes were read (callers that need integrity checksum them).
Result<std::string> read_file_limited(const std::string& path, size_t max_bytes, bool follow_links = false);

}  // namespace fw
