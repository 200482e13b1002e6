// Unit tests of the CEL subset: tables of expressions with their expected value or error,
// error positions and carets, limits, JSON values, and concurrent evaluation.
// (The official conformance suite runs in conformance_test.cpp.)
#include <gtest/gtest.h>

#include <thread>

#include "cel/cel.h"

namespace fw::cel {
namespace {

Value device() {
  auto v = value_from_json(R"({
    "id": "d1", "managed": true, "type": "phone",
    "os": {"family": "iOS", "version": "16.3.1"},
    "apps": [{"id": "us.zoom.videomeetings", "version": "5.1"}, {"id": "ru.trueconf.client", "version": "8"}],
    "tags": ["vip"], "battery": 0.5, "storage_gb": 128
  })");
  EXPECT_TRUE(v) << v.error().to_string();
  return *v;
}

struct Env {
  Program prog;
  Result<Value> run(std::string_view text, CompileOptions opt = {}) {
    opt.variables = {"device", "person", "now"};
    auto p = compile(text, opt);
    if (!p) return std::unexpected(p.error());
    auto act = p->make_activation();
    act.set(0, device());
    act.set(1, Value::record({{"id", Value::string("p1")}, {"org", Value::string("/administration")}}));
    act.set(2, Value::timestamp(1700000000));
    return p->eval(act);
  }
};

TEST(Cel, Values) {
  struct Case { const char* expr; const char* want; };
  const Case cases[] = {
      // the issue's examples and policies
      {R"(version("16.3.1") < version("17"))", "true"},
      {R"(version("4.0.2.249") >= version("4.0"))", "true"},
      {R"(version("13") == version("13.0"))", "true"},
      {R"(version("12.1-rc1") < version("12.1"))", "true"},
      {R"(version(device.os.version) >= version("16"))", "true"},
      {R"(version("17") > version(device.os.version))", "true"},
      {R"(version(device.os.version) < version("16.3.1-beta"))", "false"},
      {R"(string(version("v16.3")))", R"("16.3")"},
      {R"(device.os.family in ["iOS", "iPadOS"])", "true"},
      {R"(!(device.os.family in ["iOS", "iPadOS"]))", "false"},
      {R"(device.os.family in ["a", "b", "c", "d", "e", "f", "g", "h", "i", "iOS"])", "true"},
      {R"(device.apps.exists(a, a.id.startsWith("us.zoom.")))", "true"},
      {R"(device.apps.all(a, a.version != ""))", "true"},
      {R"(device.apps.map(a, a.id).filter(i, i.endsWith(".client")))", R"(["ru.trueconf.client"])"},
      {R"(device.apps.exists_one(a, a.id.contains("zoom")))", "true"},
      {R"(device.id.endsWith("1") && !device.id.endsWith("longer than the id") && device.id.contains(""))", "true"},
      {R"(device.id.startsWith(device.id) && "abc".contains("bc"))", "true"},
      {R"(device.type == "phone" && !("phone" != device.type) && device.storage_gb != "128")", "true"},
      {R"(device.storage_gb == "128" || device.os == "iOS")", "false"},
      {R"(has(device.os) && !has(device.imei))", "true"},
      {R"("os" in device && !("imei" in device))", "true"},
      {R"(now - duration("72h") < now)", "true"},
      {R"(now > timestamp("2023-03-31T23:59:59+03:00"))", "true"},
      {R"(string(now))", R"("2023-11-14T22:13:20Z")"},
      {R"(person.org.startsWith("/admin"))", "true"},
      {R"(device.storage_gb >= 64 && device.battery > 0.25)", "true"},
      {R"(device.managed ? "m" : "u")", R"("m")"},
      {R"(size(device.apps) == 2)", "true"},
      {R"(device.id.matches("^d[0-9]+$"))", "true"},
      {R"(matches(device.id, "x"))", "false"},
      {R"("ÀB".lowerAscii() + "x".upperAscii())", R"("ÀbX")"},
      // CEL semantics
      {"size('πέντε')", "5"},
      {"'πέντε'.size()", "5"},
      {"1 == 1.0 && 1u == 1 && dyn(2) < 3.5", "true"},
      {"9223372036854775807 + 0", "9223372036854775807"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"7 / 2 == 3 && 7 % -3 == 1 && -7 % 3 == -1", "true"},
      {"1.0 / 0.0", "+Inf"},
      {"false && (1 / 0 == 1)", "false"},
      {"(1 / 0 == 1) && false", "false"},
      {"(1 / 0 == 1) || true", "true"},
      {"[1, 2] + [3]", "[1, 2, 3]"},
      {"{'a': 1}['a']", "1"},
      {"type(1u) == uint", "true"},
      {"int('42') + int(3.9)", "45"},
      {"duration('1h30m') == duration('90m')", "true"},
      {"timestamp('2009-02-13T23:31:30Z').getFullYear()", "2009"},
      {"b'\\xff' == bytes('\\u00ff')", "false"},
      {"r'a\\d' == 'a\\\\d'", "true"},
      {"'''multi\nline'''.contains('\\n')", "true"},
      {"[1, 2, 3].map(x, x > 1, x * 10)", "[20, 30]"},
      {"// comment\n 1 + 1", "2"},
  };
  Env env;
  for (const auto& c : cases) {
    auto r = env.run(c.expr);
    ASSERT_TRUE(r) << c.expr << ": " << r.error().to_string();
    EXPECT_EQ(r->to_string(), c.want) << c.expr;
  }
}

TEST(Cel, EvalErrors) {
  struct Case { const char* expr; const char* where; const char* message; };
  const Case cases[] = {
      {"9223372036854775807 + 1", "<expr>:1:21", "integer overflow"},
      {"-(-9223372036854775808)", "<expr>:1:1", "integer overflow"},
      {"0u - 1u", "<expr>:1:4", "unsigned integer overflow"},
      {"1 / 0", "<expr>:1:3", "division by zero"},
      {"1 + 1u", "<expr>:1:3", "no matching overload for '+' on (int, uint)"},
      {"device.imei == '1'", "<expr>:1:7", "no such key: 'imei'"},
      {"device.apps[5]", "<expr>:1:12", "out of range"},
      {"device.os.family.x", "<expr>:1:17", "cannot select field 'x'"},
      {"version(device.id) > version('1')", "<expr>:1:15", "a version starts with a number"},
      {"version('abc')", "<expr>:1:1", "a version starts with a number"},
      {"timestamp('2023-13-01T00:00:00Z')", "<expr>:1:1", "cannot parse"},
      {"timestamp('9999-12-31T23:59:59Z') + duration('1s')", "<expr>:1:35", "timestamp out of range"},
      {"'a'.matches('(')", "<expr>:1:5", "invalid regular expression"},
      {"true && 'x'", "<expr>:1:9", "no matching overload for '&&'"},
      {"device.imei == 'x'", "<expr>:1:7", "no such key: 'imei'"},
      {"uint(dyn(-0.5))", "<expr>:1:1", "uint() out of range"},
      {"int(dyn(9223372036854775807.0))", "<expr>:1:1", "int() out of range"},
      {"-9223372036854775808 % -1", "<expr>:1:22", "integer overflow"},
      {"device.storage_gb.startsWith('1')", "<expr>:1:19", "no matching overload for 'startsWith' on (int, string)"},
      {"{1: 1, 1: 2}", "<expr>:1:8", "duplicate map key"},
      {"[1].all(x, x / 0 == 1)", "<expr>:1:14", "division by zero"},
  };
  Env env;
  for (const auto& c : cases) {
    auto r = env.run(c.expr);
    ASSERT_FALSE(r) << c.expr << " gave " << r->to_string();
    EXPECT_EQ(r.error().code, Errc::eval_error) << c.expr;
    EXPECT_EQ(r.error().where, c.where) << c.expr << ": " << r.error().to_string();
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << c.expr << ": " << r.error().message;
  }
}

TEST(Cel, CompileErrors) {
  struct Case { const char* expr; const char* where; const char* message; };
  const Case cases[] = {
      {"device.os.family in [\"iOS\"", "<expr>:1:27", "expected ',' or ']'"},
      {"f(1, 2", "<expr>:1:7", "expected ',' or ')' after arguments"},
      {"1 +", "<expr>:1:4", "unexpected end of expression"},
      {"a = 1", "<expr>:1:3", "'=='"},
      {"devcie.os", "<expr>:1:1", "undeclared reference to 'devcie'"},
      {"device.os.frobnicate()", "<expr>:1:11", "unknown function 'frobnicate'"},
      {"'abc", "<expr>:1:1", "unterminated string"},
      {"'\\q'", "<expr>:1:2", "unknown escape"},
      {"'\\ud800'", "<expr>:1:2", "invalid code point"},
      {"18446744073709551616u", "<expr>:1:1", "out of range"},
      {"9223372036854775808", "<expr>:1:1", "out of range"},
      {"if", "<expr>:1:1", "reserved word"},
      {"[1].all(1, true)", "<expr>:1:9", "simple identifier"},
      {"has(device)", "<expr>:1:1", "has() takes one field selection"},
      {"1\n  + (2", "<expr>:2:7", "expected ')'"},
      {"", "<expr>:1:1", "empty expression"},
  };
  Env env;
  for (const auto& c : cases) {
    auto r = env.run(c.expr);
    ASSERT_FALSE(r) << c.expr << " gave " << r->to_string();
    EXPECT_EQ(r.error().code, Errc::parse_error) << c.expr;
    EXPECT_EQ(r.error().where, c.where) << c.expr << ": " << r.error().to_string();
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << c.expr << ": " << r.error().message;
  }
}

TEST(Cel, ErrorPositionInYamlFile) {
  CompileOptions o;
  o.variables = {"device"};
  o.source_name = "policy.yaml";
  o.base_line = 12;
  o.base_col = 14;
  auto p = compile("f(device.os.family,\n  1", o);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().where, "policy.yaml:13:4");
  p = compile("device.os.family in [\"iOS\"", o);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().to_string(),
            "policy.yaml:12:40: expected ',' or ']' after list elements\n"
            " | device.os.family in [\"iOS\"\n"
            " |                           ^");
  o.caret = false;
  p = compile("1 +", o);
  EXPECT_EQ(p.error().to_string(), "policy.yaml:12:17: unexpected end of expression");
}

