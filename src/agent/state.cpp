// The agent's state directory: credential, report state and the queue of unsent reports.
// Not thread-safe (one agent process per directory).
#include "agent/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "util/files.h"
#include "util/strings.h"

namespace fw::agent {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

Result<std::optional<std::string>> read_whole(const std::string& path, size_t max = 64u << 20) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<std::string>();
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::io_error, "cannot open", path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > max) return fail(Errc::too_large, "file too large", path);
  return std::optional<std::string>(std::move(s));
}

Result<json::value> parse_json(std::string_view text, const std::string& where) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return fail(Errc::parse_error, ec.message(), where);
  return v;
}

std::string get_str(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
}
int64_t get_int(const json::object& o, const char* k, int64_t dflt) {
  auto* v = o.if_contains(k);
  if (v && v->is_int64()) return v->get_int64();
  if (v && v->is_uint64()) return int64_t(v->get_uint64());
  return dflt;
}

}  // namespace

json::object to_json(const CommandResult& r) {
  json::object o;
  o["id"] = r.id;
  o["status"] = r.status;
  if (r.exit_code)
    o["exit_code"] = *r.exit_code;
  else
    o["exit_code"] = nullptr;
  o["output"] = r.output;
  o["finished_at"] = format_time(r.finished_at);
  return o;
}

Result<CommandResult> command_result_from_json(const json::value& v) {
  if (!v.is_object()) return fail(Errc::parse_error, "command result is not an object");
  const auto& o = v.get_object();
  CommandResult r;
  r.id = get_str(o, "id");
  r.status = get_str(o, "status");
  if (auto* e = o.if_contains("exit_code"); e && e->is_int64()) r.exit_code = int(e->get_int64());
  r.output = get_str(o, "output");
  auto t = parse_time(get_str(o, "finished_at"));
  if (t) r.finished_at = *t;
  if (r.id.empty()) return fail(Errc::parse_error, "command result without id");
  return r;
}

Status StateDir::ensure() const {
  std::error_code ec;
  fs::create_directories(dir_ + "/queue", ec);
  if (ec) return fail(Errc::io_error, "cannot create state directory: " + ec.message(), dir_);
  ::chmod(dir_.c_str(), 0700);
  return {};
}

Result<std::optional<Credential>> StateDir::load_credential() const {
  std::string path = dir_ + "/credential.json";
  FW_TRY(auto text, read_whole(path, 1 << 20));
  if (!text) return std::optional<Credential>();
  FW_TRY(auto v, parse_json(*text, path));
  if (!v.is_object()) return fail(Errc::parse_error, "not a JSON object", path);
  Credential c{get_str(v.get_object(), "server"), get_str(v.get_object(), "device_id"),
               get_str(v.get_object(), "credential")};
  if (c.device_id.empty() || c.credential.empty())
    return fail(Errc::parse_error, "device_id or credential missing", path);
  return std::optional<Credential>(std::move(c));
}

Status StateDir::save_credential(const Credential& c) const {
  json::object o;
  o["server"] = c.server;
  o["device_id"] = c.device_id;
  o["credential"] = c.credential;
  return write_file_atomic(dir_ + "/credential.json", json::serialize(o), 0600);
}

Result<std::string> StateDir::hardware_id(const std::string& root) const {
  std::string mid_path = (root == "/" ? std::string() : root) + "/etc/machine-id";
  FW_TRY(auto mid, read_whole(mid_path, 4096));
  if (mid) {
    std::string id(trim(*mid));
    if (id.size() >= 8 && id.size() <= 128) return id;
  }
  std::string path = dir_ + "/hardware-id";
  FW_TRY(auto kept, read_whole(path, 4096));
  if (kept && !trim(*kept).empty()) return std::string(trim(*kept));
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 32; ++i) id.push_back(hex[rd() & 15]);
  FW_TRY_STATUS(write_file_atomic(path, id + "\n", 0600));
  return id;
}

