// Private to detect/: the rule data (uap-core's regexes.yaml plus our rules.yaml) and the
// matcher that runs them (one Hyperscan pass finds candidates, RE2 confirms and captures).
// Rules and Matcher are immutable after construction; Matcher::match is thread-safe
// (each thread gets its own Hyperscan scratch space).
#pragma once

#include <array>
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
};

struct RuleSet {
  std::vector<Rule> rules;           // grouped by kind, own rules first within a kind
  std::map<std::string, std::string> ios_builds;  // "20D67" -> "16.3.1"
};

// Appends the rules of one YAML file. own=true marks ours (extensions allowed).
Status load_rules_file(const std::string& path, bool own, RuleSet& out);
// Orders rules: by kind, then own before uap-core, keeping file order otherwise.
void order_rules(RuleSet& set);

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
