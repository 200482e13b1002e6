// The flat aggregation tables behind scan_logs() (see sighting_table.h). Not thread-safe:
// one SightingTable per thread.
#include "detect/sighting_table.h"

#include <sys/mman.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <new>
#include <system_error>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "util/strings.h"

namespace fw::detect {

// ---- TableAlloc ---------------------------------------------------------------------------

namespace {
constexpr size_t kHuge = size_t{2} << 20;
constexpr size_t kHugeFrom = size_t{1} << 20;
}  // namespace

void* table_alloc(size_t bytes, size_t align) {
  if (bytes < kHugeFrom) return ::operator new(bytes, std::align_val_t{align});
  size_t rounded = (bytes + kHuge - 1) & ~(kHuge - 1);
  void* p = std::aligned_alloc(kHuge, rounded);
  if (!p) throw std::bad_alloc();
  ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only: without huge pages it still works
  return p;
}

void table_free(void* p, size_t bytes, size_t align) noexcept {
  if (bytes < kHugeFrom) ::operator delete(p, std::align_val_t{align});
  else std::free(p);
}

// ---- Interner -----------------------------------------------------------------------------

Interner::Interner() : slots_(64) {}

uint32_t Interner::intern(std::string_view s, uint64_t h) {
  size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    Slot& sl = slots_[i];
    if (sl.id_plus1 == 0) {
      auto id = static_cast<uint32_t>(spans_.size());
      spans_.emplace_back(arena_.size(), static_cast<uint32_t>(s.size()));
      arena_.append(s);
      sl.hash = h;
      sl.id_plus1 = id + 1;
      if (spans_.size() * 2 > slots_.size()) grow();
      return id;
    }
    if (sl.hash == h && get(sl.id_plus1 - 1) == s) return sl.id_plus1 - 1;
  }
}

void Interner::grow() {
  std::vector<Slot> old(slots_.size() * 2);
  old.swap(slots_);
  size_t mask = slots_.size() - 1;
  for (const Slot& sl : old) {
    if (sl.id_plus1 == 0) continue;
    size_t i = sl.hash & mask;
    while (slots_[i].id_plus1 != 0) i = (i + 1) & mask;
    slots_[i] = sl;
  }
}

// ---- SightingTable ------------------------------------------------------------------------

namespace {
inline size_t mix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  return static_cast<size_t>(k);
}
}  // namespace

SightingTable::SightingTable(std::vector<std::string> strip_domains)
    : strip_domains_(std::move(strip_domains)), raw_slots_(1024), keys_(1024), pairs_(1024), front_(kFront) {
  device_types_.intern("");  // id 0 = no DeviceType
}

// The user part of the aggregation key, exactly as Aggregator::add builds it.
void SightingTable::normalize(std::string_view raw_user, std::string& out) const {
  out.clear();
  if (raw_user != "-") {
    std::string_view u = raw_user;
    if (auto bs = u.rfind('\\'); bs != std::string_view::npos) u = u.substr(bs + 1);
    out.append(u);
  }
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  if (auto at = out.rfind('@'); at != std::string::npos) {
    std::string_view domain = std::string_view(out).substr(at + 1);
    for (const auto& d : strip_domains_)
      if (d == "*" || iequals_ascii(d, domain)) {
        out.resize(at);
        break;
      }
  }
}

