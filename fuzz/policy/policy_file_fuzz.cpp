// Fuzzes policy::parse_file: any bytes must give documents or file:line:col errors, never a
// crash; documents that parse must compile and evaluate one device without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = fw::policy::parse_file(text, "fuzz.yaml");
  for (const auto& d : r.documents) {
    auto cp = fw::policy::CompiledPolicy::compile(d);
    if (!cp) __builtin_trap();  // parse_file promises that what it returns compiles
    fw::model::Device dev;
    dev.id = "d";
    dev.os_family = "iOS";
    dev.os_version = "16.3";
    fw::policy::Evaluator ev;
    std::vector<fw::policy::RuleResult> out;
    cp->evaluate(dev, nullptr, fw::from_unix(1677650400), {}, ev, out);
    fw::policy::person_timeline(d, {"p", fw::policy::Level::mandatory, false, std::nullopt}, fw::from_unix(1677650400));
  }
  return 0;
}
