// Fuzzes the API's JSON -> model mapping (service::parse_json, service::from_json for org
// units, people and devices): any bytes must give a value or an error naming the place,
// never a crash. A body that decodes must survive a round trip: to_json of the decoded
// entity decodes again to the same JSON. The first byte picks the entity. Seeds:
// corpus_model_json/.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "service/model_json.h"

namespace {

template <class T>
void check(const boost::json::value& v) {
  T a;
  auto st = fw::service::from_json(v, a, "body.");
  if (!st) {
    if (st.error().code == fw::Errc::internal) __builtin_trap();
    return;
  }
  boost::json::value once = fw::service::to_json(a);
  T b;
  if (!fw::service::from_json(once, b)) __builtin_trap();  // what we write, we must read
  if (boost::json::value(fw::service::to_json(b)) != once) __builtin_trap();
  (void)fw::service::to_json_text(once);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto v = fw::service::parse_json(text);
  if (!v) {
    if (v.error().where.empty() && v.error().code == fw::Errc::parse_error) __builtin_trap();  // "byte N"
    return 0;
  }
  switch (data[0] % 3) {
    case 0: check<fw::model::OrgUnit>(*v); break;
    case 1: check<fw::model::Person>(*v); break;
    default: check<fw::model::Device>(*v); break;
  }
  return 0;
}
