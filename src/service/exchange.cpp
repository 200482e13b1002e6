// Exchange mobile-device import: the Export-Csv parser, the reading of one row, and the
// import transaction that stores the mapping and resolves devices. See exchange.h.
#include "service/exchange.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "service/inventory.h"
#include "service/sightings.h"
#include "util/strings.h"

namespace fw::service {

namespace {


// One CSV record: its fields, the line it starts on, and the first field that was too long.
struct Record {
  size_t line = 0;
  std::vector<std::string> fields;
  size_t too_long = SIZE_MAX;      // index of the first field over kMaxExchangeField
  size_t after_quote = SIZE_MAX;   // index of the first field with text after its closing quote
};

// RFC 4180 reader over the whole text. next() fails only on an unterminated quote.
class CsvReader {
 public:
  CsvReader(std::string_view text, std::string_view file) : t_(text), file_(file) {}
  bool done() const { return pos_ >= t_.size(); }
  size_t line() const { return line_; }

  Result<Record> next() {
    Record r;
    r.line = line_;
    r.fields.emplace_back();
    bool in_quotes = false, closed = false;
    size_t quote_line = line_;
    auto put = [&](char c) {
      auto& f = r.fields.back();
      if (f.size() < kMaxExchangeField) f.push_back(c);
      else if (r.too_long == SIZE_MAX) r.too_long = r.fields.size() - 1;
    };
    while (pos_ < t_.size()) {
      char c = t_[pos_];
      if (in_quotes) {
        if (c == '"') {
          if (pos_ + 1 < t_.size() && t_[pos_ + 1] == '"') {
            put('"');
            pos_ += 2;
            continue;
          }
          in_quotes = false;
          closed = true;
          ++pos_;
          continue;
        }
        if (c == '\n') ++line_;
        put(c);
        ++pos_;
        continue;
      }
      if (c == ',') {
        if (r.fields.size() >= 1024) {  // bounded: a record of thousands of empty fields is junk
          if (r.too_long == SIZE_MAX) r.too_long = r.fields.size() - 1;
        } else {
          r.fields.emplace_back();
        }
        closed = false;
        ++pos_;
        continue;
      }
      if (c == '\n' || (c == '\r' && pos_ + 1 < t_.size() && t_[pos_ + 1] == '\n')) {
        pos_ += c == '\r' ? 2 : 1;
        ++line_;
        return r;
      }
      if (c == '"' && r.fields.back().empty() && !closed) {
        in_quotes = true;
        quote_line = line_;
        ++pos_;
        continue;
      }
      if (closed && r.after_quote == SIZE_MAX) r.after_quote = r.fields.size() - 1;
      put(c);
      ++pos_;
    }
    if (in_quotes)
      return fail(Errc::parse_error, "quoted field opened here is never closed",
                  fmt::format("{}:{}", file_, quote_line));
    return r;
  }

