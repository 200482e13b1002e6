// Small cryptographic helpers of the service layer (OpenSSL): SHA-256 and random secrets.
// Pure apart from the OpenSSL random generator; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fw::service {

// Lower-case hex SHA-256 of the bytes.
std::string sha256_hex(std::string_view data);
// `bytes` random bytes from the OpenSSL CSPRNG, as lower-case hex (2*bytes characters).
// Aborts the process if the CSPRNG fails (it cannot on a working system).
std::string random_hex(std::size_t bytes);

}  // namespace fw::service