TEST(Cel, Limits) {
  CompileOptions o;
  std::string deep(200, '(');
  deep += "1" + std::string(200, ')');
  auto p = compile(deep, o);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::too_large);
  EXPECT_NE(p.error().message.find("nested deeper"), std::string::npos);

  std::string nots(5000, '!');
  p = compile(nots + "true", o);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::too_large);

  p = compile(std::string(20000, '1'), o);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::too_large);

  p = compile("'" + std::string(5000, 'x') + "'", o);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::too_large);

  // evaluation limits: iterations and value size
  std::string range = "[";
  for (int i = 0; i < 1000; ++i) range += std::to_string(i) + ",";
  range += "0]";
  auto r = evaluate(range + ".all(x, " + range + ".all(y, " + range + ".all(z, true)))");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("iteration limit"), std::string::npos);
  r = evaluate("size(s + s)", std::vector<std::pair<std::string, Value>>{{"s", Value::string(std::string(600000, 'a'))}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("too large"), std::string::npos);
}

TEST(Cel, EvalBool) {
  CompileOptions o;
  o.variables = {"device"};
  auto p = compile("device.managed", o);
  ASSERT_TRUE(p);
  auto act = p->make_activation();
  auto r = p->eval_bool(act);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no value bound to variable 'device'"), std::string::npos);
  act.set(0, device());
  ASSERT_TRUE(p->eval_bool(act));
  EXPECT_TRUE(*p->eval_bool(act));
  auto q = compile("device.id", o);
  auto b = q->eval_bool(act);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, Errc::eval_error);
  EXPECT_NE(b.error().message.find("expected the expression to give a bool, got string"), std::string::npos);
  EXPECT_FALSE(Program().eval_bool(act));
}

