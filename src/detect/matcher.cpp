// The rule matcher: every rule of every kind is compiled into ONE Hyperscan database, so
// one scan of the string yields the candidate rules; RE2 then confirms candidates in rule
// order and extracts captures from the first real match of each kind. Patterns Hyperscan
// cannot take exactly are compiled with HS_FLAG_PREFILTER (a superset match that RE2
// confirms); those it cannot take at all are tried with RE2 on every string (counted).
// A rule's RE2 is compiled the first time it is a candidate (most rules never are in one
// run; compiling all ~1,200 up front cost most of a warm start).
// Thread-safety: immutable after build() but for the RE2s compiled on first use (under a
// std::once_flag each); each thread keeps its own hs_scratch_t.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <cstdio>
#include <cstring>

#include <hs/hs.h>
#include <re2/re2.h>

#include "util/strings.h"
#include "detect/rules.h"

namespace fw::detect {

struct Matcher::Impl {
  struct LazyRe2 {
    std::once_flag once;
    std::unique_ptr<RE2> re;  // null: RE2 rejects the rule
  };
  const RuleSet* set = nullptr;
  std::vector<Rule> rules;                  // copy: the matcher owns what it runs
  std::vector<char> re2_ok;                 // 0: RE2 rejects the rule (it is skipped)
  std::unique_ptr<LazyRe2[]> re2;           // compiled on first use (re2_of)
  std::vector<int> always;                  // re2-only rule ids, ascending
  hs_database_t* db = nullptr;
  uint64_t generation = 0;                  // unique per database, keys thread scratch

  ~Impl() {
    if (db) hs_free_database(db);
  }
  static std::unique_ptr<RE2> compile(const Rule& r) {
    // RE2 in Latin-1 mode: both engines then see bytes, so Hyperscan's candidate set is a
    // superset of RE2's matches.
    RE2::Options o;
    o.set_encoding(RE2::Options::EncodingLatin1);
    o.set_case_sensitive(!r.caseless);
    o.set_log_errors(false);
    auto re = std::make_unique<RE2>(r.regex, o);
    if (!re->ok()) re.reset();
    return re;
  }
  const RE2* re2_of(size_t i) const {
    if (!re2_ok[i]) return nullptr;
    LazyRe2& l = re2[i];
    std::call_once(l.once, [&] {
      if (!l.re) l.re = compile(rules[i]);
    });
    return l.re.get();
  }
};

namespace {

struct ScratchHolder {
  hs_scratch_t* scratch = nullptr;
  uint64_t fitted_for = 0;  // Impl::generation the scratch was last grown for
  ~ScratchHolder() {
    if (scratch) hs_free_scratch(scratch);
  }
};

thread_local ScratchHolder tl_scratch;
std::atomic<uint64_t> g_next_generation{1};

int on_match(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* ctx) {
  static_cast<std::vector<int>*>(ctx)->push_back(static_cast<int>(id));
  return 0;
}

std::string substitute(std::string_view tmpl, const re2::StringPiece* g, int ng) {
  std::string out;
  out.reserve(tmpl.size() + 16);
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '$' && i + 1 < tmpl.size() && tmpl[i + 1] >= '1' && tmpl[i + 1] <= '9') {
      int k = tmpl[i + 1] - '0';
      if (k <= ng && g[k].data()) out.append(g[k].data(), g[k].size());
      ++i;
    } else {
      out.push_back(tmpl[i]);
    }
  }
  return out;
}

std::string trimmed(std::string s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

std::string group(const re2::StringPiece* g, int ng, int k) {
  if (k > ng || !g[k].data()) return {};
  return std::string(g[k].data(), g[k].size());
}

// Fills km from the captures of rule r.
void extract(const Rule& r, const re2::StringPiece* g, int ng, KindMatch& km) {
  auto value = [&](size_t slot, int default_group) -> std::string {
    if (r.repl[slot]) return trimmed(substitute(*r.repl[slot], g, ng));
    if (default_group < 0) return {};
    return trimmed(group(g, ng, default_group));
  };
  switch (r.kind) {
    case RuleKind::ua:
    case RuleKind::os:
      for (size_t s = 0; s < 5; ++s) km.fields[s] = value(s, static_cast<int>(s) + 1);
      break;
    case RuleKind::device:
      km.fields[0] = value(0, 1);
      km.fields[1] = value(1, -1);
      km.fields[2] = value(2, 1);
      break;
  }
  if (!r.device_type.empty()) km.device_type = trimmed(substitute(r.device_type, g, ng));
}


// Compiling ~1,200 uap-core patterns takes Hyperscan several seconds, so the compiled
// database is kept in a cache directory ($FW_DETECT_CACHE_DIR, else
// $XDG_CACHE_HOME/fleetward, else ~/.cache/fleetward), keyed by a hash of every pattern,
// flag and the Hyperscan version. A missing, stale or unreadable cache only costs time.
std::string cache_dir() {
  if (const char* d = std::getenv("FW_DETECT_CACHE_DIR")) return d;  // "" disables
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/fleetward";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/fleetward";
  return {};
}

hs_database_t* load_cached(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string bytes = ss.str();
  hs_database_t* db = nullptr;
  if (hs_deserialize_database(bytes.data(), bytes.size(), &db) != HS_SUCCESS) return nullptr;
  return db;
}

void store_cached(const std::string& dir, const std::string& path, const hs_database_t* db) {
  char* bytes = nullptr;
  size_t len = 0;
  if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes, static_cast<std::streamsize>(len));
    if (!out) ec = std::make_error_code(std::errc::io_error);
  }
  std::free(bytes);
  if (!ec) std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

}  // namespace

