// Private to detect/: the flat aggregation tables behind scan_logs(). Sightings are keyed by
// (normalized user id, client id) packed in 64 bits; user names, User-Agents and ActiveSync
// device ids are interned once (open addressing over a byte arena). A line that repeats a
// known (user as written, User-Agent or ActiveSync device id) pair costs one probe of a small
// pair table (keyed by a hash of both) and no allocation; a new pair goes through the
// interners and the key index. Same results as Aggregator.
// Not thread-safe: one SightingTable per thread, merged in input order with merge_from().
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "detect/detect.h"

namespace fw::detect {

// A fast non-cryptographic 64-bit hash of bytes (XXH3 from libxxhash, inlined). For table
// slots only; the fingerprints shown to users stay fnv1a64 (see fingerprint()).
inline uint64_t hash_bytes(std::string_view s) noexcept { return XXH3_64bits(s.data(), s.size()); }

// Allocator for the large probe tables: blocks of 1 MiB and more are 2 MiB aligned and
// asked to be backed by transparent huge pages (madvise), so that random probes over
// megabytes of slots do not also miss the TLB. Smaller blocks come from operator new.
template <class T>
struct TableAlloc {
  using value_type = T;
  TableAlloc() = default;
  template <class U>
  TableAlloc(const TableAlloc<U>&) noexcept {}
  T* allocate(size_t n);
  void deallocate(T* p, size_t n) noexcept;
  template <class U>
  bool operator==(const TableAlloc<U>&) const noexcept { return true; }
};
void* table_alloc(size_t bytes, size_t align);
void table_free(void* p, size_t bytes, size_t align) noexcept;
template <class T>
T* TableAlloc<T>::allocate(size_t n) {
  return static_cast<T*>(table_alloc(n * sizeof(T), alignof(T)));
}
template <class T>
void TableAlloc<T>::deallocate(T* p, size_t n) noexcept {
  table_free(p, n * sizeof(T), alignof(T));
}
template <class T>
using TableVector = std::vector<T, TableAlloc<T>>;

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
  // Where id's bytes start in arena() (valid until the next intern()).
  uint64_t offset(uint32_t id) const { return spans_[id].first; }
  const char* arena() const { return arena_.data(); }

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
  static constexpr size_t kBatch = 8;  // 16 outstanding misses stalled at the prefetches
  void add_batch(const LogRecord* const* recs, size_t n);
  // Folds a table that saw the lines right after this one's (same semantics as if this
  // table had seen them itself). by_unit: the two tables saw interleaved units of one file
  // instead (each in increasing unit order, see set_unit): the first record and the latest
  // one are then told apart by their unit numbers, with the same result as one table that
  // saw every unit in order.
  void merge_from(const SightingTable& other, bool by_unit = false);
  // The unit (a stretch of the file, numbered in file order) that the next records come
  // from; a table must see its units in increasing order. At most 65535.
  void set_unit(uint32_t unit) { unit_ = static_cast<uint16_t>(unit); }
  // As Aggregator::sightings(): sorted by (user, fingerprint), classified.
  std::vector<model::Sighting> sightings(const Classifier& classifier) const;
  size_t size() const { return entries_.size(); }