TEST(Cel, Json) {
  auto v = value_from_json(R"({"a": [1, 2.5, "x", null, true], "big": 18446744073709551615})");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->to_string(), R"({"a": [1, 2.5, "x", null, true], "big": 18446744073709551615u})");
  const char* bad[] = {"", "{", "[1,]", "{\"a\" 1}", "\"\xff\""};
  for (const char* b : bad) {
    auto r = value_from_json(b);
    ASSERT_FALSE(r) << b;
    EXPECT_EQ(r.error().code, Errc::parse_error) << b;
  }
  auto deep = value_from_json(std::string(100, '[') + std::string(100, ']'));
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().code, Errc::too_large);
}

TEST(Cel, BuildValuesInCpp) {
  std::vector<Value> apps;
  for (int i = 0; i < 40; ++i) apps.push_back(Value::record({{"id", Value::string("app" + std::to_string(i))}}));
  std::vector<std::pair<std::string, Value>> fields;
  for (int i = 0; i < 30; ++i) fields.emplace_back("f" + std::to_string(i), Value::integer(i));  // hash index
  fields.emplace_back("apps", Value::list(std::move(apps)));
  Value d = Value::record(std::move(fields));
  ASSERT_NE(d.find("f29"), nullptr);
  EXPECT_EQ(d.find("f29")->as_int(), 29);
  EXPECT_EQ(d.find("nope"), nullptr);
  auto r = evaluate("d.f17 == 17 && d.apps.exists(a, a.id == 'app39') && !has(d.g)", std::vector<std::pair<std::string, Value>>{{"d", d}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->to_string(), "true");
  EXPECT_TRUE(Value::integer(1) == Value::dbl(1.0));
  EXPECT_FALSE(Value::string("1") == Value::integer(1));
}

// Inputs the fuzzer (fuzz/cel) found crashing; each must now give a value or an error.
TEST(Cel, FuzzRegressions) {
  const char* cases[] = {
      "ve in version(\"45.osrfad\")",  // `in` with a constant non-list: operand used after move
      "device.id.matches('(')",          // constant invalid regex: operand used after move
      "device.id.matches(')') || true",
  };
  for (const char* c : cases) {
    CompileOptions o;
    o.variables = {"device"};
    o.allow_undeclared = true;
    auto p = compile(c, o);
    ASSERT_TRUE(p) << c << ": " << p.error().to_string();
    auto act = p->make_activation();
    act.set(0, device());
    auto r = p->eval(act);
    if (r) (void)r->to_string();
  }
}

TEST(Cel, ConcurrentEvaluation) {
  CompileOptions o;
  o.variables = {"device"};
  auto p = compile(R"(device.apps.exists(a, a.id.startsWith("us.zoom.")) && version(device.os.version) >= version("16"))", o);
  ASSERT_TRUE(p);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  Value shared = device();
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      auto act = p->make_activation();
      for (int i = 0; i < 2000; ++i) {
        act.set(0, (i + t) % 2 ? shared : device());
        auto r = p->eval_bool(act);
        if (r && *r) ++ok;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 8000);
}

TEST(Cel, Paths) {
  using V = std::vector<std::string>;
  struct Case {
    const char* expr;
    V device, person;
  };
  const Case cases[] = {
      {"device.os.family == 'iOS'", {"device.os.family"}, {}},
      {"device.apps.exists(a, a.id == 'x') && person.org_unit.startsWith('/a')", {"device.apps"}, {"person.org_unit"}},
      {"has(device.facts.jailbroken) && device.facts.jailbroken", {"device.facts.jailbroken"}, {}},
      {"device.facts['x'] == 1", {"device.facts"}, {}},
      {"size(device) > 0 || person == null", {"device"}, {"person"}},
      {"device['os'].version == '1'", {"device"}, {}},
      {"version(device.os.version) >= version('10') && device.os.family == 'Android' && device.os.family != ''",
       {"device.os.family", "device.os.version"}, {}},
      // A macro variable named like a declared one shadows it inside the macro.
      {"[1, 2].exists(device, device > 1) && person.id != ''", {}, {"person.id"}},
      {"now > timestamp('2020-01-01T00:00:00Z')", {}, {}},
      {".device.vendor != ''", {"device.vendor"}, {}},
  };
  CompileOptions o;
  o.variables = {"device", "person", "now"};
  for (const auto& c : cases) {
    auto p = compile(c.expr, o);
    ASSERT_TRUE(p) << c.expr << ": " << p.error().to_string();
    EXPECT_EQ(p->paths("device"), c.device) << c.expr;
    EXPECT_EQ(p->paths("person"), c.person) << c.expr;
    EXPECT_TRUE(p->paths("dev").empty()) << c.expr;  // a name prefix is not the variable
  }
  EXPECT_TRUE(Program().paths("device").empty());
}

}  // namespace
}  // namespace fw::cel