Matcher::Matcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Matcher::~Matcher() = default;

Result<std::unique_ptr<Matcher>> Matcher::build(const RuleSet& set) {
  auto impl = std::make_unique<Impl>();
  impl->rules = set.rules;
  MatcherStats st;
  const size_t n = impl->rules.size();
  impl->re2 = std::make_unique<Impl::LazyRe2[]>(n);
  impl->re2_ok.assign(n, 1);
  // mode per rule: 0 exact, 1 prefilter, 2 re2-only, 3 rejected by RE2 (skipped)
  std::vector<int> mode(n, 0);
  // Cheap per-pattern check first (parses only), so the full compile rarely fails.
  auto base_flags = [&](size_t i) {
    unsigned f = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
    if (impl->rules[i].caseless) f |= HS_FLAG_CASELESS;
    return f;
  };
  // Which rules Hyperscan takes as they are (0), as prefilters (1) or not at all (2), and
  // which RE2 rejects (3), is kept in the cache directory too, keyed by every pattern and
  // flag: asking Hyperscan about each of ~1,200 patterns, and compiling each with RE2, is
  // most of the start-up time. A missing or stale file only costs time (the compile loop
  // below still corrects a mode that does not compile; an RE2 that fails on first use
  // counts as no match, as a rejected rule does).
  uint64_t modes_key = fnv1a64(std::string("modes v2 ") + hs_version());
  for (size_t i = 0; i < n; ++i)
    modes_key = fnv1a64(impl->rules[i].regex + "\x01" + std::to_string(base_flags(i)), modes_key);
  std::string modes_path;
  if (std::string dir = cache_dir(); !dir.empty()) {
    char name[64];
    std::snprintf(name, sizeof name, "/detect-modes-%016llx.txt", static_cast<unsigned long long>(modes_key));
    modes_path = dir + name;
  }
  bool modes_cached = false;
  if (!modes_path.empty()) {
    std::ifstream in(modes_path, std::ios::binary);
    std::string line;
    if (in && std::getline(in, line) && line.size() == n &&
        line.find_first_not_of("0123") == std::string::npos) {
      for (size_t i = 0; i < n; ++i) mode[i] = line[i] - '0';
      modes_cached = true;
    }
  }
  if (!modes_cached) {
    // Which rules RE2 takes: compiled now (and kept, so they are not compiled again).
    for (size_t i = 0; i < n; ++i) {
      auto re = Impl::compile(impl->rules[i]);
      if (!re) mode[i] = 3;
      else std::call_once(impl->re2[i].once, [&] { impl->re2[i].re = std::move(re); });
    }
  }
  for (size_t i = 0; i < n; ++i)
    if (mode[i] == 3) impl->re2_ok[i] = 0;
  const std::vector<int> modes_read = mode;
  for (size_t i = 0; i < n && !modes_cached; ++i) {
    if (mode[i] >= 2) continue;
    for (; mode[i] < 2; ++mode[i]) {
      hs_expr_info_t* info = nullptr;
      hs_compile_error_t* err = nullptr;
      unsigned f = base_flags(i) | (mode[i] == 1 ? HS_FLAG_PREFILTER : 0u);
      hs_error_t rc = hs_expression_info(impl->rules[i].regex.c_str(), f, &info, &err);
      if (info) std::free(info);
      if (err) hs_free_compile_error(err);
      if (rc == HS_SUCCESS) break;
    }
  }
  for (int attempt = 0; attempt < 200; ++attempt) {
    std::vector<const char*> exprs;
    std::vector<unsigned> flags, ids;
    for (size_t i = 0; i < n; ++i) {
      if (mode[i] >= 2) continue;
      exprs.push_back(impl->rules[i].regex.c_str());
      unsigned f = base_flags(i);
      if (mode[i] == 1) f |= HS_FLAG_PREFILTER;
      flags.push_back(f);
      ids.push_back(static_cast<unsigned>(i));
    }
    if (exprs.empty()) break;
    uint64_t key = fnv1a64(hs_version());
    for (size_t k = 0; k < exprs.size(); ++k)
      key = fnv1a64(std::string(exprs[k]) + "\x01" + std::to_string(flags[k]) + "\x01" + std::to_string(ids[k]), key);
    std::string dir = cache_dir();
    char name[64];
    std::snprintf(name, sizeof name, "/detect-%016llx.hsdb", static_cast<unsigned long long>(key));
    std::string cache_path = dir.empty() ? std::string() : dir + name;
    hs_database_t* db = cache_path.empty() ? nullptr : load_cached(cache_path);
    if (db) {
      impl->db = db;
      impl->generation = g_next_generation.fetch_add(1);
      break;
    }
    hs_compile_error_t* err = nullptr;
    hs_error_t rc = hs_compile_multi(exprs.data(), flags.data(), ids.data(),
                                     static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr, &db, &err);
    if (rc == HS_SUCCESS) {
      if (!cache_path.empty()) store_cached(dir, cache_path, db);
      impl->db = db;
      impl->generation = g_next_generation.fetch_add(1);
      break;
    }
    int bad = err ? err->expression : -1;
    std::string msg = err && err->message ? err->message : "unknown";
    if (err) hs_free_compile_error(err);
    if (bad < 0) return fail(Errc::internal, "Hyperscan could not compile the rule database: " + msg);
    size_t rid = ids[static_cast<size_t>(bad)];
    mode[rid] = mode[rid] == 0 ? 1 : 2;
  }
  if (impl->db && !modes_path.empty() && (!modes_cached || mode != modes_read)) {
    std::string line;
    for (int m : mode) line.push_back(static_cast<char>('0' + m));
    std::string tmp = modes_path + ".tmp" + std::to_string(::getpid());
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(modes_path).parent_path(), ec);
    {
      std::ofstream out(tmp, std::ios::binary);
      out << line << "\n";
      if (!out) ec = std::make_error_code(std::errc::io_error);
    }
    if (!ec) std::filesystem::rename(tmp, modes_path, ec);
    if (ec) std::filesystem::remove(tmp, ec);
  }
  if (!impl->db) {
    // Nothing compiled (or too many failures): every rule goes through RE2.
    for (size_t i = 0; i < n; ++i)
      if (mode[i] != 3) mode[i] = 2;
  }
  for (size_t i = 0; i < n; ++i) {
    if (mode[i] == 3) {
      ++st.rejected;
      continue;
    }
    if (mode[i] == 0) ++st.hyperscan_exact;
    else if (mode[i] == 1) ++st.hyperscan_prefilter;
    else {
      ++st.re2_only;
      impl->always.push_back(static_cast<int>(i));
    }
  }
  auto m = std::unique_ptr<Matcher>(new Matcher(std::move(impl)));
  m->stats_ = st;
  return m;
}