 private:
  static constexpr uint32_t kActiveSync = 0x80000000u;
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static constexpr uint32_t kNoEntry = ~uint32_t{0};
  // What every line touches, in a quarter of a cache line, indexed like entries_ (so that the
  // table of a large log stays in the L2 cache): the last time, the count and the client IP
  // of the latest record as written when it has up to kIpInline bytes (any IPv4 address;
  // longer ones live in the Entry). The first time is read only when a record is older than
  // the last one (logs are mostly in order).
  static constexpr size_t kIpInline = 16;
  static constexpr uint8_t kIpInEntry = 0xff;  // Hot::ip_len: the IP is Entry::client_ip
  struct alignas(32) Hot {
    Time last_seen{};
    uint32_t count = 0;     // low 32 bits (Entry::count_hi holds the rest)
    uint16_t last_unit = 0; // the unit of the record that set last_seen (and the IP)
    uint8_t ip_len = 0;     // bytes of ip, or kIpInEntry
    char ip[kIpInline] = {};
  };
  static_assert(sizeof(Hot) == 32);
  // The sighting key -> its entries_ index (open addressing; the authority on keys).
  struct KeySlot {
    uint64_t key = kEmpty;  // user << 32 | client
    uint32_t entry = 0;
  };
  // A (user as written, User-Agent) pair of a record without an ActiveSync device id, or a
  // (user as written, device id) pair of one with it -> its sighting, in a quarter of a cache
  // line: a cache in front of the interners and the key index, its bytes compared in the
  // raw_users_ arena and against uas_ or device_ids_. A pair whose user name is longer than
  // 255 bytes, or beyond the first 65,536 User-Agents (device ids) or 4 GiB of user names, is
  // simply not cached.
  struct PairSlot {
    uint32_t tag = 0;          // the high half of the pair's hash
    uint32_t entry_plus1 = 0;  // 0 = empty slot
    uint32_t user_off = 0;     // in the raw_users_ arena
    uint16_t client = 0;       // uas_ id, or device_ids_ id when by_device
    uint8_t user_len = 0;
    uint8_t by_device = 0;
  };
  static_assert(sizeof(PairSlot) == 16);
  // A direct-mapped cache in front of the pair table, indexed by quick_hash() (a few words
  // of the bytes, not all of them): a line whose pair sits in its slot (bytes compared as in
  // the pair table) skips the full hashes and the pair probe; any other line takes the pair
  // table. One probe and no chains, so bytes chosen to collide only cost that probe.
  static constexpr size_t kFront = 16384;
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
    Time first_seen;
    uint32_t count_hi = 0;  // Hot::count overflows
    std::string client_ip;  // when Hot::ip_len == kIpInEntry
    uint32_t first_unit = 0;  // the unit of the first record
  };
  uint32_t user_id(std::string_view raw_user, uint64_t hash, uint32_t& raw_id);
  void normalize(std::string_view raw_user, std::string& out) const;
  // The entries_ index of key; when new (inserted), the index of the entry that the caller
  // then appends to entries_ and hot_ at once.
  uint32_t entry_for(uint64_t key, bool& inserted);
  const PairSlot* find_pair(uint64_t hash, std::string_view user, std::string_view client, bool by_device) const;
  uint32_t find_front(uint64_t quick, std::string_view user, std::string_view client, bool by_device) const;
  void set_front(uint64_t quick, const PairSlot& p);
  bool same_pair(const PairSlot& p, std::string_view user, std::string_view client, bool by_device) const;
  // A copy of the pair's slot (for the front cache), or nullopt when such a pair is not cached.
  std::optional<PairSlot> add_pair(uint64_t hash, uint32_t entry, uint32_t raw, uint32_t client, bool by_device);
  static void set_ip(Hot& h, Entry& e, std::string_view ip);
  static std::string ip_of(const Hot& h, const Entry& e);
  static int64_t count_of(const Hot& h, const Entry& e) { return static_cast<int64_t>(uint64_t{e.count_hi} << 32 | h.count); }
  void add_count(uint32_t entry, uint64_t n);
  void grow_keys();
  void grow_pairs();
  void grow_raw();

  std::vector<std::string> strip_domains_;
  Interner raw_users_, users_, uas_, device_ids_, device_types_;
  std::vector<uint32_t> raw_to_user_;  // raw_users_ id -> users_ id
  TableVector<RawSlot> raw_slots_;     // power of two, at most 3/4 full
  size_t raw_used_ = 0;
  TableVector<KeySlot> keys_;          // power of two, at most 3/4 full
  TableVector<PairSlot> pairs_;        // power of two, at most 3/4 full
  size_t pairs_used_ = 0;
  TableVector<PairSlot> front_;        // kFront slots; tag = the high half of the quick hash
  TableVector<Hot> hot_;               // hot_[i] belongs to entries_[i]
  std::vector<Entry> entries_;
  std::string scratch_;
  uint16_t unit_ = 0;
};

}  // namespace fw::detect