// Ids of a raw user name: the normalized user (returned) and the raw spelling (raw_id).
uint32_t SightingTable::user_id(std::string_view raw_user, uint64_t h, uint32_t& raw_id) {
  bool inline_ok = raw_user.size() <= sizeof(RawSlot::text);
  size_t mask = raw_slots_.size() - 1;
  size_t i = h & mask;
  if (inline_ok) {
    for (;; i = (i + 1) & mask) {
      const RawSlot& sl = raw_slots_[i];
      if (sl.user_plus1 == 0) break;
      if (sl.hash == h && sl.len == raw_user.size() && std::memcmp(sl.text, raw_user.data(), raw_user.size()) == 0) {
        raw_id = sl.raw;
        return sl.user_plus1 - 1;
      }
    }
  }
  raw_id = raw_users_.intern(raw_user, h);
  if (raw_id >= raw_to_user_.size()) {
    normalize(raw_user, scratch_);
    raw_to_user_.push_back(users_.intern(scratch_));
  }
  uint32_t user = raw_to_user_[raw_id];
  if (inline_ok) {  // i is the empty slot the probe ended on
    RawSlot& sl = raw_slots_[i];
    sl.hash = h;
    sl.user_plus1 = user + 1;
    sl.raw = raw_id;
    sl.len = static_cast<uint8_t>(raw_user.size());
    std::memcpy(sl.text, raw_user.data(), raw_user.size());
    if (++raw_used_ * 4 > raw_slots_.size() * 3) grow_raw();
  }
  return user;
}

void SightingTable::grow_raw() {
  TableVector<RawSlot> old(raw_slots_.size() * 2);
  old.swap(raw_slots_);
  size_t mask = raw_slots_.size() - 1;
  for (const RawSlot& sl : old) {
    if (sl.user_plus1 == 0) continue;
    size_t i = sl.hash & mask;
    while (raw_slots_[i].user_plus1 != 0) i = (i + 1) & mask;
    raw_slots_[i] = sl;
  }
}

uint32_t SightingTable::entry_for(uint64_t key, bool& inserted) {
  size_t mask = keys_.size() - 1;
  for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
    if (keys_[i].key == key) {
      inserted = false;
      return keys_[i].entry;
    }
    if (keys_[i].key == kEmpty) {
      inserted = true;
      auto e = static_cast<uint32_t>(entries_.size());
      keys_[i].key = key;
      keys_[i].entry = e;
      if ((entries_.size() + 1) * 4 > keys_.size() * 3) grow_keys();
      return e;
    }
  }
}

void SightingTable::grow_keys() {
  TableVector<KeySlot> old(keys_.size() * 2);
  old.swap(keys_);
  size_t mask = keys_.size() - 1;
  for (const KeySlot& k : old) {
    if (k.key == kEmpty) continue;
    size_t i = mix(k.key) & mask;
    while (keys_[i].key != kEmpty) i = (i + 1) & mask;
    keys_[i] = k;
  }
}

namespace {
// Whitespace as trim() (util/strings.h) sees it: only such a first or last byte needs the call.
inline bool edge_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
inline std::string_view trim_user(std::string_view s) {
  // Bytes above ' ' are never whitespace: one compare per end for almost every name.
  if (s.empty() || (static_cast<unsigned char>(s.front()) > ' ' && static_cast<unsigned char>(s.back()) > ' '))
    return s;
  return !edge_space(s.front()) && !edge_space(s.back()) ? s : trim(s);
}

// a == b over n bytes; short names (most user names) without a call.
inline bool same_bytes(const char* a, const char* b, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a, 8);
    std::memcpy(&b0, b, 8);
    std::memcpy(&a1, a + n - 8, 8);
    std::memcpy(&b1, b + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
#if defined(__SSE2__)
  if (n > 16 && n <= 32) {  // "login@example.org"-like names: two overlapping 16-byte compares
    auto ld = [](const char* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); };
    __m128i x = _mm_or_si128(_mm_xor_si128(ld(a), ld(b)), _mm_xor_si128(ld(a + n - 16), ld(b + n - 16)));
    return _mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_setzero_si128())) == 0xffff;
  }
#endif
  return std::memcmp(a, b, n) == 0;
}

// The pair's hash from the hashes of its user name and of its User-Agent or device id.
inline uint64_t pair_hash(uint64_t user_hash, uint64_t client_hash, bool by_device) {
  return user_hash ^ (client_hash * (by_device ? 0xc2b2ae3d27d4eb4full : 0x9e3779b97f4a7c15ull));
}

