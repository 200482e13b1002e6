// Private to detect/: the rule data (uap-core's regexes.yaml plus our rules.yaml) and the
// matcher that runs them (one Hyperscan pass finds candidates, RE2 confirms and captures).
// Rules and Matcher are immutable after construction; Matcher::match is thread-safe
// (each thread gets its own Hyperscan scratch space).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace fw::detect {

enum class RuleKind { ua = 0, os = 1, device = 2 };

struct Rule {
  RuleKind kind = RuleKind::ua;
  std::string regex;
  bool caseless = false;
  bool own = false;  // from our rules file (tried before uap-core's rules of its kind)
  // ua: family, v1, v2, v3, v4; os: os, v1, v2, v3, v4; device: device, brand, model.
  std::array<std::optional<std::string>, 5> repl;
  // Our extensions (own rules only).
  std::vector<std::string> may_be;   // the family cannot be told: these are possible
  std::string device_type;           // phone|tablet|desktop|bot|other, may hold $N
  std::string transform;             // apple_build | darwin_ios | darwin_macos
  std::string where;                 // "file#kind[index]" for error messages

  friend bool operator==(const Rule&, const Rule&) = default;
};

struct RuleSet {
  std::vector<Rule> rules;           // grouped by kind, own rules first within a kind
  std::map<std::string, std::string> ios_builds;  // "20D67" -> "16.3.1"

  friend bool operator==(const RuleSet&, const RuleSet&) = default;
};

// Appends the rules of one YAML file. own=true marks ours (extensions allowed).
Status load_rules_file(const std::string& path, bool own, RuleSet& out);
// Orders rules: by kind, then own before uap-core, keeping file order otherwise.
void order_rules(RuleSet& set);

// The directory of the detection caches (parsed rules, Hyperscan database, rule modes):
// $FW_DETECT_CACHE_DIR ("" disables them), else $XDG_CACHE_HOME/fleetward, else
// ~/.cache/fleetward; "" when none can be named.
std::string detect_cache_dir();

// Our rules file (own) and uap-core's, loaded and ordered (load_rules_file, order_rules)
// into `out`, which must be empty. Parsing the YAML is most of a classifier's start-up, so
// the parsed rules are kept in `cache_dir` ("" = no cache) as a binary file keyed by both
// files' paths and contents and the code that parsed them; a missing, stale, truncated or
// corrupt cache file only costs the parse (and is written again). On failure (the YAML
// files' errors, as load_rules_file) `out` is unspecified. *from_cache, when given, tells
// whether the cache was used.
Status load_rule_set(const std::string& own_path, const std::string& uap_path, const std::string& cache_dir,
                     RuleSet& out, bool* from_cache = nullptr);

// The cache file's bytes for `set` under `key`, and their reader. decode_rule_set takes any
// bytes (a file on disk: bounded sizes and counts, every length checked, a checksum over
// the whole file); on failure it returns an error naming the byte offset and leaves `out`
// unspecified. The checksum is fnv1a64 of every byte before the last 8, stored in them.
std::string encode_rule_set(const RuleSet& set, uint64_t key);
Status decode_rule_set(std::string_view bytes, uint64_t key, RuleSet& out);

// The result of one rule kind for one string.
struct KindMatch {
  int rule = -1;                            // index into RuleSet::rules, -1 none
  std::array<std::string, 5> fields;        // after replacement, trimmed
  std::string device_type;                  // own rules only, after substitution
};

struct MatchResult {
  std::array<KindMatch, 3> kind;  // indexed by RuleKind
};

struct MatcherStats {
  size_t hyperscan_exact = 0, hyperscan_prefilter = 0, re2_only = 0, rejected = 0;
};

class Matcher {
 public:
  static Result<std::unique_ptr<Matcher>> build(const RuleSet& set);
  ~Matcher();
  // Runs all kinds. include_own=false ignores our rules (pure uap-core semantics).
  MatchResult match(std::string_view s, bool include_own) const;
  const MatcherStats& stats() const { return stats_; }

  struct Impl;

 private:
  explicit Matcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  MatcherStats stats_;
};

}  // namespace fw::detect
