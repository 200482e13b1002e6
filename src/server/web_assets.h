// The dashboard's files (web/), embedded into the binary at build time by web_embed.cmake,
// so `fleetward` needs nothing beside it. Lookup by URL path; "/" is index.html.
// Immutable static data; thread-safe.
#pragma once

#include <span>
#include <string_view>

namespace fw::server {

struct WebAsset {
  std::string_view path;          // "/index.html", "/js/app.js", "/i18n/ru.json"
  std::string_view content_type;  // "text/javascript; charset=utf-8", ...
  std::string_view body;
  std::string_view etag;          // "\"<first 16 hex of SHA-256>\""
};

// Every embedded file, sorted by path.
std::span<const WebAsset> web_assets() noexcept;

// The asset served at a URL path (query string already removed), or nullptr. "/" and
// "/index.html" give the page; paths with "..", "//" or a backslash give nullptr.
const WebAsset* find_web_asset(std::string_view url_path) noexcept;

// The security headers every dashboard response carries (CSP without inline scripts,
// no framing, no sniffing, no referrer), as name/value pairs.
struct HeaderPair {
  std::string_view name, value;
};
std::span<const HeaderPair> web_security_headers() noexcept;

}  // namespace fw::server
