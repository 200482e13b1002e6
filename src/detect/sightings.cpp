// Attribution helpers and the Aggregator that folds log records into sightings per
// (normalized user, client fingerprint). Pure; an Aggregator is used by one thread.
#include <algorithm>
#include <cstdio>
#include <tuple>

#include "detect/detect.h"
#include "util/strings.h"

namespace fw::detect {

std::string normalize_user(std::string_view user, const std::vector<std::string>& strip_domains) {
  user = trim(user);
  if (user.empty() || user == "-") return {};
  if (auto bs = user.rfind('\\'); bs != std::string_view::npos) user = user.substr(bs + 1);
  else if (auto fs = user.find("%5C"); fs != std::string_view::npos) user = user.substr(fs + 3);
  std::string u = to_lower_ascii(user);
  if (auto at = u.rfind('@'); at != std::string::npos) {
    std::string_view domain = std::string_view(u).substr(at + 1);
    for (const auto& d : strip_domains)
      if (d == "*" || iequals_ascii(d, domain)) return u.substr(0, at);
  }
  return u;
}

std::string fingerprint(std::string_view user_agent, std::string_view activesync_id) {
  if (!activesync_id.empty()) return "as:" + std::string(activesync_id);
  char buf[24];
  std::snprintf(buf, sizeof buf, "ua:%016llx", static_cast<unsigned long long>(fnv1a64(user_agent)));
  return buf;
}

Aggregator::Aggregator(std::shared_ptr<const Classifier> classifier, std::vector<std::string> strip_domains)
    : classifier_(std::move(classifier)), strip_domains_(std::move(strip_domains)) {}

void Aggregator::add(const LogRecord& rec) {
  std::string_view raw_user = rec.user.empty() ? std::string_view(rec.activesync.user) : rec.user;
  // Fast path: the key is built in a reused buffer; a hit allocates nothing.
  key_.clear();
  raw_user = trim(raw_user);
  if (raw_user != "-") {
    std::string_view u = raw_user;
    if (auto bs = u.rfind('\\'); bs != std::string_view::npos) u = u.substr(bs + 1);
    key_.append(u);
  }
  for (auto& ch : key_)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  if (auto at = key_.rfind('@'); at != std::string::npos) {
    std::string_view domain = std::string_view(key_).substr(at + 1);
    for (const auto& d : strip_domains_)
      if (d == "*" || iequals_ascii(d, domain)) {
        key_.resize(at);
        break;
      }
  }
  size_t user_len = key_.size();
  key_.push_back('\x1f');
  if (!rec.activesync.device_id.empty()) {
    key_.append("as:");
    key_.append(rec.activesync.device_id);
  } else {
    char buf[24];
    std::snprintf(buf, sizeof buf, "ua:%016llx", static_cast<unsigned long long>(fnv1a64(rec.user_agent)));
    key_.append(buf);
  }
  auto it = map_.find(key_);
  if (it == map_.end()) {
    model::Sighting s;
    s.user = std::string(raw_user == "-" ? std::string_view() : raw_user);
    s.fingerprint = key_.substr(user_len + 1);
    s.user_agent = std::string(rec.user_agent);
    s.activesync_id = rec.activesync.device_id;
    s.client_ip = std::string(rec.client_ip);
    auto c = classifier_->classify(rec.user_agent, rec.activesync);
    s.os_family = c.os_family;
    s.os_version = c.os_version;
    s.vendor = c.vendor;
    s.model = c.model;
    s.type = c.device_type();
    s.first_seen = s.last_seen = rec.time;
    s.count = 1;
    map_.emplace(key_, std::move(s));
    return;
  }
  model::Sighting& s = it->second;
  if (rec.time < s.first_seen) s.first_seen = rec.time;
  if (rec.time > s.last_seen) {
    s.last_seen = rec.time;
    if (s.client_ip != rec.client_ip) s.client_ip.assign(rec.client_ip);
  }
  ++s.count;
}

std::vector<model::Sighting> Aggregator::sightings() const {
  std::vector<model::Sighting> out;
  out.reserve(map_.size());
  for (const auto& [k, s] : map_) out.push_back(s);
  std::sort(out.begin(), out.end(), [](const model::Sighting& a, const model::Sighting& b) {
    return std::tie(a.user, a.fingerprint) < std::tie(b.user, b.fingerprint);
  });
  return out;
}

}  // namespace fw::detect
