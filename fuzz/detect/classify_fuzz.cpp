// Fuzz target: the classifier over arbitrary bytes as a User-Agent, with the first bytes
// also used as an ActiveSync DeviceType. Must never crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "detect/detect.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto cl = [] {
    fw::detect::ClassifierOptions o;
    o.cache_entries = 0;
    auto r = fw::detect::Classifier::load(o);
    if (!r) std::abort();
    return *r;
  }();
  std::string_view s(reinterpret_cast<const char*>(data), size);
  fw::detect::ActiveSyncHints h;
  h.device_type = std::string(s.substr(0, std::min<size_t>(size, 8)));
  (void)cl->classify(s);
  (void)cl->classify(s, h);
  (void)cl->parse_uap(s);
  return 0;
}
