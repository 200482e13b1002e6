// Tests for policy files: every field, every error at the right file:line:col, including CEL
// errors inside plain, quoted and block scalars.
#include <gtest/gtest.h>

#include "policy/policy.h"
#include "policy/scalar_map.h"

namespace fw::policy {
namespace {

const char* kCampaign = R"Y(kind: campaign
id: replace-ios
title: Replace iPhones
scope:
  - /administration
  - {path: /regions, level: advisory}
level: mandatory
start: 2023-02-01T09:00:00+03:00
deadline: 2023-03-31T23:59:59+03:00
grace: 14d
rules:
  - id: no-ios
    title: No iPhones
    severity: critical
    require: '!(device.os.family in ["iOS", "iPadOS"])'
    remedy: Replace the device.
  - id: no-zoom
    severity: medium
    when: device.type == "phone"
    require: "!device.apps.exists(a, a.id.startsWith(\"us.zoom.\"))"
schedule:
  - {at: start, notify: [owner]}
  - {every: 7d, notify: [owner]}
  - {at: deadline-7d, notify: [owner, manager]}
  - {at: deadline, action: block}
  - {at: deadline+14d, notify: [admin]}
)Y";

TEST(PolicyFile, ParsesACampaign) {
  auto r = parse_file(kCampaign, "c.yaml");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  ASSERT_EQ(r.documents.size(), 1u);
  const auto& d = r.documents[0];
  EXPECT_EQ(d.kind, "campaign");
  EXPECT_EQ(d.id, "replace-ios");
  ASSERT_EQ(d.scope.size(), 2u);
  EXPECT_EQ(d.scope[0].level, Level::mandatory);
  EXPECT_EQ(d.scope[1].level, Level::advisory);
  EXPECT_EQ(format_time(*d.start), "2023-02-01T06:00:00Z");
  EXPECT_EQ(format_time(*d.deadline), "2023-03-31T20:59:59Z");
  EXPECT_EQ(d.grace, Seconds{14 * 86400});
  ASSERT_EQ(d.rules.size(), 2u);
  EXPECT_EQ(d.rules[0].severity, Severity::critical);
  EXPECT_EQ(d.rules[0].remedy, "Replace the device.");
  EXPECT_EQ(d.rules[1].when, "device.type == \"phone\"");
  EXPECT_EQ(d.rules[1].require_pos.line, 20);
  ASSERT_EQ(d.schedule.size(), 5u);
  EXPECT_TRUE(d.schedule[1].repeating);
  EXPECT_EQ(d.schedule[1].every, Seconds{7 * 86400});
  EXPECT_EQ(d.schedule[2].anchor, ScheduleEntry::Anchor::deadline);
  EXPECT_EQ(d.schedule[2].offset, Seconds{-7 * 86400});
  EXPECT_EQ(d.schedule[2].notify.size(), 2u);
  EXPECT_TRUE(d.schedule[3].block);
  EXPECT_EQ(d.schedule[4].offset, Seconds{14 * 86400});
  EXPECT_EQ(d.level_for("/administration/it"), Level::mandatory);
  EXPECT_EQ(d.level_for("/regions/tver"), Level::advisory);
  EXPECT_EQ(d.level_for("/other"), std::nullopt);
  EXPECT_EQ(d.level_for("/administrationx"), std::nullopt);
}

TEST(PolicyFile, LevelAfterScopeAppliesToPlainPaths) {
  auto r = parse_file("kind: policy\nid: p\nscope: [/a]\nlevel: advisory\nrules:\n  - {id: r, require: 'true'}\n",
                      "p.yaml");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  EXPECT_EQ(r.documents[0].scope[0].level, Level::advisory);
}

TEST(PolicyFile, SeveralDocumentsInOneFile) {
  auto r = parse_file("kind: policy\nid: a\nrules: [{id: r, require: 'true'}]\n---\n"
                      "kind: policy\nid: b\nrules: [{id: r, require: 'false'}]\n",
                      "two.yaml");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  ASSERT_EQ(r.documents.size(), 2u);
  EXPECT_EQ(r.documents[1].id, "b");
}

struct ErrCase {
  const char* name;
  std::string text;
  std::string where;    // "f.yaml:L:C"
  std::string message;  // a substring of the message
};

class PolicyFileErrors : public ::testing::TestWithParam<ErrCase> {};

TEST_P(PolicyFileErrors, ReportsPosition) {
  const auto& c = GetParam();
  auto r = parse_file(c.text, "f.yaml");
  ASSERT_FALSE(r.ok()) << c.name;
  bool found = false;
  std::string all;
  for (const auto& e : r.errors) {
    all += e.to_string() + "\n";
    if (e.where == c.where && e.message.find(c.message) != std::string::npos) found = true;
  }
  EXPECT_TRUE(found) << c.name << ": wanted " << c.where << ": ..." << c.message << "\ngot:\n" << all;
}

const std::string kHead = "kind: policy\nid: p\nrules:\n";

TEST(PolicyFileErrorsOnce, ABadDeadlineIsNotAlsoAMissingOne) {
  auto r = parse_file("kind: campaign\nid: c\ndeadline: 2023-03-31T25:00:00Z\nrules: [{id: r, require: 'true'}]\n",
                      "f.yaml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u) << r.errors.back().to_string();
  EXPECT_EQ(r.errors[0].where, "f.yaml:3:22");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PolicyFileErrors,
    ::testing::Values(
        ErrCase{"yaml_syntax", "kind: policy\nrules: [1, 2\nid: x\n", "f.yaml:2:8",
                "YAML: the '[' opened here is never closed"},
        ErrCase{"yaml_error_where_it_is", "kind: policy\nid: p\nrules: [{id: r, require: 'true'}]\ntitle: a: b\n",
                "f.yaml:4:9", "YAML: illegal map value"},
        ErrCase{"unknown_top_key", "kind: policy\nid: p\ncolour: red\nrules: [{id: r, require: 'true'}]\n",
                "f.yaml:3:1", "unknown key 'colour'"},
        ErrCase{"unknown_rule_key", kHead + "  - id: r\n    requires: 'true'\n", "f.yaml:5:5",
                "unknown key 'requires'"},
        ErrCase{"missing_require", kHead + "  - id: r\n    title: x\n", "f.yaml:4:5", "needs a 'require'"},
        ErrCase{"duplicate_key", "kind: policy\nid: p\nid: q\nrules: [{id: r, require: 'true'}]\n", "f.yaml:3:1",
                "duplicate key 'id'"},
        ErrCase{"duplicate_rule", kHead + "  - {id: r, require: 'true'}\n  - {id: r, require: 'true'}\n",
                "f.yaml:5:10", "appears twice"},
        ErrCase{"bad_severity", kHead + "  - id: r\n    severity: urgent\n    require: 'true'\n", "f.yaml:5:15",
                "severity must be"},
        ErrCase{"bad_kind", "kind: rulebook\nid: p\n", "f.yaml:1:7", "kind must be policy or campaign"},
        ErrCase{"missing_kind", "id: p\n", "f.yaml:1:1", "missing 'kind'"},
        ErrCase{"policy_with_deadline",
                "kind: policy\nid: p\ndeadline: 2023-03-31\nrules: [{id: r, require: 'true'}]\n", "f.yaml:3:1",
                "only allowed in a campaign"},
        ErrCase{"campaign_without_deadline", "kind: campaign\nid: c\nrules: [{id: r, require: 'true'}]\n",
                "f.yaml:1:1", "needs a 'deadline'"},
        ErrCase{"bad_deadline_plain",
                "kind: campaign\nid: c\ndeadline: 2023-03-31T25:00:00Z\nrules: [{id: r, require: 'true'}]\n",
                "f.yaml:3:22", "time out of range"},
        ErrCase{"bad_deadline_quoted",
                "kind: campaign\nid: c\ndeadline: \"2023-03-31T10:00:00\"\nrules: [{id: r, require: 'true'}]\n",
                "f.yaml:3:31", "expected a zone"},
        ErrCase{"bad_schedule_offset",
                "kind: campaign\nid: c\ndeadline: 2023-03-31\nrules: [{id: r, require: 'true'}]\n"
                "schedule:\n  - {at: deadline-7x, notify: [owner]}\n",
                "f.yaml:6:20", "unknown unit"},
        ErrCase{"bad_recipient",
                "kind: campaign\nid: c\ndeadline: 2023-03-31\nrules: [{id: r, require: 'true'}]\n"
                "schedule:\n  - {at: start, notify: [owner, boss]}\n",
                "f.yaml:6:33", "expected owner, manager or admin"},
        ErrCase{"at_and_every",
                "kind: campaign\nid: c\ndeadline: 2023-03-31\nrules: [{id: r, require: 'true'}]\n"
                "schedule:\n  - {at: start, every: 7d, notify: [owner]}\n",
                "f.yaml:6:5", "exactly one of 'at' and 'every'"},
        ErrCase{"bad_scope", "kind: policy\nid: p\nscope: [administration]\nrules: [{id: r, require: 'true'}]\n",
                "f.yaml:3:9", "must start with '/'"},
        ErrCase{"bad_level", "kind: policy\nid: p\nlevel: optional\nrules: [{id: r, require: 'true'}]\n",
                "f.yaml:3:8", "mandatory or advisory"},
        // CEL errors mapped into the file. The typo is the '@' in each.
        ErrCase{"cel_plain", kHead + "  - id: r\n    require: device.os.family == @iOS\n", "f.yaml:5:34", "CEL"},
        ErrCase{"cel_single_quoted", kHead + "  - id: r\n    require: '!(device.os.family in [''iOS'', @])'\n",
                "f.yaml:5:47", "CEL"},
        ErrCase{"cel_double_quoted",
                kHead + "  - id: r\n    require: \"device.os.family == \\\"iOS\\\" && @\"\n", "f.yaml:5:46",
                "CEL"},
        ErrCase{"cel_literal_block",
                kHead + "  - id: r\n    require: |\n      device.os.family == \"iOS\" ||\n        device.x == @\n",
                "f.yaml:7:21", "CEL"},
        ErrCase{"cel_folded_block",
                kHead + "  - id: r\n    require: >-\n      device.os.family == \"iOS\"\n      || @\n",
                "f.yaml:7:10", "CEL"},
        ErrCase{"cel_plain_multiline", kHead + "  - id: r\n    require: device.os.family ==\n      \"iOS\" && @\n",
                "f.yaml:6:16", "CEL"},
        ErrCase{"cel_when", kHead + "  - id: r\n    when: device.type == \n    require: 'true'\n", "f.yaml:5:25",
                "CEL"},
        ErrCase{"cel_undeclared", kHead + "  - id: r\n    require: devce.os.family == \"iOS\"\n", "f.yaml:5:14",
                "CEL"},
        ErrCase{"cel_after_cyrillic",
                kHead + "  - id: r\n    title: Нет айфонов\n    require: \"'айфон' == @\"\n", "f.yaml:6:26", "CEL"},
        // What yaml-cpp 0.7 accepts but YAML does not, and errors it places at the end of the file.
        ErrCase{"double_quote_unclosed_at_eof",
                "kind: policy\nid: p\nrules: [{id: r, require: 'true'}]\ntitle: \"Replace iPhones\n", "f.yaml:4:8",
                "double-quoted string opened here is never closed"},
        ErrCase{"double_quote_unclosed_swallows_the_rest",
                "kind: policy\ntitle: \"a \\\" b\nid: p\nrules: [{id: r, require: 'true'}]\n", "f.yaml:2:8",
                "never closed"},
        ErrCase{"double_quote_unclosed_before_next_document",
                "kind: policy\nid: p\nrules: [{id: r, require: 'true'}]\ntitle: \"x\n---\nkind: policy\n",
                "f.yaml:4:8", "never closed"},
        ErrCase{"single_quote_unclosed", "kind: policy\nid: p\nrules: [{id: r, require: 'true'}]\ntitle: 'it''s\n",
                "f.yaml:4:8", "single-quoted string opened here is never closed"},
        ErrCase{"quoted_key_unclosed", "kind: policy\nid: p\nrules: [{id: r, require: 'true'}]\n\"title: x\n",
                "f.yaml:4:1", "never closed"},
        ErrCase{"duplicate_key_in_rule", kHead + "  - id: r\n    require: 'true'\n    require: 'false'\n",
                "f.yaml:6:5", "duplicate key 'require'"},
        ErrCase{"duplicate_key_in_flow_entry",
                "kind: campaign\nid: c\ndeadline: 2023-03-31\nrules: [{id: r, require: 'true'}]\n"
                "schedule:\n  - {at: start, at: deadline, notify: [owner]}\n",
                "f.yaml:6:17", "duplicate key 'at'"},
        ErrCase{"tab_indents_plain_value", "kind: policy\nid: p\ntitle:\n\tReplace\nrules: [{id: r, require: 'true'}]\n",
                "f.yaml:4:1", "a tab in the indentation"},
        ErrCase{"tab_indents_continuation",
                "kind: policy\nid: p\ntitle: Replace\n \tiPhones\nrules: [{id: r, require: 'true'}]\n", "f.yaml:4:2",
                "a tab in the indentation"},
        ErrCase{"tab_indents_list", "kind: policy\nid: p\nrules:\n\t- {id: r, require: 'true'}\n", "f.yaml:4:1",
                "a tab in the indentation"},
        ErrCase{"tab_indents_key", kHead + "  - id: r\n\t  require: 'true'\n", "f.yaml:5:1", "a tab in the indentation"},
        ErrCase{"flow_sequence_unclosed", "kind: policy\nid: p\nrules: [{id: r, require: 'true'}]\nscope: [/a, /b\n",
                "f.yaml:4:8", "'[' opened here is never closed (no ']' before the end of the file)"},
        ErrCase{"flow_mapping_unclosed", kHead + "  - {id: r, require: 'true'\n", "f.yaml:4:5",
                "'{' opened here is never closed"},
        ErrCase{"not_a_mapping", "- a\n- b\n", "f.yaml:1:1", "must be a mapping"},
        ErrCase{"empty_file", "", "f.yaml:1:1", "no policy document"}),
    [](const auto& info) { return std::string(info.param.name); });

// The checks for yaml-cpp's leniencies leave alone what YAML allows: a tab between a key and
// its value, tabs inside quoted and block scalars, escaped and doubled quotes, '#' in quotes.
TEST(PolicyFile, TabsAndQuotesThatYamlAllows) {
  auto r = parse_file("kind: policy\nid:\tp\ntitle: \"a \\\"quoted\\\" # title\n\tover two lines\"\n"
                      "description: 'it''s # fine'\nrules:\n  - id: r\n    remedy: |\n      step 1:\tremove\n"
                      "    require: \"device.os.family != 'iOS'\"\n",
                      "ok.yaml");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  EXPECT_EQ(r.documents[0].title, "a \"quoted\" # title over two lines");
  EXPECT_EQ(r.documents[0].description, "it's # fine");
  EXPECT_EQ(r.documents[0].rules[0].remedy, "step 1:\tremove\n");
}

TEST(PolicyFile, ReportsEveryErrorNotJustTheFirst) {
  auto r = parse_file(kHead + "  - id: a\n    require: '1 +'\n  - id: b\n    severity: huge\n    require: 'true'\n"
                              "  - id: c\n    require: 'x.y'\n",
                      "f.yaml");
  EXPECT_EQ(r.errors.size(), 3u);
  EXPECT_TRUE(r.documents.empty());
}

TEST(PolicyFile, SizeLimits) {
  ParseLimits lim;
  lim.max_file_bytes = 100;
  auto r = parse_file(std::string(200, '#'), "big.yaml", lim);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors[0].code, Errc::too_large);
  ParseLimits lim2;
  lim2.max_rules = 1;
  auto r2 = parse_file(kHead + "  - {id: a, require: 'true'}\n  - {id: b, require: 'true'}\n", "f.yaml", lim2);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.errors[0].code, Errc::too_large);
}