Result<AgentState> StateDir::load_state() const {
  std::string path = dir_ + "/state.json";
  FW_TRY(auto text, read_whole(path));
  AgentState s;
  if (!text) return s;
  FW_TRY(auto v, parse_json(*text, path));
  if (!v.is_object()) return fail(Errc::parse_error, "not a JSON object", path);
  const auto& o = v.get_object();
  s.next_seq = uint64_t(std::max<int64_t>(1, get_int(o, "next_seq", 1)));
  s.reports_since_full = int(get_int(o, "reports_since_full", 0));
  s.interval_s = int(get_int(o, "interval_s", 900));
  s.last_built_at = get_int(o, "last_built_at", 0);
  if (auto* f = o.if_contains("force_full"); f && f->is_bool()) s.force_full = f->get_bool();
  if (auto* lf = o.if_contains("last_facts"); lf && lf->is_object()) {
    s.last_facts = lf->get_object();
    s.have_last = true;
  }
  if (auto* p = o.if_contains("pending"); p && p->is_array()) {
    for (const auto& e : p->get_array()) {
      if (!e.is_object()) continue;
      auto* r = e.get_object().if_contains("result");
      if (!r) continue;
      auto cr = command_result_from_json(*r);
      if (!cr) continue;
      s.pending.push_back({*cr, uint64_t(get_int(e.get_object(), "included_in", 0))});
    }
  }
  if (auto* d = o.if_contains("done"); d && d->is_array())
    for (const auto& e : d->get_array())
      if (auto cr = command_result_from_json(e)) s.done.push_back(*cr);
  return s;
}

Status StateDir::save_state(const AgentState& s) const {
  json::object o;
  o["next_seq"] = s.next_seq;
  o["reports_since_full"] = s.reports_since_full;
  o["force_full"] = s.force_full;
  o["interval_s"] = s.interval_s;
  o["last_built_at"] = s.last_built_at;
  if (s.have_last) o["last_facts"] = s.last_facts;
  json::array pending;
  for (const auto& p : s.pending) {
    json::object e;
    e["result"] = to_json(p.result);
    e["included_in"] = p.included_in;
    pending.emplace_back(std::move(e));
  }
  o["pending"] = std::move(pending);
  json::array done;
  size_t start = s.done.size() > AgentState::kDoneKept ? s.done.size() - AgentState::kDoneKept : 0;
  for (size_t i = start; i < s.done.size(); ++i) done.emplace_back(to_json(s.done[i]));
  o["done"] = std::move(done);
  return write_file_atomic(dir_ + "/state.json", json::serialize(o), 0600);
}

std::string StateDir::queue_path(uint64_t seq) const {
  char name[32];
  std::snprintf(name, sizeof name, "%012llu.json", static_cast<unsigned long long>(seq));
  return dir_ + "/queue/" + name;
}

Result<std::vector<uint64_t>> StateDir::queued() const {
  std::vector<uint64_t> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir_ + "/queue", ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.ends_with(".json")) continue;  // skips *.tmp.* left by a crash
    uint64_t seq = 0;
    auto [p, e] = std::from_chars(name.data(), name.data() + name.size() - 5, seq);
    if (e == std::errc() && p == name.data() + name.size() - 5) out.push_back(seq);
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    return fail(Errc::io_error, "cannot list queue: " + ec.message(), dir_ + "/queue");
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::string> StateDir::read_queued(uint64_t seq) const {
  FW_TRY(auto text, read_whole(queue_path(seq), 8u << 20));
  if (!text) return fail(Errc::not_found, "queued report missing", queue_path(seq));
  return std::move(*text);
}

Result<size_t> StateDir::enqueue(uint64_t seq, const std::string& body, const QueueLimits& limits) const {
  FW_TRY_STATUS(write_file_atomic(queue_path(seq), body, 0600));
  FW_TRY(auto seqs, queued());
  std::vector<std::pair<uint64_t, size_t>> sizes;
  size_t total = 0;
  for (uint64_t s : seqs) {
    std::error_code ec;
    size_t sz = size_t(fs::file_size(queue_path(s), ec));
    if (ec) sz = 0;
    sizes.push_back({s, sz});
    total += sz;
  }
  size_t dropped = 0;
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {  // never the newest
    if (sizes.size() - i <= limits.max_files && total <= limits.max_bytes) break;
    FW_TRY_STATUS(remove_queued(sizes[i].first));
    total -= sizes[i].second;
    ++dropped;
  }
  return dropped;
}

Status StateDir::remove_queued(uint64_t seq) const {
  std::error_code ec;
  fs::remove(queue_path(seq), ec);
  if (ec) return fail(Errc::io_error, "cannot remove: " + ec.message(), queue_path(seq));
  return {};
}

Status StateDir::clear_queue() const {
  FW_TRY(auto seqs, queued());
  for (uint64_t s : seqs) FW_TRY_STATUS(remove_queued(s));
  return {};
}

}  // namespace fw::agent