MatchResult Matcher::match(std::string_view s, bool include_own) const {
  MatchResult res;
  const Impl& im = *impl_;
  thread_local std::vector<int> cands;
  cands.clear();
  if (im.db) {
    auto& h = tl_scratch;
    if (h.fitted_for != im.generation) {
      if (hs_alloc_scratch(im.db, &h.scratch) == HS_SUCCESS) h.fitted_for = im.generation;
    }
    if (h.fitted_for == im.generation)
      hs_scan(im.db, s.data(), static_cast<unsigned>(s.size()), 0, h.scratch, on_match, &cands);
  }
  cands.insert(cands.end(), im.always.begin(), im.always.end());
  std::sort(cands.begin(), cands.end());
  re2::StringPiece text(s.data(), s.size());
  re2::StringPiece g[10];
  bool done[3] = {false, false, false};
  for (int id : cands) {
    const Rule& r = im.rules[static_cast<size_t>(id)];
    auto k = static_cast<size_t>(r.kind);
    if (done[k] || (!include_own && r.own)) continue;
    const RE2* re = im.re2_of(static_cast<size_t>(id));
    if (!re) continue;
    int ng = std::min(re->NumberOfCapturingGroups(), 9);
    if (!re->Match(text, 0, text.size(), RE2::UNANCHORED, g, ng + 1)) continue;
    res.kind[k].rule = id;
    extract(r, g, ng, res.kind[k]);
    done[k] = true;
    if (done[0] && done[1] && done[2]) break;
  }
  return res;
}

}  // namespace fw::detect