 private:
  std::string_view t_, file_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

// The fields an import may change (model::Device has no operator==).
bool same_fields(const model::Device& a, const model::Device& b) {
  return a.os_family == b.os_family && a.os_version == b.os_version && a.vendor == b.vendor && a.model == b.model &&
         a.type == b.type && a.may_be == b.may_be && a.owner_id == b.owner_id;
}

bool blank(const Record& r) { return r.fields.size() == 1 && r.fields[0].empty(); }

bool valid_device_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxExchangeDeviceId) return false;
  for (unsigned char c : id)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

// The family and version in Exchange's DeviceOS text ("iOS 16.3.1 20D67", "Android 13.0.0",
// "iPadOS 16.3", "HarmonyOS 3.0.0", "Windows 10.0.19045").
void read_device_os(std::string_view os, std::string& family, std::string& version) {
  os = trim(os);
  std::string lower = to_lower_ascii(os);
  static const std::pair<std::string_view, std::string_view> kFamilies[] = {
      {"ipados", "iPadOS"},      {"ios", "iOS"},          {"iphone os", "iOS"},         {"android", "Android"},
      {"openharmony", "HarmonyOS"}, {"harmonyos", "HarmonyOS"}, {"aurora", "Aurora OS"}, {"sailfish", "Sailfish OS"},
      {"kaios", "KaiOS"},        {"windows", "Windows"},  {"mac os", "macOS"},          {"macos", "macOS"},
      {"chrome os", "ChromeOS"}, {"chromeos", "ChromeOS"}, {"linux", "Linux"}};
  for (const auto& [prefix, name] : kFamilies)
    if (lower.starts_with(prefix) &&
        (lower.size() == prefix.size() || !std::isalpha(static_cast<unsigned char>(lower[prefix.size()])))) {
      family = std::string(name);
      break;
    }
  if (family.empty()) return;
  // The first token that starts with a digit: its leading [0-9.] part.
  size_t i = 0;
  while (i < os.size()) {
    while (i < os.size() && os[i] == ' ') ++i;
    size_t j = i;
    while (j < os.size() && os[j] != ' ') ++j;
    std::string_view tok = os.substr(i, j - i);
    if (!tok.empty() && std::isdigit(static_cast<unsigned char>(tok[0]))) {
      size_t k = 0;
      while (k < tok.size() && (std::isdigit(static_cast<unsigned char>(tok[k])) || tok[k] == '.')) ++k;
      std::string v(tok.substr(0, k));
      while (!v.empty() && v.back() == '.') v.pop_back();
      version = v;
      return;
    }
    i = j;
  }
}

int major_of(std::string_view v) {
  int m = 0;
  size_t i = 0;
  for (; i < v.size() && std::isdigit(static_cast<unsigned char>(v[i])) && m < 1000; ++i) m = m * 10 + (v[i] - '0');
  return i == 0 ? -1 : m;
}

// Finds the person behind an exported user: login or e-mail (after strip_domains), then an
// exact display name held by exactly one person. "" when none matches.
Result<std::string> match_person(store::Tx& tx, std::string_view user, const std::vector<std::string>& strip) {
  std::string login = detect::normalize_user(user, strip);
  if (login.empty()) return std::string();
  auto p = tx.find_person(login);
  if (!p && p.error().code == Errc::not_found && user.find('@') != std::string_view::npos)
    p = tx.find_person(to_lower_ascii(trim(user)));
  if (p) return p->id;
  if (p.error().code != Errc::not_found) return fail(p.error());
  std::string_view name = trim(user);
  if (name.find('@') != std::string_view::npos || name.find('\\') != std::string_view::npos) return std::string();
  store::PersonFilter f;
  f.search = std::string(name);
  store::PageRequest page;
  page.limit = 50;
  FW_TRY(auto people, tx.list_people(f, page));
  std::string found;
  int n = 0;
  for (const auto& q : people.items)
    if (iequals_ascii(trim(q.name), name) || q.name == name) {
      found = q.id;
      ++n;
    }
  return n == 1 ? found : std::string();
}

}  // namespace

std::string ExchangeCsvError::to_string(std::string_view file) const {
  return fmt::format("{}:{}: {}: {}", file, line, field, reason);
}

std::string exchange_identity_user(std::string_view identity) {
  std::string_view s = trim(identity);
  for (std::string_view marker : {"/ExchangeActiveSyncDevices", "\\ExchangeActiveSyncDevices"}) {
    if (auto p = s.find(marker); p != std::string_view::npos) {
      s = s.substr(0, p);
      break;
    }
  }
  if (auto p = s.find_last_of("/\\"); p != std::string_view::npos) s = s.substr(p + 1);
  return std::string(trim(s));
}

Result<ExchangeCsv> parse_exchange_csv(std::string_view text, std::string_view file) {
  if (text.size() > kMaxExchangeCsvBytes)
    return fail(Errc::parse_error, fmt::format("larger than {} bytes", kMaxExchangeCsvBytes), std::string(file));
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  CsvReader rd(text, file);
  auto where = [&](size_t line) { return fmt::format("{}:{}", file, line); };

  // Header: skip blank lines and a "#TYPE ..." line (PowerShell 5's Export-Csv).
  Record header;
  for (;;) {
    if (rd.done()) return fail(Errc::parse_error, "no header line (expected DeviceId,DeviceOS,...)", where(rd.line()));
    auto r = rd.next();
    if (!r) return fail(r.error());
    if (blank(*r)) continue;
    if (!r->fields.empty() && r->fields[0].starts_with("#")) continue;
    header = std::move(*r);
    break;
  }
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < header.fields.size(); ++i) col.emplace(to_lower_ascii(trim(header.fields[i])), i);
  auto idx = [&](std::string_view name) -> size_t {
    auto it = col.find(std::string(name));
    return it == col.end() ? SIZE_MAX : it->second;
  };
  size_t c_id = idx("deviceid");
  if (c_id == SIZE_MAX)
    return fail(Errc::parse_error, "header: no DeviceId column (is this Get-MobileDevice | Export-Csv output?)",
                where(header.line));
  size_t c_os = idx("deviceos"), c_model = idx("devicemodel"), c_type = idx("devicetype"),
         c_ua = idx("deviceuseragent");
  std::vector<size_t> c_users;  // in order of preference
  for (auto n : {"user", "userprincipalname", "primarysmtpaddress", "windowsemailaddress"})
    if (size_t i = idx(n); i != SIZE_MAX) c_users.push_back(i);
  size_t c_display = idx("userdisplayname"), c_identity = idx("identity");

