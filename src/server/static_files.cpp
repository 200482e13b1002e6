// The static-asset hook: serves files from Services::static_dir for GET requests that no
// API route matched ("/" and directories -> index.html). The dashboard plugs in by setting
// static_dir (e.g. to the installed web/ folder). Paths are confined to the directory.
// Thread-safe: reads files only.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/routes.h"

namespace fw::server {

namespace fs = std::filesystem;

static std::string content_type_for(const fs::path& p) {
  auto ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

void add_static_routes(Router& r, Services& s) {
  if (s.static_dir.empty()) return;
  std::error_code ec;
  fs::path root = fs::weakly_canonical(fs::path(s.static_dir), ec);
  if (ec) return;
  r.set_fallback([root](Request& req) -> Result<Response> {
    if (req.path.find('\0') != std::string::npos) return fail(Errc::not_found, "no such file", req.path);
    fs::path rel = fs::path(req.path).relative_path();
    std::error_code ec2;
    fs::path p = fs::weakly_canonical(root / rel, ec2);
    if (ec2) return fail(Errc::not_found, "no such file", req.path);
    auto [rend, pend] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
    if (rend != root.end()) return fail(Errc::not_found, "no such file", req.path);
    if (fs::is_directory(p, ec2)) p /= "index.html";
    if (!fs::is_regular_file(p, ec2)) return fail(Errc::not_found, "no such file", req.path);
    std::ifstream in(p, std::ios::binary);
    if (!in) return fail(Errc::not_found, "no such file", req.path);
    std::ostringstream buf;
    buf << in.rdbuf();
    Response res;
    res.content_type = content_type_for(p);
    res.body = std::move(buf).str();
    return res;
  });
}

}  // namespace fw::server