inline uint64_t load8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
// The 128-bit product of a and b folded to 64 bits (one multiply).
__extension__ typedef unsigned __int128 u128;
inline uint64_t fold_mul(uint64_t a, uint64_t b) {
  u128 m = static_cast<u128>(a) * b;
  return static_cast<uint64_t>(m) ^ static_cast<uint64_t>(m >> 64);
}
// Two words of s (its first and last 8 bytes, overlapping when shorter; the bytes and the
// length when under 8) and, when it has 32 bytes or more (a User-Agent), two more from its
// middle folded in: for the front cache's index only.
struct Words {
  uint64_t a, b;
};
inline Words quick_words(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  if (n >= 8) {
    uint64_t a = load8(p), b = load8(p + n - 8);
    if (n >= 32) {
      a ^= load8(p + n / 2 - 4) << 1;
      b ^= load8(p + n / 4) >> 1;
    }
    return {a, b ^ n};
  }
  if (n >= 4) {
    uint32_t x, y;
    std::memcpy(&x, p, 4);
    std::memcpy(&y, p + n - 4, 4);
    return {x, uint64_t{y} << 8 ^ n};
  }
  return {n ? static_cast<unsigned char>(p[0]) | uint64_t{static_cast<unsigned char>(p[n / 2])} << 8 |
                  uint64_t{static_cast<unsigned char>(p[n - 1])} << 16
            : 0,
          n};
}
// The front cache's hash of a pair (see SightingTable::kFront): two multiplies.
inline uint64_t quick_hash(std::string_view user, std::string_view client, bool by_device) {
  Words u = quick_words(user), c = quick_words(client);
  uint64_t h1 = fold_mul(u.a ^ 0xa0761d6478bd642full, u.b ^ 0xe7037ed1a0b428dbull ^ (by_device ? 0x8ebc6af09c88c6e3ull : 0));
  return fold_mul(c.a ^ h1, c.b ^ 0x589965cc75374cc3ull);
}
}  // namespace

// The bytes of p's pair are user's and client's (by_device: client is a device id).
inline __attribute__((always_inline)) bool SightingTable::same_pair(const PairSlot& p, std::string_view user,
                                                                    std::string_view client, bool by_device) const {
  return p.user_len == user.size() && p.by_device == by_device &&
         same_bytes(raw_users_.arena() + p.user_off, user.data(), user.size()) &&
         (by_device ? device_ids_ : uas_).get(p.client) == client;
}

// Inlined into add_batch, its only caller (the call was ~18 instructions a line).
inline __attribute__((always_inline)) const SightingTable::PairSlot* SightingTable::find_pair(
    uint64_t hash, std::string_view user, std::string_view client, bool by_device) const {
  size_t mask = pairs_.size() - 1;
  auto tag = static_cast<uint32_t>(hash >> 32);
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const PairSlot& p = pairs_[i];
    if (p.entry_plus1 == 0) return nullptr;
    if (p.tag == tag && same_pair(p, user, client, by_device)) return &p;
  }
}

inline __attribute__((always_inline)) uint32_t SightingTable::find_front(uint64_t quick, std::string_view user,
                                                                         std::string_view client,
                                                                         bool by_device) const {
  const PairSlot& p = front_[quick & (kFront - 1)];
  if (p.entry_plus1 != 0 && p.tag == static_cast<uint32_t>(quick >> 32) && same_pair(p, user, client, by_device))
    return p.entry_plus1 - 1;
  return kNoEntry;
}

inline void SightingTable::set_front(uint64_t quick, const PairSlot& p) {
  PairSlot& f = front_[quick & (kFront - 1)];
  f = p;
  f.tag = static_cast<uint32_t>(quick >> 32);
}

