// libFuzzer target: the CEL lexer, parser, compiler and evaluator on arbitrary text, with a
// device bound; and value_from_json on the same bytes. Must never crash, hang or trip a
// sanitizer; every failure has to come back as an Error. Single-threaded.
// Run: build-fuzz-<you>/fuzz/cel/cel_fuzz -max_total_time=60 -dict=fuzz/cel/cel.dict fuzz/cel/corpus
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cel/cel.h"

namespace {

const fw::cel::Value& device() {
  static const fw::cel::Value d = *fw::cel::value_from_json(R"({
    "id": "d1", "managed": true, "type": "phone", "owner_id": "p1",
    "os": {"family": "iOS", "version": "16.3.1"},
    "apps": [{"id": "us.zoom.videomeetings", "version": "5.1"}, {"id": "ru.trueconf.client", "version": "8"}],
    "tags": ["vip", 1, 2.5, null, true], "n": {"1": 2}
  })");
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool undeclared : {false, true}) {
    fw::cel::CompileOptions o;
    o.variables = {"device", "person", "now", "x.y"};
    o.allow_undeclared = undeclared;
    o.limits.max_iterations = 100000;
    auto p = fw::cel::compile(text, o);
    if (!p) {
      (void)p.error().to_string();
      continue;
    }
    auto act = p->make_activation();
    act.set(0, device());
    act.set(2, fw::cel::Value::timestamp(1700000000));
    act.set(3, fw::cel::Value::integer(7));
    auto r = p->eval(act);
    if (r) (void)r->to_string();
    (void)p->eval_bool(act);
  }
  if (!text.empty() && (text[0] == '{' || text[0] == '[')) {
    auto v = fw::cel::value_from_json(text);
    if (v) (void)v->to_string();
  }
  return 0;
}