  ExchangeCsv out;
  while (!rd.done()) {
    auto r = rd.next();
    if (!r) return fail(r.error());
    if (blank(*r)) continue;
    auto bad = [&](std::string field, std::string reason) {
      out.errors.push_back(ExchangeCsvError{r->line, std::move(field), std::move(reason)});
    };
    if (r->fields.size() != header.fields.size()) {
      bad("record", fmt::format("{} fields where the header has {}", r->fields.size(), header.fields.size()));
      continue;
    }
    if (r->too_long != SIZE_MAX) {
      bad(std::string(trim(header.fields[r->too_long])), fmt::format("longer than {} bytes", kMaxExchangeField));
      continue;
    }
    if (r->after_quote != SIZE_MAX) {
      bad(std::string(trim(header.fields[r->after_quote])), "text after the closing quote");
      continue;
    }
    if (out.rows.size() >= kMaxExchangeRows)
      return fail(Errc::parse_error, fmt::format("more than {} device rows", kMaxExchangeRows), where(r->line));
    auto get = [&](size_t i) { return i == SIZE_MAX ? std::string() : std::string(trim(r->fields[i])); };
    ExchangeRow row;
    row.line = r->line;
    row.device_id = get(c_id);
    if (row.device_id.empty()) {
      bad("DeviceId", "empty");
      continue;
    }
    if (!valid_device_id(row.device_id)) {
      bad("DeviceId", fmt::format("not an ActiveSync device id (1-{} printable ASCII characters, no spaces)",
                                  kMaxExchangeDeviceId));
      continue;
    }
    row.device_os = get(c_os);
    row.device_model = get(c_model);
    row.device_type = get(c_type);
    row.device_user_agent = get(c_ua);
    for (size_t i : c_users)
      if (row.user = get(i); !row.user.empty()) break;
    if (row.user.empty()) row.user = exchange_identity_user(get(c_display));
    if (row.user.empty()) row.user = exchange_identity_user(get(c_identity));
    out.rows.push_back(std::move(row));
  }
  return out;
}