std::optional<SightingTable::PairSlot> SightingTable::add_pair(uint64_t hash, uint32_t entry, uint32_t raw,
                                                               uint32_t client, bool by_device) {
  size_t user_len = raw_users_.get(raw).size();
  uint64_t user_off = raw_users_.offset(raw);
  if (user_len > 0xff || client > 0xffff || user_off > 0xffffffffu) return std::nullopt;  // not cached: such records take the interners
  size_t mask = pairs_.size() - 1;
  auto tag = static_cast<uint32_t>(hash >> 32);
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    PairSlot& p = pairs_[i];
    if (p.entry_plus1 == 0) {
      p.tag = tag;
      p.entry_plus1 = entry + 1;
      p.user_off = static_cast<uint32_t>(user_off);
      p.client = static_cast<uint16_t>(client);
      p.user_len = static_cast<uint8_t>(user_len);
      p.by_device = by_device;
      PairSlot added = p;  // grow_pairs() below moves p
      if (++pairs_used_ * 4 > pairs_.size() * 3) grow_pairs();
      return added;
    }
    if (p.user_off == user_off && p.client == client && p.user_len == user_len && p.by_device == by_device)
      return p;  // already there (the pair came twice in one batch)
  }
}

void SightingTable::grow_pairs() {
  TableVector<PairSlot> old(pairs_.size() * 2);
  old.swap(pairs_);
  size_t mask = pairs_.size() - 1;
  for (const PairSlot& p : old) {
    if (p.entry_plus1 == 0) continue;
    // Only the high half of the hash is kept: the pair is hashed again from its bytes.
    std::string_view user(raw_users_.arena() + p.user_off, p.user_len);
    std::string_view client = (p.by_device ? device_ids_ : uas_).get(p.client);
    size_t i = pair_hash(hash_bytes(user), hash_bytes(client), p.by_device) & mask;
    while (pairs_[i].entry_plus1 != 0) i = (i + 1) & mask;
    pairs_[i] = p;
  }
}

