// Policy files: YAML -> Documents, every error as file:line:col (YAML marks from yaml-cpp,
// CEL and date errors mapped from inside a scalar to the file). Pure; thread-safe.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <optional>
#include <set>
#include <sstream>

#include "policy/policy.h"
#include "policy/scalar_map.h"
#include "policy/rules_internal.h"
#include "util/strings.h"

namespace fw::policy {

Pos position_of(std::string_view text, size_t off) noexcept {
  if (off > text.size()) off = text.size();
  Pos p{1, 1};
  size_t line_start = 0;
  for (size_t i = 0; i < off; ++i) {
    if (text[i] == '\n') {
      ++p.line;
      line_start = i + 1;
    }
  }
  int col = 1;
  for (size_t i = line_start; i < off; ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++col;
  p.col = col;
  return p;
}

namespace {

bool valid_id(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9'))) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

// yaml-cpp 0.7 (Debian 12) loops for ever in LoadAll on some invalid streams ("," or a tag
// followed by ","): HandleNextDocument keeps returning a null document without consuming
// the token (fixed upstream after 0.8). Before LoadAll, walk the documents with an event
// handler that builds nothing and stop when a document starts where the previous one did.
// The walk also stops after `max_documents`: a stream may hold many tiny documents before
// the token that would hang LoadAll.
// The same walk catches what yaml-cpp accepts but YAML does not (a quoted scalar never
// closed, which swallows the rest of the file; a plain scalar indented with a tab) and
// places the errors yaml-cpp reports at the end of the stream (a '[' or '{' never closed)
// where they begin. Duplicate keys are kept by yaml-cpp and reported by Parser::fields.
class StreamWalk final : public YAML::EventHandler {
 public:
  struct Scalar {
    size_t mark;
    bool in_flow;
    std::string value;
  };
  struct Open {
    size_t mark;
    bool flow, seq;
  };
  YAML::Mark first;
  bool seen = false;
  std::vector<Scalar> scalars;  // every scalar of the document, keys included
  std::vector<Open> open;       // the collections not yet closed, innermost last
  size_t flow_depth = 0;

  void OnDocumentStart(const YAML::Mark& m) override { note(m); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { note(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { note(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string& value) override {
    note(m);
    if (m.pos >= 0 && scalars.size() < kMaxScalars) scalars.push_back({size_t(m.pos), flow_depth > 0, value});
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value style) override {
    start(m, style, true);
  }
  void OnSequenceEnd() override { end(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value style) override {
    start(m, style, false);
  }
  void OnMapEnd() override { end(); }

 private:
  static constexpr size_t kMaxScalars = 1'000'000;  // the file size limit keeps far below this
  void note(const YAML::Mark& m) {
    if (!seen) first = m, seen = true;
  }
  void start(const YAML::Mark& m, YAML::EmitterStyle::value style, bool seq) {
    note(m);
    bool flow = style == YAML::EmitterStyle::Flow;
    open.push_back({m.pos < 0 ? 0 : size_t(m.pos), flow, seq});
    if (flow) ++flow_depth;
  }
  void end() {
    if (open.empty()) return;
    if (open.back().flow) --flow_depth;
    open.pop_back();
  }
};

struct StreamProblem {
  size_t offset;
  std::string message;
  Errc code;
};

// Offset of the first tab in the indentation of the line holding `off`, if the line's
// text up to `off` is only spaces and tabs.
std::optional<size_t> indent_tab(std::string_view text, size_t off) {
  size_t bol = text.rfind('\n', off == 0 ? 0 : off - 1);
  bol = (bol == std::string_view::npos || off == 0) ? 0 : bol + 1;
  std::optional<size_t> tab;
  for (size_t i = bol; i < off && i < text.size(); ++i) {
    if (text[i] == '\t') {
      if (!tab) tab = i;
    } else if (text[i] != ' ') {
      return std::nullopt;
    }
  }
  return tab;
}

constexpr const char* kTabMessage = "YAML: a tab in the indentation (YAML indents with spaces only)";

// A scalar's quote is closed, a plain scalar's lines are not indented with tabs.
std::optional<StreamProblem> check_scalar(std::string_view text, const StreamWalk::Scalar& sc) {
  size_t r = sc.mark;
  while (r < text.size() && (text[r] == '&' || text[r] == '!')) {  // an anchor or a tag first
    while (r < text.size() && text[r] != ' ' && text[r] != '\n') ++r;
    while (r < text.size() && text[r] == ' ') ++r;
  }
  if (r >= text.size()) return std::nullopt;
  char q = text[r];
  if (q == '"' || q == '\'') {
    for (size_t i = r + 1; i < text.size(); ++i) {
      char c = text[i];
      if (q == '"' && c == '\\') {
        ++i;
      } else if (c == q) {
        if (q == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
          ++i;
          continue;
        }
        return std::nullopt;
      } else if (c == '\n') {
        // A document marker ends every scalar: the quote was never closed before it.
        std::string_view rest = text.substr(i + 1);
        if ((rest.starts_with("---") || rest.starts_with("...")) &&
            (rest.size() == 3 || rest[3] == ' ' || rest[3] == '\n' || rest[3] == '\r' || rest[3] == '\t'))
          break;
      }
    }
    return StreamProblem{r,
                         std::string("YAML: the ") + (q == '"' ? "double" : "single") + "-quoted string opened here is never closed (a " +
                             q + " is missing)",
                         Errc::parse_error};
  }
  if (q == '|' || q == '>' || sc.in_flow) return std::nullopt;
  // A plain scalar in block context: its first line's indentation, and that of the lines
  // yaml-cpp folded into it (those up to its value's last byte in the file).
  if (auto t = indent_tab(text, sc.mark)) return StreamProblem{*t, kTabMessage, Errc::parse_error};
  auto map = detail::map_scalar(text, sc.mark, sc.value);
  if (map.empty()) return std::nullopt;
  for (size_t i = text.find('\n', r); i < map.back(); i = text.find('\n', i + 1)) {
    for (size_t j = i + 1; j < text.size() && (text[j] == ' ' || text[j] == '\t'); ++j)
      if (text[j] == '\t') return StreamProblem{j, kTabMessage, Errc::parse_error};
  }
  return std::nullopt;
}

std::optional<StreamProblem> check_stream(const std::string& text, size_t max_documents) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  int prev_pos = -1;
  for (size_t n = 0;; ++n) {
    StreamWalk walk;
    try {
      if (!parser.HandleNextDocument(walk)) return std::nullopt;
    } catch (const YAML::Exception& e) {
      // A quote never closed explains whatever yaml-cpp stumbled on after it.
      for (const auto& sc : walk.scalars)
        if (auto p = check_scalar(text, sc); p && p->message != kTabMessage) return p;
      size_t off = e.mark.pos >= 0 ? std::min(size_t(e.mark.pos), text.size()) : 0;
      if (e.msg == YAML::ErrorMsg::DOC_IN_SCALAR) {
        // A quoted scalar ran into the next document: its quote is the first one opening a
        // token after the last event yaml-cpp gave.
        size_t from = 0;
        for (const auto& sc : walk.scalars) from = std::max(from, sc.mark + 1);
        for (const auto& o : walk.open) from = std::max(from, o.mark + 1);
        for (size_t p = from; p < off; ++p) {
          if (text[p] != '"' && text[p] != '\'') continue;
          char before = p == 0 ? '\n' : text[p - 1];
          if (std::string_view(" \t\n:[{,-").find(before) == std::string_view::npos) continue;
          if (auto q = check_scalar(text, {p, false, {}})) return q;
          break;
        }
      }
      bool seq_flow = e.msg == YAML::ErrorMsg::END_OF_SEQ_FLOW, map_flow = e.msg == YAML::ErrorMsg::END_OF_MAP_FLOW;
      if (seq_flow || map_flow) {
        for (auto it = walk.open.rbegin(); it != walk.open.rend(); ++it)
          if (it->flow && it->seq == seq_flow) {
            std::string where = off >= text.size() ? "the end of the file"
                                                    : "line " + std::to_string(position_of(text, off).line);
            return StreamProblem{it->mark,
                                 std::string("YAML: the ") + (seq_flow ? "'[' opened here is never closed (no ']' before "
                                                                       : "'{' opened here is never closed (no '}' before ") +
                                     where + ")",
                                 Errc::parse_error};
          }
      }
      // A tab in the indentation of the line yaml-cpp stopped at is the likely cause.
      size_t bol = text.rfind('\n', off == 0 ? 0 : off - 1);
      bol = (bol == std::string::npos || off == 0) ? 0 : bol + 1;
      size_t first = std::min(text.find_first_not_of(" \t", bol), text.size());
      if (auto t = indent_tab(text, first); t && off < text.size())
        return StreamProblem{*t, std::string(kTabMessage) + " (" + e.msg + ")", Errc::parse_error};
      return StreamProblem{off, "YAML: " + e.msg, Errc::parse_error};
    }
    for (const auto& sc : walk.scalars)
      if (auto p = check_scalar(text, sc)) return p;
    int pos = walk.seen ? walk.first.pos : -1;
    if (n > 0 && pos == prev_pos)
      return StreamProblem{size_t(pos < 0 ? 0 : pos), "YAML: unexpected token here (a ',' or a tag without a value?)",
                           Errc::parse_error};
    if (n >= max_documents)
      return StreamProblem{0, "more than " + std::to_string(max_documents) + " documents in one file",
                           Errc::too_large};
    prev_pos = pos;
  }
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view name, const ParseLimits& lim)
      : text_(text), name_(name), lim_(lim) {}

  ParseResult run() {
    ParseResult res;
    if (text_.size() > lim_.max_file_bytes) {
      error_at(0, "file is larger than the limit of " + std::to_string(lim_.max_file_bytes) + " bytes",
               Errc::too_large);
      res.errors = std::move(errs_);
      return res;
    }
    std::vector<YAML::Node> docs;
    try {
      std::string text(text_);
      if (auto problem = check_stream(text, lim_.max_documents)) {
        error_at(std::min(problem->offset, text_.size()), problem->message, problem->code);
        res.errors = std::move(errs_);
        return res;
      }
      docs = YAML::LoadAll(text);
    } catch (const YAML::Exception& e) {
      if (e.mark.pos >= 0 && size_t(e.mark.pos) <= text_.size())
        error_at(size_t(e.mark.pos), "YAML: " + e.msg);
      else
        error_pos({e.mark.line + 1, e.mark.column + 1}, "YAML: " + e.msg);
      res.errors = std::move(errs_);
      return res;
    } catch (const std::exception& e) {
      error_at(0, std::string("YAML: ") + e.what());
      res.errors = std::move(errs_);
      return res;
    }
    if (docs.size() > lim_.max_documents) {
      error_at(0, "more than " + std::to_string(lim_.max_documents) + " documents in one file",
               Errc::too_large);
    }
    std::set<std::string> ids;
    for (size_t i = 0; i < docs.size() && i < lim_.max_documents; ++i) {
      if (docs[i].IsNull()) continue;  // an empty document (e.g. a trailing ---)
      try {
        auto d = document(docs[i]);
        if (d) {
          if (!ids.insert(d->id).second)
            error(docs[i], "document id '" + d->id + "' appears twice in this file");
          res.documents.push_back(std::move(*d));
        }
      } catch (const YAML::Exception& e) {
        error(docs[i], "YAML: " + e.msg);
      }
    }
    if (res.documents.empty() && errs_.empty()) error_at(0, "no policy document in the file");
    res.errors = std::move(errs_);
    if (!res.errors.empty()) res.documents.clear();
    return res;
  }

 private:
  std::string_view text_, name_;
  ParseLimits lim_;
  std::vector<Error> errs_;

  std::string where(Pos p) const {
    return std::string(name_) + ":" + std::to_string(p.line) + ":" + std::to_string(p.col);
  }
  void error_pos(Pos p, std::string msg, Errc code = Errc::parse_error) {
    errs_.push_back(Error{code, std::move(msg), where(p)});
  }
  void error_at(size_t off, std::string msg, Errc code = Errc::parse_error) {
    error_pos(position_of(text_, off), std::move(msg), code);
  }
  size_t offset(const YAML::Node& n) const {
    auto m = n.Mark();
    if (m.pos < 0) return 0;
    return std::min(size_t(m.pos), text_.size());
  }
  Pos pos(const YAML::Node& n) const { return position_of(text_, offset(n)); }
  void error(const YAML::Node& n, std::string msg, Errc code = Errc::parse_error) {
    error_at(offset(n), std::move(msg), code);
  }
  // An error at byte `k` of scalar n's value.
  void error_in(const YAML::Node& n, const std::string& value, size_t k, std::string msg) {
    auto map = detail::map_scalar(text_, offset(n), value);
    size_t off = offset(n);
    if (!map.empty()) off = k < map.size() ? map[k] : map.back() + 1;
    error_at(off, std::move(msg));
  }

  std::optional<std::string> scalar(const YAML::Node& n, std::string_view what) {
    if (!n.IsScalar()) {
      error(n, std::string(what) + " must be a single value, not a " +
                   (n.IsMap() ? "mapping" : n.IsSequence() ? "list" : "null"));
      return std::nullopt;
    }
    const std::string& s = n.Scalar();
    if (s.size() > lim_.max_text) {
      error(n, std::string(what) + " is longer than " + std::to_string(lim_.max_text) + " bytes",
            Errc::too_large);
      return std::nullopt;
    }
    return s;
  }

  // Iterates a mapping, reporting unknown and duplicate keys; calls fn(key, value node).
  template <class Fn>
  void fields(const YAML::Node& m, std::string_view what, std::initializer_list<std::string_view> known,
              Fn fn) {
    std::set<std::string> seen;
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (!it->first.IsScalar()) {
        error(it->first, std::string("keys of ") + std::string(what) + " must be plain names");
        continue;
      }
      std::string key = it->first.Scalar();
      if (!seen.insert(key).second) {
        error(it->first, "duplicate key '" + key + "' in " + std::string(what));
        continue;
      }
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string list;
        for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        error(it->first, "unknown key '" + key + "' in " + std::string(what) + " (known: " + list + ")");
        continue;
      }
      fn(key, it->second, it->first);
    }
  }

  std::optional<Time> time_value(const YAML::Node& n, std::string_view what) {
    auto s = scalar(n, what);
    if (!s) return std::nullopt;
    auto t = parse_time(*s);
    if (!t) {
      size_t k = 0;
      if (t.error().where.starts_with("byte ")) k = std::strtoul(t.error().where.c_str() + 5, nullptr, 10);
      error_in(n, *s, k, std::string(what) + ": " + t.error().message +
                             " (expected e.g. 2023-03-31T23:59:59+03:00)");
      return std::nullopt;
    }
    return *t;
  }

  std::optional<Seconds> duration_value(const YAML::Node& n, std::string_view what) {
    auto s = scalar(n, what);
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d) {
      size_t k = 0;
      if (d.error().where.starts_with("byte ")) k = std::strtoul(d.error().where.c_str() + 5, nullptr, 10);
      error_in(n, *s, k, std::string(what) + ": " + d.error().message + " (expected e.g. 7d, 36h)");
      return std::nullopt;
    }
    return *d;
  }

  // "start", "deadline", "start+3d", "deadline-7d".
  bool anchor_value(const YAML::Node& n, const std::string& s, std::string_view what,
                    ScheduleEntry::Anchor& anchor, Seconds& off) {
    std::string_view v = s;
    size_t base = 0;
    if (v.starts_with("start")) {
      anchor = ScheduleEntry::Anchor::start;
      base = 5;
    } else if (v.starts_with("deadline")) {
      anchor = ScheduleEntry::Anchor::deadline;
      base = 8;
    } else {
      error(n, std::string(what) + ": expected start, deadline, deadline-7d, start+3d or a time");
      return false;
    }
    off = Seconds{0};
    if (v.size() == base) return true;
    if (v[base] != '+' && v[base] != '-') {
      error_in(n, s, base, std::string(what) + ": expected '+' or '-' after '" + std::string(v.substr(0, base)) + "'");
      return false;
    }
    auto d = parse_duration(v.substr(base + 1));
    if (!d) {
      size_t k = 0;
      if (d.error().where.starts_with("byte ")) k = std::strtoul(d.error().where.c_str() + 5, nullptr, 10);
      error_in(n, s, base + 1 + k, std::string(what) + ": " + d.error().message);
      return false;
    }
    off = v[base] == '-' ? -*d : *d;
    return true;
  }

  std::optional<Level> level_value(const YAML::Node& n) {
    auto s = scalar(n, "level");
    if (!s) return std::nullopt;
    auto l = parse_level(*s);
    if (!l) error(n, "level must be mandatory or advisory, not '" + *s + "'");
    return l;
  }

  std::optional<Document> document(const YAML::Node& root) {
    if (!root.IsMap()) {
      error(root, "a policy document must be a mapping with kind, id, rules, ...");
      return std::nullopt;
    }
    size_t errors_before = errs_.size();
    Document d;
    d.source_name = std::string(name_);
    d.pos = pos(root);
    // kind first: it decides which keys are allowed.
    std::optional<YAML::Node> kind_node;
    for (auto it = root.begin(); it != root.end(); ++it)
      if (it->first.IsScalar() && it->first.Scalar() == "kind") kind_node = it->second;
    if (!kind_node) {
      error(root, "missing 'kind' (policy or campaign)");
      return std::nullopt;
    }
    auto kind = scalar(*kind_node, "kind");
    if (!kind) return std::nullopt;
    if (*kind != "policy" && *kind != "campaign") {
      error(*kind_node, "kind must be policy or campaign, not '" + *kind + "'");
      return std::nullopt;
    }
    d.kind = *kind;
    bool campaign = d.is_campaign();
    std::optional<YAML::Node> rules_node, schedule_node, id_node;
    fields(root, d.kind,
           {"kind", "id", "title", "description", "scope", "level", "start", "deadline", "grace", "rules",
            "schedule"},
           [&](const std::string& key, const YAML::Node& v, const YAML::Node& k) {
             if (!campaign && (key == "start" || key == "deadline" || key == "grace" || key == "schedule")) {
               error(k, "'" + key + "' is only allowed in a campaign (kind: campaign)");
               return;
             }
             if (key == "kind") return;
             if (key == "id") {
               id_node = v;
               if (auto s = scalar(v, "id")) {
                 if (!valid_id(*s))
                   error(v, "id must be 1-64 characters of a-z, 0-9, '-', '_', '.', starting with a letter or digit");
                 d.id = *s;
               }
             } else if (key == "title") {
               if (auto s = scalar(v, "title")) d.title = *s;
             } else if (key == "description") {
               if (auto s = scalar(v, "description")) d.description = *s;
             } else if (key == "level") {
               if (auto l = level_value(v)) d.level = *l;
             } else if (key == "start") {
               d.start = time_value(v, "start");
             } else if (key == "deadline") {
               d.deadline = time_value(v, "deadline");
             } else if (key == "grace") {
               if (auto g = duration_value(v, "grace")) {
                 if (g->count() < 0) error(v, "grace must not be negative");
                 d.grace = *g;
               }
             } else if (key == "scope") {
               scope(v, d);
             } else if (key == "rules") {
               rules_node = v;
             } else if (key == "schedule") {
               schedule_node = v;
             }
           });
    if (!id_node) error(root, "missing 'id'");
    // Scope entries written as plain paths take the document's level (which may follow them).
    for (auto& s : d.scope)
      if (s.level == Level::mandatory && scope_level_default_.count(&s - d.scope.data()))
        s.level = d.level;
    scope_level_default_.clear();
    if (rules_node) {
      rules(*rules_node, d);
    } else {
      error(root, "missing 'rules'");
    }
    if (campaign) {
      if (!d.deadline && !root["deadline"]) error(root, "a campaign needs a 'deadline'");  // a bad one was named where it is
      if (d.start && d.deadline && *d.start >= *d.deadline) error(root, "the campaign's start must be before its deadline");
      if (schedule_node) schedule(*schedule_node, d);
    }
    if (errs_.size() != errors_before) return std::nullopt;
    return d;
  }

  std::set<size_t> scope_level_default_;

  void scope(const YAML::Node& v, Document& d) {
    auto one = [&](const YAML::Node& item) {
      ScopeEntry e;
      bool default_level = false;
      if (item.IsScalar()) {
        e.path = item.Scalar();
        default_level = true;
      } else if (item.IsMap()) {
        bool has_path = false;
        fields(item, "a scope entry", {"path", "level"},
               [&](const std::string& key, const YAML::Node& x, const YAML::Node&) {
                 if (key == "path") {
                   if (auto s = scalar(x, "path")) e.path = *s, has_path = true;
                 } else if (auto l = level_value(x)) {
                   e.level = *l;
                 }
               });
        if (!has_path) {
          error(item, "a scope entry needs a 'path'");
          return;
        }
        if (!item["level"]) default_level = true;
      } else {
        error(item, "a scope entry is an org-unit path (\"/administration\") or {path: ..., level: ...}");
        return;
      }
      if (e.path.empty() || e.path[0] != '/' || (e.path.size() > 1 && e.path.back() == '/')) {
        error(item, "scope path must start with '/' and not end with '/': '" + e.path + "'");
        return;
      }
      for (auto& s : d.scope)
        if (s.path == e.path) {
          error(item, "scope path '" + e.path + "' appears twice");
          return;
        }
      if (default_level) scope_level_default_.insert(d.scope.size());
      d.scope.push_back(std::move(e));
    };
    if (v.IsSequence()) {
      if (v.size() > lim_.max_scope) {
        error(v, "more than " + std::to_string(lim_.max_scope) + " scope entries", Errc::too_large);
        return;
      }
      for (const auto& item : v) one(item);
    } else {
      one(v);
    }
  }

  void rules(const YAML::Node& v, Document& d) {
    if (!v.IsSequence()) {
      error(v, "rules must be a list");
      return;
    }
    if (v.size() == 0) {
      error(v, "rules must not be empty");
      return;
    }
    if (v.size() > lim_.max_rules) {
      error(v, "more than " + std::to_string(lim_.max_rules) + " rules", Errc::too_large);
      return;
    }
    std::set<std::string> ids;
    for (const auto& item : v) {
      if (!item.IsMap()) {
        error(item, "a rule must be a mapping with id, require, ...");
        continue;
      }
      Rule r;
      r.pos = pos(item);
      std::optional<YAML::Node> when, require;
      bool has_id = false;
      fields(item, "a rule", {"id", "title", "severity", "when", "require", "remedy"},
             [&](const std::string& key, const YAML::Node& x, const YAML::Node&) {
               if (key == "id") {
                 if (auto s = scalar(x, "id")) {
                   has_id = true;
                   r.id = *s;
                   if (!valid_id(*s))
                     error(x, "rule id must be 1-64 characters of a-z, 0-9, '-', '_', '.'");
                   else if (!ids.insert(*s).second)
                     error(x, "rule id '" + *s + "' appears twice");
                 }
               } else if (key == "title") {
                 if (auto s = scalar(x, "title")) r.title = *s;
               } else if (key == "remedy") {
                 if (auto s = scalar(x, "remedy")) r.remedy = *s;
               } else if (key == "severity") {
                 if (auto s = scalar(x, "severity")) {
                   auto sev = parse_severity(*s);
                   if (!sev)
                     error(x, "severity must be low, medium, high or critical, not '" + *s + "'");
                   else
                     r.severity = *sev;
                 }
               } else if (key == "when") {
                 when = x;
               } else if (key == "require") {
                 require = x;
               }
             });
      if (!has_id) error(item, "a rule needs an 'id'");
      if (when) {
        r.when_pos = pos(*when);
        if (auto s = scalar(*when, "when")) {
          r.when = *s;
          cel_check(*when, *s);
        }
      }
      if (require) {
        r.require_pos = pos(*require);
        if (auto s = scalar(*require, "require")) {
          r.require = *s;
          cel_check(*require, *s);
        }
      } else {
        error(item, "rule '" + r.id + "' needs a 'require' expression");
      }
      d.rules.push_back(std::move(r));
    }
  }

  void cel_check(const YAML::Node& n, const std::string& expr) {
    if (trim(expr).empty()) {
      error(n, "empty expression");
      return;
    }
    auto p = detail::compile_rule_expr(expr);
    if (p) return;
    // where = "<expr>:L:C"; map (L, C) to the byte in the value, then to the file.
    const Error& e = p.error();
    size_t k = 0;
    int line = 1, col = 1;
    auto w = std::string_view(e.where);
    size_t c2 = w.rfind(':');
    size_t c1 = c2 == std::string_view::npos || c2 == 0 ? std::string_view::npos : w.rfind(':', c2 - 1);
    if (c1 != std::string_view::npos) {
      line = std::atoi(std::string(w.substr(c1 + 1, c2 - c1 - 1)).c_str());
      col = std::atoi(std::string(w.substr(c2 + 1)).c_str());
    }
    k = detail::offset_of(expr, line, col);
    std::string msg = e.message;
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
    error_in(n, expr, k, "CEL: " + msg);
  }

  void schedule(const YAML::Node& v, Document& d) {
    if (!v.IsSequence()) {
      error(v, "schedule must be a list");
      return;
    }
    if (v.size() > lim_.max_schedule) {
      error(v, "more than " + std::to_string(lim_.max_schedule) + " schedule entries", Errc::too_large);
      return;
    }
    for (const auto& item : v) {
      if (!item.IsMap()) {
        error(item, "a schedule entry is a mapping such as {at: deadline-7d, notify: [owner, manager]}");
        continue;
      }
      ScheduleEntry e;
      e.pos = pos(item);
      bool has_at = false, has_every = false, ok = true;
      fields(item, "a schedule entry", {"at", "every", "from", "until", "notify", "action"},
             [&](const std::string& key, const YAML::Node& x, const YAML::Node&) {
               if (key == "at") {
                 has_at = true;
                 auto s = scalar(x, "at");
                 if (!s) return void(ok = false);
                 e.label = *s;
                 if (!s->empty() && (*s)[0] >= '0' && (*s)[0] <= '9') {
                   auto t = time_value(x, "at");
                   if (!t) return void(ok = false);
                   e.anchor = ScheduleEntry::Anchor::absolute;
                   e.absolute = *t;
                 } else if (!anchor_value(x, *s, "at", e.anchor, e.offset)) {
                   ok = false;
                 }
               } else if (key == "every") {
                 has_every = true;
                 e.repeating = true;
                 auto dd = duration_value(x, "every");
                 if (!dd) return void(ok = false);
                 if (*dd < Seconds{3600}) {
                   error(x, "every must be at least 1h");
                   ok = false;
                 }
                 e.every = *dd;
                 e.label = "every " + x.Scalar();
               } else if (key == "from") {
                 auto s = scalar(x, "from");
                 if (!s || !anchor_value(x, *s, "from", e.anchor, e.offset)) ok = false;
               } else if (key == "until") {
                 auto s = scalar(x, "until");
                 if (!s || !anchor_value(x, *s, "until", e.until_anchor, e.until_offset)) ok = false;
               } else if (key == "notify") {
                 auto one = [&](const YAML::Node& r) {
                   auto s = scalar(r, "notify");
                   if (!s) return void(ok = false);
                   if (*s == "owner") e.notify.push_back(Recipient::owner);
                   else if (*s == "manager") e.notify.push_back(Recipient::manager);
                   else if (*s == "admin") e.notify.push_back(Recipient::admin);
                   else {
                     error(r, "notify: expected owner, manager or admin, not '" + *s + "'");
                     ok = false;
                   }
                 };
                 if (x.IsSequence())
                   for (const auto& r : x) one(r);
                 else
                   one(x);
               } else if (key == "action") {
                 auto s = scalar(x, "action");
                 if (!s) return void(ok = false);
                 if (*s == "block") e.block = true;
                 else if (*s != "notify") {
                   error(x, "action must be block or notify, not '" + *s + "'");
                   ok = false;
                 }
               }
             });
      if (has_at == has_every) {
        error(item, "a schedule entry needs exactly one of 'at' and 'every'");
        continue;
      }
      if (has_at && (item["from"] || item["until"])) {
        error(item, "'from' and 'until' go with 'every', not 'at'");
        continue;
      }
      if (e.notify.empty() && !e.block) {
        error(item, "a schedule entry needs 'notify' or 'action: block'");
        continue;
      }
      if (ok) d.schedule.push_back(std::move(e));
    }
  }
};

}  // namespace

ParseResult parse_file(std::string_view text, std::string_view source_name, const ParseLimits& limits) {
  return Parser(text, source_name, limits).run();
}

}  // namespace fw::policy
