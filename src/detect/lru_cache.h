// Private to detect/: a sharded LRU cache from string keys to values, shared by all
// threads. Each of the 16 shards has its own mutex guarding its list and index, so
// concurrent lookups of different strings rarely contend. capacity 0 = always miss.
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fw::detect {

template <class V>
class LruCache {
 public:
  explicit LruCache(size_t capacity) : per_shard_(capacity == 0 ? 0 : (capacity + kShards - 1) / kShards) {}

  bool enabled() const { return per_shard_ != 0; }

  std::optional<V> get(std::string_view key) {
    if (per_shard_ == 0) return std::nullopt;
    Shard& s = shard(key);
    std::lock_guard lock(s.mu);
    auto it = s.index.find(key);
    if (it == s.index.end()) return std::nullopt;
    s.order.splice(s.order.begin(), s.order, it->second);
    return it->second->second;
  }

  void put(std::string_view key, const V& value) {
    if (per_shard_ == 0) return;
    Shard& s = shard(key);
    std::lock_guard lock(s.mu);
    if (auto it = s.index.find(key); it != s.index.end()) {
      it->second->second = value;
      s.order.splice(s.order.begin(), s.order, it->second);
      return;
    }
    s.order.emplace_front(std::string(key), value);
    s.index.emplace(std::string_view(s.order.front().first), s.order.begin());
    if (s.order.size() > per_shard_) {
      s.index.erase(std::string_view(s.order.back().first));
      s.order.pop_back();
    }
  }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    std::mutex mu;
    std::list<std::pair<std::string, V>> order;  // most recent first; guarded by mu
    std::unordered_map<std::string_view, typename std::list<std::pair<std::string, V>>::iterator> index;  // guarded by mu
  };
  Shard& shard(std::string_view key) { return shards_[std::hash<std::string_view>{}(key) % kShards]; }

  size_t per_shard_;
  Shard shards_[kShards];
};

}  // namespace fw::detect