inline __attribute__((always_inline)) void SightingTable::set_ip(Hot& h, Entry& e, std::string_view ip) {
  const char* s = ip.data();
  size_t n = ip.size();
  if (n <= kIpInline) {
    // Two overlapping loads and stores of 8 or 4 bytes instead of a memcpy call (almost every
    // line sets the IP); the bytes of h.ip past n do not matter.
    if (n >= 8) {
      std::memcpy(h.ip, s, 8);
      std::memcpy(h.ip + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
      std::memcpy(h.ip, s, 4);
      std::memcpy(h.ip + n - 4, s + n - 4, 4);
    } else {
      for (size_t i = 0; i < n; ++i) h.ip[i] = s[i];
    }
    h.ip_len = static_cast<uint8_t>(n);
  } else {
    h.ip_len = kIpInEntry;
    e.client_ip.assign(ip);
  }
}

std::string SightingTable::ip_of(const Hot& h, const Entry& e) {
  return h.ip_len == kIpInEntry ? e.client_ip : std::string(h.ip, h.ip_len);
}

void SightingTable::add_count(uint32_t entry, uint64_t n) {
  Hot& h = hot_[entry];
  uint64_t sum = uint64_t{h.count} + n;
  h.count = static_cast<uint32_t>(sum);
  if (sum >> 32) entries_[entry].count_hi += static_cast<uint32_t>(sum >> 32);
}

void SightingTable::add_batch(const LogRecord* const* recs, size_t n) {
  // Three passes so that the memory loads of one record overlap those of the others: hash
  // each record's pair (user name and User-Agent, or user name and ActiveSync device id) and
  // prefetch its slot; resolve the pairs (or, for a new pair, the user and client ids) and
  // prefetch the sightings; then update the sightings in order.
  // A record whose pair is in its front cache slot has its sighting after the first pass.
  // (Views as pointer and length: an array of string_views would be zeroed on every batch.)
  const char* user_p[kBatch];
  const char* cl_p[kBatch];
  size_t user_n[kBatch], cl_n[kBatch];
  auto users = [&](size_t i) { return std::string_view(user_p[i], user_n[i]); };
  auto cls = [&](size_t i) { return std::string_view(cl_p[i], cl_n[i]); };
  uint64_t quicks[kBatch], hashes[kBatch], pair_hashes[kBatch], keys[kBatch];
  uint32_t entries[kBatch], raws[kBatch], uas[kBatch], clients[kBatch];
  bool by_device[kBatch];  // an ActiveSync device id names the client
  bool front_hit[kBatch];
  if (n > kBatch) n = kBatch;
  for (size_t i = 0; i < n; ++i) {
    const LogRecord& rec = *recs[i];
    std::string_view u = trim_user(rec.user.empty() ? std::string_view(rec.activesync.user) : rec.user);
    user_p[i] = u.data();
    user_n[i] = u.size();
    by_device[i] = !rec.activesync.device_id.empty();
    std::string_view c = by_device[i] ? std::string_view(rec.activesync.device_id) : rec.user_agent;
    cl_p[i] = c.data();
    cl_n[i] = c.size();
    quicks[i] = quick_hash(users(i), cls(i), by_device[i]);
    entries[i] = find_front(quicks[i], users(i), cls(i), by_device[i]);
    front_hit[i] = entries[i] != kNoEntry;
    if (front_hit[i]) {
      __builtin_prefetch(&hot_[entries[i]]);
      continue;
    }
    hashes[i] = hash_bytes(users(i));
    pair_hashes[i] = pair_hash(hashes[i], hash_bytes(cls(i)), by_device[i]);
    __builtin_prefetch(&pairs_[pair_hashes[i] & (pairs_.size() - 1)]);
  }
  for (size_t i = 0; i < n; ++i) {
    if (front_hit[i]) continue;
    const LogRecord& rec = *recs[i];
    if (const PairSlot* p = find_pair(pair_hashes[i], users(i), cls(i), by_device[i])) {
      entries[i] = p->entry_plus1 - 1;
      set_front(quicks[i], *p);
      __builtin_prefetch(&hot_[entries[i]]);
      continue;
    }
    entries[i] = kNoEntry;
    uint32_t user = user_id(users(i), hashes[i], raws[i]);
    uas[i] = uas_.intern(rec.user_agent);
    clients[i] = by_device[i] ? device_ids_.intern(rec.activesync.device_id) : uas[i];
    keys[i] = uint64_t{user} << 32 | (by_device[i] ? kActiveSync | clients[i] : clients[i]);
    __builtin_prefetch(&keys_[mix(keys[i]) & (keys_.size() - 1)]);
  }
  for (size_t i = 0; i < n; ++i) {
    const LogRecord& rec = *recs[i];
    uint32_t ei = entries[i];
    if (ei == kNoEntry) {
      bool inserted = false;
      ei = entry_for(keys[i], inserted);
      if (auto p = add_pair(pair_hashes[i], ei, raws[i], clients[i], by_device[i])) set_front(quicks[i], *p);
      if (inserted) {
        Hot& h = hot_.emplace_back();
        h.last_seen = rec.time;
        h.last_unit = unit_;
        h.count = 1;
        Entry& e = entries_.emplace_back(
            Entry{keys[i], raws[i], uas[i], device_types_.intern(rec.activesync.device_type), rec.time, 0, {}, unit_});
        set_ip(h, e, rec.client_ip);
        continue;
      }
    }
    Hot& h = hot_[ei];
    if (rec.time > h.last_seen) {
      h.last_seen = rec.time;
      h.last_unit = unit_;
      set_ip(h, entries_[ei], rec.client_ip);
    } else if (rec.time < h.last_seen) {  // older than the last: maybe older than the first
      Entry& e = entries_[ei];
      if (rec.time < e.first_seen) e.first_seen = rec.time;
    }
    if (++h.count == 0) ++entries_[ei].count_hi;
  }
}

void SightingTable::merge_from(const SightingTable& later, bool by_unit) {
  // Ids of `later` -> ids of this table, computed once per distinct string.
  std::vector<uint32_t> user_map(later.users_.size()), ua_map(later.uas_.size()),
      dev_map(later.device_ids_.size()), raw_map(later.raw_users_.size()), type_map(later.device_types_.size());
  for (uint32_t i = 0; i < later.users_.size(); ++i) user_map[i] = users_.intern(later.users_.get(i));
  for (uint32_t i = 0; i < later.uas_.size(); ++i) ua_map[i] = uas_.intern(later.uas_.get(i));
  for (uint32_t i = 0; i < later.device_ids_.size(); ++i) dev_map[i] = device_ids_.intern(later.device_ids_.get(i));
  for (uint32_t i = 0; i < later.device_types_.size(); ++i) type_map[i] = device_types_.intern(later.device_types_.get(i));
  for (uint32_t i = 0; i < later.raw_users_.size(); ++i) {
    raw_map[i] = raw_users_.intern(later.raw_users_.get(i));
    if (raw_map[i] >= raw_to_user_.size()) raw_to_user_.push_back(user_map[later.raw_to_user_[i]]);
  }
  for (size_t li = 0; li < later.entries_.size(); ++li) {
    const Entry& le = later.entries_[li];
    const Hot& lh = later.hot_[li];
    auto luser = static_cast<uint32_t>(le.key >> 32), lclient = static_cast<uint32_t>(le.key);
    uint32_t client = (lclient & kActiveSync) ? kActiveSync | dev_map[lclient & ~kActiveSync] : ua_map[lclient];
    uint64_t key = uint64_t{user_map[luser]} << 32 | client;
    bool inserted = false;
    uint32_t ei = entry_for(key, inserted);
    if (inserted) {
      Hot& h = hot_.emplace_back();
      h.last_seen = lh.last_seen;
      h.last_unit = lh.last_unit;
      h.count = 0;
      Entry& e = entries_.emplace_back(Entry{key, raw_map[le.raw_user], ua_map[le.ua], type_map[le.device_type],
                                             le.first_seen, 0, {}, le.first_unit});
      set_ip(h, e, ip_of(lh, le));
      add_count(ei, static_cast<uint64_t>(count_of(lh, le)));
      continue;
    }
    Hot& h = hot_[ei];
    // The first record keeps its user spelling, UA and DeviceType (this table's, unless the
    // other saw an earlier unit); the client IP is the one of the first record at the latest
    // time (on a tie, the earlier unit's).
    Entry& e = entries_[ei];
    e.first_seen = std::min(e.first_seen, le.first_seen);
    if (by_unit && le.first_unit < e.first_unit) {
      e.raw_user = raw_map[le.raw_user];
      e.ua = ua_map[le.ua];
      e.device_type = type_map[le.device_type];
      e.first_unit = le.first_unit;
    }
    if (lh.last_seen > h.last_seen || (by_unit && lh.last_seen == h.last_seen && lh.last_unit < h.last_unit)) {
      h.last_seen = lh.last_seen;
      h.last_unit = lh.last_unit;
      set_ip(h, e, ip_of(lh, le));
    }
    add_count(ei, static_cast<uint64_t>(count_of(lh, le)));
  }
}

namespace {
// a() on a new thread beside b() on this one; when no thread can be started, `whole` here.
template <class A, class B, class W>
void on_two_threads(A&& a, B&& b, W&& whole) {
  std::thread other;
  try {
    other = std::thread(std::forward<A>(a));
  } catch (const std::system_error&) {
    whole();
    return;
  }
  struct Join {
    std::thread& t;
    ~Join() { t.join(); }  // also when b() throws
  } join{other};
  b();
}
}  // namespace

std::vector<model::Sighting> SightingTable::sightings(const Classifier& classifier) const {
  // The order first, on views (user as shown, fingerprint; ties, which only a fingerprint
  // collision makes, by entry), then the sightings built in place in that order: sorting
  // the finished sightings moved 11 strings per swap. A fingerprint is made once per
  // User-Agent or device id, a classification once per (User-Agent, DeviceType): all the
  // classifier looks at. The classifications and the filling of a large table are shared
  // with a second thread (Classifier::classify is thread-safe).
  const size_t n = entries_.size();
  std::vector<std::string> ua_fp(uas_.size()), dev_fp(device_ids_.size());
  std::vector<std::string_view> users(n), fps(n);
  for (size_t i = 0; i < n; ++i) {
    const Entry& e = entries_[i];
    auto client = static_cast<uint32_t>(e.key);
    std::string_view raw = raw_users_.get(e.raw_user);
    users[i] = raw == "-" ? std::string_view() : raw;
    std::string& fp = (client & kActiveSync) ? dev_fp[client & ~kActiveSync] : ua_fp[e.ua];
    if (fp.empty())
      fp = (client & kActiveSync) ? fingerprint({}, device_ids_.get(client & ~kActiveSync)) : fingerprint(uas_.get(e.ua), {});
    fps[i] = fp;
  }
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (int c = users[a].compare(users[b])) return c < 0;
    if (int c = fps[a].compare(fps[b])) return c < 0;
    return a < b;
  });
  // The distinct (User-Agent, DeviceType) pairs, classified on two threads when there are
  // many (a rule's RE2 is compiled on its first use: tens of milliseconds for a large log).
  std::unordered_map<uint64_t, uint32_t> memo;
  std::vector<uint32_t> cls_of(n);
  std::vector<uint64_t> distinct;
  for (size_t i = 0; i < n; ++i) {
    const Entry& e = entries_[i];
    auto [it, fresh] = memo.try_emplace(uint64_t{e.ua} << 32 | e.device_type, static_cast<uint32_t>(distinct.size()));
    if (fresh) distinct.push_back(it->first);
    cls_of[i] = it->second;
  }
  std::vector<Classification> cls(distinct.size());
  auto classify = [&](size_t first, size_t step) {
    for (size_t j = first; j < distinct.size(); j += step) {
      ActiveSyncHints h;
      h.device_type = std::string(device_types_.get(static_cast<uint32_t>(distinct[j])));
      cls[j] = classifier.classify(uas_.get(static_cast<uint32_t>(distinct[j] >> 32)), h);
    }
  };
  if (distinct.size() >= 8) on_two_threads([&] { classify(1, 2); }, [&] { classify(0, 2); }, [&] { classify(0, 1); });
  else classify(0, 1);
  std::vector<model::Sighting> out(n);
  auto fill = [&](size_t from, size_t to) {
    for (size_t k = from; k < to; ++k) {
      uint32_t i = order[k];
      const Entry& e = entries_[i];
      const Hot& h = hot_[i];
      const Classification& c = cls[cls_of[i]];
      model::Sighting& s = out[k];
      auto client = static_cast<uint32_t>(e.key);
      s.user = std::string(users[i]);
      if (client & kActiveSync) s.activesync_id = std::string(device_ids_.get(client & ~kActiveSync));
      s.fingerprint = std::string(fps[i]);
      s.user_agent = std::string(uas_.get(e.ua));
      s.client_ip = ip_of(h, e);
      s.os_family = c.os_family;
      s.os_version = c.os_version;
      s.vendor = c.vendor;
      s.model = c.model;
      s.type = c.device_type();
      s.first_seen = e.first_seen;
      s.last_seen = h.last_seen;
      s.count = count_of(h, e);
    }
  };
  if (n >= 8192) on_two_threads([&] { fill(n / 2, n); }, [&] { fill(0, n / 2); }, [&] { fill(0, n); });
  else fill(0, n);
  return out;
}

}  // namespace fw::detect