ExchangeReading read_exchange_row(const ExchangeRow& row, const detect::Classifier* classifier) {
  ExchangeReading r;
  read_device_os(row.device_os, r.os_family, r.os_version);
  std::string dtype = to_lower_ascii(row.device_type);
  bool iphone = dtype == "iphone", ipad = dtype == "ipad";
  if (iphone || ipad) {
    if (r.os_family.empty()) r.os_family = "iOS";
    r.vendor = "Apple";
    r.type = iphone ? model::DeviceType::phone : model::DeviceType::tablet;
  }
  std::string lower_model = to_lower_ascii(row.device_model);
  // Outlook mobile reports itself, not the phone, as the model ("Outlook for iOS and Android").
  if (!row.device_model.empty() && lower_model.find("outlook") == std::string::npos) r.model = row.device_model;
  if (classifier && !row.device_user_agent.empty()) {
    detect::ActiveSyncHints h;
    h.device_id = row.device_id;
    h.device_type = row.device_type;
    auto c = classifier->classify(row.device_user_agent, h);
    if (c.may_be.empty() && !c.os_family.empty() && c.os_family != "Other") {
      if (r.os_family.empty()) r.os_family = c.os_family;
      if (r.os_version.empty() && r.os_family == c.os_family) r.os_version = c.os_version;
      if (r.vendor.empty()) r.vendor = c.vendor;
      if (r.model.empty()) r.model = c.model;
      if (r.type == model::DeviceType::other) r.type = c.device_type();
    }
  }
  if (r.model.starts_with("iPhone")) {
    r.vendor = "Apple";
    if (r.type == model::DeviceType::other) r.type = model::DeviceType::phone;
  } else if (r.model.starts_with("iPad")) {
    r.vendor = "Apple";
    r.type = model::DeviceType::tablet;
    ipad = true;
  } else if (r.model.starts_with("SM-") && r.vendor.empty()) {
    r.vendor = "Samsung";
  }
  // iPads run iPadOS since 13; Exchange often still writes "iOS".
  if (r.os_family == "iOS" && ipad) {
    int m = major_of(r.os_version);
    if (m < 0 || m >= 13) r.os_family = "iPadOS";
  }
  if ((r.os_family == "iOS" || r.os_family == "iPadOS") && r.vendor.empty()) r.vendor = "Apple";
  if (r.type == model::DeviceType::other &&
      (r.os_family == "iOS" || r.os_family == "Android" || r.os_family == "HarmonyOS" || r.os_family == "Aurora OS" ||
       r.os_family == "Sailfish OS" || r.os_family == "KaiOS"))
    r.type = model::DeviceType::phone;
  return r;
}

