// The flat aggregation tables behind scan_logs() (see sighting_table.h). Not thread-safe:
// one SightingTable per thread.
#include "detect/sighting_table.h"

#include <algorithm>
#include <cstdio>
#include <tuple>
#include <unordered_map>

#include "util/strings.h"

namespace fw::detect {

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

// ---- IndexMap -----------------------------------------------------------------------------

namespace {
constexpr uint64_t kEmpty = ~uint64_t{0};
inline size_t mix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  return static_cast<size_t>(k);
}
}  // namespace

IndexMap::IndexMap() : keys_(64, kEmpty), values_(64) {}

uint32_t IndexMap::find_or_insert(uint64_t key, uint32_t value_if_new, bool& inserted) {
  size_t mask = keys_.size() - 1;
  for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
    if (keys_[i] == key) {
      inserted = false;
      return values_[i];
    }
    if (keys_[i] == kEmpty) {
      keys_[i] = key;
      values_[i] = value_if_new;
      inserted = true;
      if (++used_ * 2 > keys_.size()) grow();
      return value_if_new;
    }
  }
}

void IndexMap::grow() {
  std::vector<uint64_t> old_keys(keys_.size() * 2, kEmpty);
  std::vector<uint32_t> old_values(values_.size() * 2);
  old_keys.swap(keys_);
  old_values.swap(values_);
  size_t mask = keys_.size() - 1;
  for (size_t j = 0; j < old_keys.size(); ++j) {
    if (old_keys[j] == kEmpty) continue;
    size_t i = mix(old_keys[j]) & mask;
    while (keys_[i] != kEmpty) i = (i + 1) & mask;
    keys_[i] = old_keys[j];
    values_[i] = old_values[j];
  }
}

// ---- SightingTable ------------------------------------------------------------------------

SightingTable::SightingTable(std::vector<std::string> strip_domains) : strip_domains_(std::move(strip_domains)) {
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

uint32_t SightingTable::user_id(std::string_view raw_user) {
  uint32_t raw = raw_users_.intern(raw_user);
  if (raw < raw_to_user_.size()) return raw_to_user_[raw];
  normalize(raw_user, scratch_);
  uint32_t u = users_.intern(scratch_);
  raw_to_user_.push_back(u);
  return u;
}

void SightingTable::add(const LogRecord& rec) {
  std::string_view raw_user = trim(rec.user.empty() ? std::string_view(rec.activesync.user) : rec.user);
  uint32_t user = user_id(raw_user);
  uint32_t ua = uas_.intern(rec.user_agent);
  uint32_t client = rec.activesync.device_id.empty() ? ua : kActiveSync | device_ids_.intern(rec.activesync.device_id);
  bool inserted = false;
  uint32_t idx = index_.find_or_insert(uint64_t{user} << 32 | client, static_cast<uint32_t>(entries_.size()), inserted);
  if (inserted) {
    Entry e;
    e.raw_user = raw_users_.intern(raw_user);
    e.ua = ua;
    e.device_type = device_types_.intern(rec.activesync.device_type);
    e.client = client;
    e.user = user;
    e.first_seen = e.last_seen = rec.time;
    e.count = 1;
    e.client_ip.assign(rec.client_ip);
    entries_.push_back(std::move(e));
    return;
  }
  Entry& e = entries_[idx];
  if (rec.time < e.first_seen) e.first_seen = rec.time;
  if (rec.time > e.last_seen) {
    e.last_seen = rec.time;
    if (e.client_ip != rec.client_ip) e.client_ip.assign(rec.client_ip);
  }
  ++e.count;
}

void SightingTable::merge_from(const SightingTable& later) {
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
  for (const Entry& le : later.entries_) {
    uint32_t user = user_map[le.user];
    uint32_t client = (le.client & kActiveSync) ? kActiveSync | dev_map[le.client & ~kActiveSync] : ua_map[le.client];
    bool inserted = false;
    uint32_t idx = index_.find_or_insert(uint64_t{user} << 32 | client, static_cast<uint32_t>(entries_.size()), inserted);
    if (inserted) {
      Entry e = le;
      e.raw_user = raw_map[le.raw_user];
      e.ua = ua_map[le.ua];
      e.device_type = type_map[le.device_type];
      e.client = client;
      e.user = user;
      entries_.push_back(std::move(e));
      continue;
    }
    // This table's records came first: it keeps the first record's user, UA and DeviceType;
    // the client IP is the one of the first record at the latest time.
    Entry& e = entries_[idx];
    e.first_seen = std::min(e.first_seen, le.first_seen);
    if (le.last_seen > e.last_seen) {
      e.last_seen = le.last_seen;
      e.client_ip = le.client_ip;
    }
    e.count += le.count;
  }
}

std::vector<model::Sighting> SightingTable::sightings(const Classifier& classifier) const {
  // One classification per distinct (User-Agent, DeviceType): all the classifier looks at.
  std::unordered_map<uint64_t, Classification> memo;
  std::vector<model::Sighting> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) {
    model::Sighting s;
    std::string_view raw = raw_users_.get(e.raw_user);
    s.user = std::string(raw == "-" ? std::string_view() : raw);
    std::string_view ua = uas_.get(e.ua);
    if (e.client & kActiveSync) {
      s.activesync_id = std::string(device_ids_.get(e.client & ~kActiveSync));
      s.fingerprint = "as:" + s.activesync_id;
    } else {
      s.fingerprint = fingerprint(ua, {});
    }
    s.user_agent = std::string(ua);
    s.client_ip = e.client_ip;
    auto [it, fresh] = memo.try_emplace(uint64_t{e.ua} << 32 | e.device_type);
    if (fresh) {
      ActiveSyncHints h;
      h.device_type = std::string(device_types_.get(e.device_type));
      it->second = classifier.classify(ua, h);
    }
    const Classification& c = it->second;
    s.os_family = c.os_family;
    s.os_version = c.os_version;
    s.vendor = c.vendor;
    s.model = c.model;
    s.type = c.device_type();
    s.first_seen = e.first_seen;
    s.last_seen = e.last_seen;
    s.count = e.count;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const model::Sighting& a, const model::Sighting& b) {
    return std::tie(a.user, a.fingerprint) < std::tie(b.user, b.fingerprint);
  });
  return out;
}

}  // namespace fw::detect
