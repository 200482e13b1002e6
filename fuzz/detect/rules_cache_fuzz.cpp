// Fuzz target: the parsed-rules cache reader (decode_rule_set) over arbitrary bytes, as
// found and also with the checksum made right and the key taken from the bytes, so that the
// checks behind them are reached. Must never crash, hang, read out of bounds or allocate
// without bound; what it accepts must encode back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "detect/rules.h"
#include "util/strings.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  fw::detect::RuleSet set;
  (void)fw::detect::decode_rule_set(bytes, 0, set);
  if (size < 28) return 0;
  uint64_t key = 0;
  for (int i = 0; i < 8; ++i) key |= uint64_t{data[12 + i]} << (8 * i);
  uint64_t sum = fw::fnv1a64(std::string_view(bytes).substr(0, size - 8));
  for (int i = 0; i < 8; ++i) bytes[size - 8 + static_cast<size_t>(i)] = static_cast<char>(sum >> (8 * i));
  if (fw::detect::decode_rule_set(bytes, key, set) && fw::detect::encode_rule_set(set, key) != bytes) std::abort();
  return 0;
}