Result<ExchangeImportResult> import_exchange_devices(store::Store& store, const std::vector<ExchangeRow>& rows,
                                                     const ExchangeImportOptions& opts, Time now) {
  ExchangeImportResult res;
  std::set<std::string> touched, unattributed;
  // Readings do not need the store: compute them before the transaction.
  std::vector<ExchangeReading> readings;
  readings.reserve(rows.size());
  for (const auto& row : rows) readings.push_back(read_exchange_row(row, opts.classifier.get()));

  Status st = store.write([&](store::Tx& tx) -> Status {
    res = ExchangeImportResult{};
    touched.clear();
    unattributed.clear();
    Change change{opts.actor, now};
    // Devices that log sightings tie to each ActiveSync id (upper-cased).
    std::map<std::string, std::set<std::string>> by_id;
    FW_TRY(auto sightings, tx.list_activesync_sightings());
    for (const auto& s : sightings) {
      std::string dev = s.device_id.empty() ? sighting_device_id(s, opts.strip_domains) : s.device_id;
      by_id[to_upper_ascii(s.activesync_id)].insert(std::move(dev));
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& row = rows[i];
      const auto& rd = readings[i];
      FW_TRY(std::string person_id, match_person(tx, row.user, opts.strip_domains));
      if (person_id.empty() && !row.user.empty()) unattributed.insert(row.user);
      if (rd.os_family.empty()) ++res.unresolved;

      store::ExchangeDevice ex;
      ex.activesync_id = to_upper_ascii(row.device_id);
      ex.user = row.user;
      ex.person_id = person_id;
      ex.raw_os = row.device_os;
      ex.raw_model = row.device_model;
      ex.raw_type = row.device_type;
      ex.raw_user_agent = row.device_user_agent;
      ex.os_family = rd.os_family;
      ex.os_version = rd.os_version;
      ex.vendor = rd.vendor;
      ex.model = rd.model;
      ex.type = rd.type;
      ex.imported_at = now;

      auto apply = [&](model::Device& d) {
        if (!rd.os_family.empty()) {
          d.os_family = rd.os_family;
          d.os_version = rd.os_version;
          d.may_be.clear();
        }
        if (!rd.vendor.empty()) d.vendor = rd.vendor;
        if (!rd.model.empty()) d.model = rd.model;
        if (rd.type != model::DeviceType::other) d.type = rd.type;
        if (d.owner_id.empty()) d.owner_id = person_id;
      };

      auto it = by_id.find(ex.activesync_id);
      if (it != by_id.end()) {
        for (const auto& dev_id : it->second) {
          auto d = tx.get_device(dev_id);
          if (!d) {
            if (d.error().code == Errc::not_found) continue;  // deleted since it was sighted
            return fail(d.error());
          }
          if (ex.device_id.empty()) ex.device_id = dev_id;
          if (d->source != model::DeviceSource::log && d->source != model::DeviceSource::exchange)
            continue;  // an agent or an import knows better
          model::Device upd = *d;
          apply(upd);
          if (same_fields(upd, *d)) continue;
          FW_TRY_STATUS(put_device(tx, change, std::move(upd), PutMode::replace));
          ++res.devices_resolved;
          touched.insert(dev_id);
        }
      }
      if (ex.device_id.empty()) {
        // Known only from Exchange (so far): an unmanaged device with the id discover would
        // give it, so later sightings of this user and id land on it.
        model::Sighting key;
        key.user = row.user;
        key.fingerprint = detect::fingerprint("", row.device_id);
        std::string id = sighting_device_id(key, opts.strip_domains);
        if (auto prev = tx.get_exchange_device(ex.activesync_id); prev && !prev->device_id.empty()) id = prev->device_id;
        auto cur = tx.get_device(id);
        model::Device d;
        if (cur) {
          d = *cur;
        } else if (cur.error().code != Errc::not_found) {
          return fail(cur.error());
        } else {
          d.id = id;
          d.source = model::DeviceSource::exchange;  // known from the export only, until a log shows it
          d.managed = false;
          d.first_seen = d.last_seen = now;
          d.os_family = "Other";
          ++res.devices_created;
        }
        ex.device_id = id;
        if (!cur || cur->source == model::DeviceSource::log || cur->source == model::DeviceSource::exchange) {
          model::Device upd = d;
          apply(upd);
          if (!cur || !same_fields(upd, *cur)) {
            FW_TRY_STATUS(put_device(tx, change, std::move(upd), cur ? PutMode::replace : PutMode::create));
            if (cur) ++res.devices_resolved;
            touched.insert(id);
          }
        }
      }
      FW_TRY_STATUS(tx.put_exchange_device(ex));
      ++res.rows;
    }
    model::AuditEvent e;
    e.at = now;
    e.actor = opts.actor;
    e.action = "exchange.import";
    e.entity = "exchange-devices";
    e.after_json = fmt::format(R"({{"rows":{},"devices_resolved":{},"devices_created":{},"unresolved":{}}})",
                               res.rows, res.devices_resolved, res.devices_created, res.unresolved);
    FW_TRY_STATUS(tx.append_audit(std::move(e)));
    return {};
  });
  if (!st) return fail(st.error());
  res.device_ids.assign(touched.begin(), touched.end());
  res.unattributed_users.assign(unattributed.begin(), unattributed.end());
  return res;
}

}  // namespace fw::service