TEST(PolicyFile, NeverThrowsOnOddInput) {
  const char* inputs[] = {"kind: [", "{{{{", "kind: policy\nid: p\nrules: {a: 1}\n", "kind: policy\nid: p\nrules:\n - 1\n",
                          "kind: campaign\nid: c\ndeadline: [1]\nrules: []\n", "\t\tkind: x", "? a\n: b\n",
                          "kind: policy\nid: p\nrules: [{id: r, require: '\"\\xff'}]\n", "&a [*a]"};
  for (const char* in : inputs) {
    auto r = parse_file(in, "odd.yaml");
    EXPECT_FALSE(r.ok()) << in;
  }
}

// Regression: the fuzzer's timeout-251c3548 ("!~,"). yaml-cpp 0.7's LoadAll loops for ever on a
// stream whose next token it cannot consume; parse_file must answer with a position instead.
TEST(PolicyFile, InputsThatHangYamlCppGiveAnError) {
  struct Case { const char* in; const char* where; } cases[] = {
      {"!~,", "stuck.yaml:1:"}, {",", "stuck.yaml:1:1"}, {"!!str ,", "stuck.yaml:1:"},
      {"kind: policy\n,\n", "stuck.yaml:"},
  };
  // timeout-85fcead7: many tiny documents ("" "" ...) before the token that hangs LoadAll.
  for (const auto& c : cases) {
    auto r = parse_file(c.in, "stuck.yaml");
    ASSERT_FALSE(r.ok()) << c.in;
    EXPECT_EQ(r.errors[0].where.rfind(c.where, 0), 0u) << c.in << " -> " << r.errors[0].to_string();
  }
  auto many = parse_file(std::string(200, '"') + ",", "stuck.yaml");
  ASSERT_FALSE(many.ok());
}

TEST(ScalarMap, AlignsStyles) {
  struct Case {
    std::string text;
    std::string value;
    size_t k;         // byte of value
    size_t expected;  // byte of text
  } cases[] = {
      {"a: hello world\n", "hello world", 6, 9},
      {"a: 'it''s x'\n", "it's x", 5, 10},
      {"a: \"t\\tx\"\n", "t\tx", 2, 7},
      {"a: \"\\u0416z\"\n", "\xd0\x96z", 2, 10},
      {"a: |\n  one\n  two\n", "one\ntwo\n", 4, 13},
      {"a: >\n  one\n  two\n", "one two\n", 4, 13},
      {"a: one\n  two\n", "one two", 4, 9},
  };
  for (const auto& c : cases) {
    auto m = detail::map_scalar(c.text, 3, c.value);
    ASSERT_EQ(m.size(), c.value.size()) << c.text;
    EXPECT_EQ(m[c.k], c.expected) << c.text;
  }
}

}  // namespace
}  // namespace fw::policy
