// Private to detect/: the flat aggregation tables behind scan_logs(). Sightings are keyed by
// (normalized user id, client id) packed in 64 bits; user names, User-Agents and ActiveSync
// device ids are interned once (open addressing over a byte arena), so a line that repeats a
// known client costs three hash probes and no allocation. Same results as Aggregator.
// Not thread-safe: one SightingTable per thread, merged in input order with merge_from().
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "detect/detect.h"

namespace fw::detect {

// A fast non-cryptographic 64-bit hash of bytes (8 at a time). For table slots only; the
// fingerprints shown to users stay fnv1a64 (see fingerprint()).
inline uint64_t hash_bytes(std::string_view s) noexcept {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  return h;
}

// Byte strings -> dense ids 0, 1, 2... in first-seen order.
class Interner {
 public:
  Interner();
  // The id of s, adding it when new.
  uint32_t intern(std::string_view s) { return intern(s, hash_bytes(s)); }
  uint32_t intern(std::string_view s, uint64_t h);
  std::string_view get(uint32_t id) const {
    return std::string_view(arena_.data() + spans_[id].first, spans_[id].second);
  }
  size_t size() const { return spans_.size(); }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t id_plus1 = 0;  // 0 = empty
  };
  void grow();
  std::vector<Slot> slots_;  // power-of-two size, at most half full
  std::vector<std::pair<uint64_t, uint32_t>> spans_;  // id -> (offset, length) in arena_
  std::string arena_;
};

// uint64 -> uint32 (entry index), open addressing; key ~0 is reserved.
class IndexMap {
 public:
  IndexMap();
  // The value for key, or inserts `value_if_new` and returns it (inserted = true).
  uint32_t find_or_insert(uint64_t key, uint32_t value_if_new, bool& inserted);

 private:
  void grow();
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> values_;
  size_t used_ = 0;
};

class SightingTable {
 public:
  explicit SightingTable(std::vector<std::string> strip_domains);
  void add(const LogRecord& rec);
  // Folds a table that saw the lines right after this one's (same semantics as if this
  // table had seen them itself).
  void merge_from(const SightingTable& later);
  // As Aggregator::sightings(): sorted by (user, fingerprint), classified.
  std::vector<model::Sighting> sightings(const Classifier& classifier) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint32_t raw_user;     // raw_users_ id of the first record's user (as written)
    uint32_t ua;           // uas_ id of the first record's User-Agent
    uint32_t device_type;  // device_types_ id of the first record's ActiveSync DeviceType
    uint32_t client;       // uas_ id, or kActiveSync | device_ids_ id
    uint32_t user;         // users_ id (normalized)
    Time first_seen{}, last_seen{};
    int64_t count = 0;
    std::string client_ip;
  };
  static constexpr uint32_t kActiveSync = 0x80000000u;
  uint32_t user_id(std::string_view raw_user);
  void normalize(std::string_view raw_user, std::string& out) const;

  std::vector<std::string> strip_domains_;
  Interner raw_users_, users_, uas_, device_ids_, device_types_;
  std::vector<uint32_t> raw_to_user_;  // raw_users_ id -> users_ id
  IndexMap index_;                     // (user << 32 | client) -> entries_ index
  std::vector<Entry> entries_;
  std::string scratch_;
};

}  // namespace fw::detect
