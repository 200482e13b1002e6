// Lookup of the embedded dashboard files (see web_assets.h). The table itself is generated
// into web_assets_data.cpp by web_embed.cmake. Thread-safe: read-only data.
#include "server/web_assets.h"

#include <algorithm>

namespace fw::server {

namespace detail {
std::span<const WebAsset> generated_web_assets() noexcept;  // web_assets_data.cpp
}

std::span<const WebAsset> web_assets() noexcept { return detail::generated_web_assets(); }

const WebAsset* find_web_asset(std::string_view path) noexcept {
  if (path.empty() || path.front() != '/') return nullptr;
  if (path == "/") path = "/index.html";
  if (path.find("..") != std::string_view::npos || path.find("//") != std::string_view::npos ||
      path.find('\\') != std::string_view::npos)
    return nullptr;
  auto all = web_assets();
  auto it = std::lower_bound(all.begin(), all.end(), path,
                             [](const WebAsset& a, std::string_view p) { return a.path < p; });
  if (it == all.end() || it->path != path) return nullptr;
  return &*it;
}

std::span<const HeaderPair> web_security_headers() noexcept {
  static constexpr HeaderPair kHeaders[] = {
      {"Content-Security-Policy",
       "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
  };
  return kHeaders;
}

}  // namespace fw::server
