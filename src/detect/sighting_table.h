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
// Two independent lanes of 8 bytes, so that the multiplications overlap.
inline uint64_t hash_bytes(std::string_view s) noexcept {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t a = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull), b = 0xC2B2AE3D27D4EB4Full;
  while (n >= 16) {
    uint64_t w1, w2;
    std::memcpy(&w1, p, 8);
    std::memcpy(&w2, p + 8, 8);
    a = (a ^ w1) * 0xff51afd7ed558ccdull;
    b = (b ^ w2) * 0xc4ceb9fe1a85ec53ull;
    a ^= a >> 32;
    b ^= b >> 29;
    p += 16;
    n -= 16;
  }
  if (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    a = (a ^ w) * 0xff51afd7ed558ccdull;
    a ^= a >> 32;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  b = (b ^ w) * 0xc4ceb9fe1a85ec53ull;
  uint64_t h = (a ^ (b >> 31) ^ (b << 33)) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 29);
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

class SightingTable {
 public:
  explicit SightingTable(std::vector<std::string> strip_domains);
  void add(const LogRecord& rec) {
    const LogRecord* one = &rec;
    add_batch(&one, 1);
  }
  // The same as add() on each record in order; the table slots of the whole batch are
  // fetched from memory together (up to kBatch records).
  static constexpr size_t kBatch = 16;
  void add_batch(const LogRecord* const* recs, size_t n);
  // Folds a table that saw the lines right after this one's (same semantics as if this
  // table had seen them itself).
  void merge_from(const SightingTable& later);
  // As Aggregator::sightings(): sorted by (user, fingerprint), classified.
  std::vector<model::Sighting> sightings(const Classifier& classifier) const;
  size_t size() const { return entries_.size(); }

 private:
  static constexpr uint32_t kActiveSync = 0x80000000u;
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  // What every line touches, in one cache line: the key, the times, the count and (when it
  // is short, as IPv4 and most IPv6 addresses are) the client IP of the latest record.
  struct alignas(64) Hot {
    uint64_t key = kEmpty;  // user << 32 | client
    Time first_seen{}, last_seen{};
    int64_t count = 0;
    uint32_t entry = 0;     // entries_ index
    uint8_t ip_len = 0;     // kIpInEntry: the IP is entries_[entry].client_ip
    char ip[23] = {};
  };
  static constexpr uint8_t kIpInEntry = 255;
  // A raw user name (as written, up to 43 bytes) -> its ids, in one cache line.
  struct alignas(64) RawSlot {
    uint64_t hash = 0;
    uint32_t user_plus1 = 0;  // 0 = empty slot
    uint32_t raw = 0;         // raw_users_ id
    uint8_t len = 0;
    char text[43] = {};
  };
  // The rest of a sighting, touched once when it is created and at the end.
  struct Entry {
    uint64_t key;
    uint32_t raw_user;     // raw_users_ id of the first record's user (as written)
    uint32_t ua;           // uas_ id of the first record's User-Agent
    uint32_t device_type;  // device_types_ id of the first record's ActiveSync DeviceType
    std::string client_ip; // when longer than Hot::ip
  };
  uint32_t user_id(std::string_view raw_user, uint64_t hash, uint32_t& raw_id);
  void normalize(std::string_view raw_user, std::string& out) const;
  Hot& hot_slot(uint64_t key, bool& inserted);
  const Hot& hot_of(const Entry& e) const;
  static void set_ip(Hot& h, Entry& e, std::string_view ip);
  static std::string ip_of(const Hot& h, const Entry& e);
  void grow_hot();
  void grow_raw();

  std::vector<std::string> strip_domains_;
  Interner raw_users_, users_, uas_, device_ids_, device_types_;
  std::vector<uint32_t> raw_to_user_;  // raw_users_ id -> users_ id
  std::vector<RawSlot> raw_slots_;     // power of two, at most half full
  size_t raw_used_ = 0;
  std::vector<Hot> hot_;               // power of two, at most half full
  std::vector<Entry> entries_;
  std::string scratch_;
};

}  // namespace fw::detect
