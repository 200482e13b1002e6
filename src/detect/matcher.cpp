// The rule matcher: every rule of every kind is compiled into ONE Hyperscan database, so
// one scan of the string yields the candidate rules; RE2 then confirms candidates in rule
// order and extracts captures from the first real match of each kind. Patterns Hyperscan
// cannot take exactly are compiled with HS_FLAG_PREFILTER (a superset match that RE2
// confirms); a pattern Hyperscan rejects as written goes in relaxed (relaxed_pattern(): no
// embedded anchors, no leading "^.{m,n}"; a superset that RE2 confirms); those it cannot
// take at all are tried with RE2 on every string (counted). RE2 extracts only the capture
// groups a rule's fields read (none: its DFA alone answers).
// A rule's RE2 is compiled the first time it is a candidate (most rules never are in one
// run; compiling all ~1,200 up front cost most of a warm start).
// Thread-safety: immutable after build() but for the RE2s compiled on first use (under a
// std::once_flag each); each thread keeps its own hs_scratch_t.
#include <algorithm>
#include <cstdlib>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <cstdio>
#include <cstring>

#include <hs/hs.h>
#include <re2/re2.h>

#include "util/files.h"
#include "util/strings.h"
#include "detect/rules.h"

namespace fw::detect {

constexpr int64_t kRe2MaxMem = int64_t{32} << 20;

struct Matcher::Impl {
  struct LazyRe2 {
    std::once_flag once;
    std::unique_ptr<RE2> re;  // null: RE2 rejects the rule
  };
  const RuleSet* set = nullptr;
  std::vector<Rule> rules;                  // copy: the matcher owns what it runs
  std::vector<std::string> relaxed;         // per rule: relaxed_pattern(), or ""
  std::vector<char> re2_ok;                 // 0: RE2 rejects the rule (it is skipped)
  std::vector<int> groups_used;             // per rule: highest capture group its fields read
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
    // RE2's default budget (8 MiB, most of it for the lazy DFAs) is too small for a few
    // uap-core rules: the generic Spider rule ("^.{0,100}(...150 caseless words...)")
    // refilled its DFA state cache on nearly every string (0.3-0.5 M cycles a call; 0.1
    // M with 32 MiB). A budget only bounds what a rule's DFAs may grow to; most use a few
    // KiB of it (peak RSS of a `classify` over the whole corpus is unchanged).
    o.set_max_mem(kRe2MaxMem);
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
  std::string out;  // no reserve: most results fit the string's inline buffer (no malloc)
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

// The highest capture group that extract() reads for rule r (0: none): the default group
// of each field without a replacement, and every $N of the replacements.
int groups_used(const Rule& r) {
  int top = 0;
  auto scan = [&](std::string_view t) {
    for (size_t i = 0; i + 1 < t.size(); ++i)
      if (t[i] == '$' && t[i + 1] >= '1' && t[i + 1] <= '9') top = std::max(top, t[i + 1] - '0'), ++i;
  };
  auto field = [&](size_t slot, int default_group) {
    if (r.repl[slot]) scan(*r.repl[slot]);
    else top = std::max(top, default_group);
  };
  switch (r.kind) {
    case RuleKind::ua:
    case RuleKind::os:
      for (size_t s = 0; s < 5; ++s) field(s, static_cast<int>(s) + 1);
      break;
    case RuleKind::device:
      field(0, 1), field(1, 0), field(2, 1);
      break;
  }
  scan(r.device_type);
  return top;
}

// Hyperscan modes of a rule, in the order they are tried (kept in the modes cache file):
// as written, exactly or as a prefilter; without its embedded anchors (a superset, see
// below), exactly or as a prefilter; else RE2 on every string. kRejected: RE2 rejects it.
constexpr int kExact = 0, kPrefilter = 1, kRe2Only = 2, kRejected = 3, kRelaxed = 4, kRelaxedPrefilter = 5;
int next_mode(int m) {
  switch (m) {
    case kExact: return kPrefilter;
    case kPrefilter: return kRelaxed;
    case kRelaxed: return kRelaxedPrefilter;
    default: return kRe2Only;
  }
}

// A superset of a pattern that Hyperscan may take when it rejects the pattern itself: its
// embedded '^' and '$' anchors (all but a leading '^' and a trailing '$') dropped, and a
// leading "^.{m,n}" or "^.{m,n}?" too. uap-core's generic Spider device rule,
// "^.{0,100}(bot|...|^NING|^Java/|...)", is rejected for its embedded anchors, and its
// prefilter form (".{0,100}" before 150 caseless words is "too large" to take exactly) is
// so loose that it matched every string; so the rule ran through RE2 on every string that
// reached it, ~40% of the classifier's RE2 time. Dropping an assertion or a leading
// "^.{m,n}" only adds matches, and RE2 confirms each candidate of a superset.
// Returns "" when there is nothing to drop or the pattern is not plainly parsed here.
std::string relaxed_pattern(std::string_view re) {
  if (re.find("\\Q") != std::string_view::npos) return {};  // \Q...\E quoting: left alone
  std::string out;
  out.reserve(re.size());
  bool changed = false;
  size_t start = 0;
  if (re.starts_with("^.{")) {  // "^.{m,n}" or "^.{m,n}?"
    size_t i = 3;
    while (i < re.size() && ((re[i] >= '0' && re[i] <= '9') || re[i] == ',')) ++i;
    if (i > 3 && i < re.size() && re[i] == '}') {
      start = i + 1 < re.size() && re[i + 1] == '?' ? i + 2 : i + 1;
      changed = true;
    }
  }
  for (size_t i = start; i < re.size(); ++i) {
    char c = re[i];
    if (c == '\\') {
      if (i + 1 >= re.size()) return {};
      out += c;
      out += re[++i];
      continue;
    }
    if (c == '[') {  // a class: copied as is ("[^...]" is no anchor); ']' first is literal
      size_t j = i + 1;
      if (j < re.size() && re[j] == '^') ++j;
      if (j < re.size() && re[j] == ']') ++j;
      for (; j < re.size() && re[j] != ']'; ++j) {
        if (re[j] == '\\') ++j;
        else if (re[j] == '[' && j + 1 < re.size() && re[j + 1] == ':') {
          size_t e = re.find(":]", j + 2);
          if (e == std::string_view::npos) return {};
          j = e + 1;
        }
      }
      if (j >= re.size()) return {};
      out.append(re.substr(i, j - i + 1));
      i = j;
      continue;
    }
    if ((c == '^' && i != 0) || (c == '$' && i + 1 != re.size())) {  // an embedded anchor
      changed = true;
      continue;
    }
    out += c;
  }
  return changed ? out : std::string();
}

std::string trimmed(std::string s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  s.erase(e);  // in place: no second string
  s.erase(0, b);
  return s;
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
// database is kept in the cache directory (detect_cache_dir()), keyed by a hash of every
// pattern, flag and the Hyperscan version. A missing, stale or unreadable cache only costs
// time.
std::string cache_dir() { return detect_cache_dir(); }

hs_database_t* load_cached(const std::string& path) {
  constexpr size_t kMaxDatabase = size_t{256} << 20;
  auto bytes = read_file_limited(path, kMaxDatabase);
  if (!bytes || bytes->empty()) return nullptr;
  hs_database_t* db = nullptr;
  if (hs_deserialize_database(bytes->data(), bytes->size(), &db) != HS_SUCCESS) return nullptr;
  return db;
}

void store_cached(const std::string& path, const hs_database_t* db) {
  char* bytes = nullptr;
  size_t len = 0;
  if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) return;
  (void)write_file_atomic(path, std::string_view(bytes, len), 0644, /*durable=*/false);  // a failure costs the next start
  std::free(bytes);
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
  impl->groups_used.resize(n);
  for (size_t i = 0; i < n; ++i) impl->groups_used[i] = groups_used(impl->rules[i]);
  // mode per rule: kExact, kPrefilter, kRelaxed, kRelaxedPrefilter, kRe2Only, kRejected
  std::vector<int> mode(n, kExact);
  impl->relaxed.resize(n);
  for (size_t i = 0; i < n; ++i) impl->relaxed[i] = relaxed_pattern(impl->rules[i].regex);
  // The pattern Hyperscan gets in a mode (null: none in that mode).
  auto hs_pattern = [&](size_t i, int m) -> const char* {
    if (m == kRelaxed || m == kRelaxedPrefilter)
      return impl->relaxed[i].empty() ? nullptr : impl->relaxed[i].c_str();
    return impl->rules[i].regex.c_str();
  };
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
  uint64_t modes_key = fnv1a64(std::string("modes v5 ") + hs_version());
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
    auto text = read_file_limited(modes_path, n + 1);
    std::string line = text ? text->substr(0, text->find('\n')) : std::string();
    if (line.size() == n && line.find_first_not_of("012345") == std::string::npos) {
      for (size_t i = 0; i < n; ++i) mode[i] = line[i] - '0';
      modes_cached = true;
    }
  }
  if (!modes_cached) {
    // Which rules RE2 takes: compiled now (and kept, so they are not compiled again).
    for (size_t i = 0; i < n; ++i) {
      auto re = Impl::compile(impl->rules[i]);
      if (!re) mode[i] = kRejected;
      else std::call_once(impl->re2[i].once, [&] { impl->re2[i].re = std::move(re); });
    }
  }
  for (size_t i = 0; i < n; ++i)
    if (mode[i] == kRejected) impl->re2_ok[i] = 0;
  const std::vector<int> modes_read = mode;
  for (size_t i = 0; i < n && !modes_cached; ++i) {
    if (mode[i] == kRe2Only || mode[i] == kRejected) continue;
    for (; mode[i] != kRe2Only; mode[i] = next_mode(mode[i])) {
      const char* pattern = hs_pattern(i, mode[i]);
      if (!pattern) continue;
      hs_expr_info_t* info = nullptr;
      hs_compile_error_t* err = nullptr;
      unsigned f = base_flags(i) | (mode[i] == kPrefilter || mode[i] == kRelaxedPrefilter ? HS_FLAG_PREFILTER : 0u);
      hs_error_t rc = hs_expression_info(pattern, f, &info, &err);
      if (info) std::free(info);
      if (err) hs_free_compile_error(err);
      if (rc == HS_SUCCESS) break;
    }
  }
  // The database is compiled for this CPU (hs_compile_multi with no platform): the cache key
  // names the CPU features it was compiled for, so that a database compiled under valgrind
  // (no AVX-512: Hyperscan falls back to its AVX2 code) is not the one native runs load.
  std::string platform;
  if (hs_platform_info_t p{}; hs_populate_platform(&p) == HS_SUCCESS)
    platform = " tune " + std::to_string(p.tune) + " features " + std::to_string(p.cpu_features);
  for (int attempt = 0; attempt < 200; ++attempt) {
    std::vector<const char*> exprs;
    std::vector<unsigned> flags, ids;
    for (size_t i = 0; i < n; ++i) {
      if (mode[i] == kRe2Only || mode[i] == kRejected) continue;
      const char* pattern = hs_pattern(i, mode[i]);
      if (!pattern) {  // a stale modes file
        mode[i] = kRe2Only;
        continue;
      }
      exprs.push_back(pattern);
      unsigned f = base_flags(i);
      if (mode[i] == kPrefilter || mode[i] == kRelaxedPrefilter) f |= HS_FLAG_PREFILTER;
      flags.push_back(f);
      ids.push_back(static_cast<unsigned>(i));
    }
    if (exprs.empty()) break;
    uint64_t key = fnv1a64(hs_version() + platform);
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
      if (!cache_path.empty()) store_cached(cache_path, db);
      impl->db = db;
      impl->generation = g_next_generation.fetch_add(1);
      break;
    }
    int bad = err ? err->expression : -1;
    std::string msg = err && err->message ? err->message : "unknown";
    if (err) hs_free_compile_error(err);
    if (bad < 0) return fail(Errc::internal, "Hyperscan could not compile the rule database: " + msg);
    size_t rid = ids[static_cast<size_t>(bad)];
    mode[rid] = next_mode(mode[rid]);
    if (mode[rid] == kRelaxed && !hs_pattern(rid, kRelaxed)) mode[rid] = kRe2Only;  // nothing to relax
  }
  if (impl->db && !modes_path.empty() && (!modes_cached || mode != modes_read)) {
    std::string line;
    for (int m : mode) line.push_back(static_cast<char>('0' + m));
    (void)write_file_atomic(modes_path, line + "\n", 0644, /*durable=*/false);  // a failure costs the next start
  }
  if (!impl->db) {
    // Nothing compiled (or too many failures): every rule goes through RE2.
    for (size_t i = 0; i < n; ++i)
      if (mode[i] != kRejected) mode[i] = kRe2Only;
  }
  for (size_t i = 0; i < n; ++i) {
    if (mode[i] == kRejected) {
      ++st.rejected;
      continue;
    }
    if (mode[i] == kExact) ++st.hyperscan_exact;
    else if (mode[i] != kRe2Only) ++st.hyperscan_prefilter;  // a superset: RE2 confirms
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
    // Only the groups the rule's fields read: with none, RE2 answers from its DFA alone
    // (no reverse DFA for the start, no capture pass).
    int ng = std::min({re->NumberOfCapturingGroups(), 9, im.groups_used[static_cast<size_t>(id)]});
    if (!re->Match(text, 0, text.size(), RE2::UNANCHORED, g, ng == 0 ? 0 : ng + 1)) continue;
    res.kind[k].rule = id;
    extract(r, g, ng, res.kind[k]);
    done[k] = true;
    if (done[0] && done[1] && done[2]) break;
  }
  return res;
}

}  // namespace fw::detect
