// Inventory import from CSV and JSON files (see importer.h). Parsing is pure and collects
// every row's error; writing happens in one transaction that is rolled back if any row
// fails, so a file loads entirely or not at all.
#include "service/importer.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "service/inventory.h"
#include "service/model_json.h"
#include "util/strings.h"

namespace fw::service {

namespace {

constexpr size_t kMaxField = 64 * 1024;
constexpr size_t kMaxErrors = 20;

}  // namespace

Result<std::vector<CsvRecord>> parse_csv(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  char sep = ',';
  {
    auto eol = text.find('\n');
    auto first = text.substr(0, eol);
    if (first.find(';') != std::string_view::npos && first.find(',') == std::string_view::npos) sep = ';';
  }
  std::vector<CsvRecord> out;
  int line = 1;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    CsvRecord rec;
    rec.line = line;
    std::string field;
    bool blank = true;
    for (;;) {
      // One field.
      field.clear();
      if (i < n && text[i] == '"') {
        blank = false;
        int quote_line = line;
        ++i;
        for (;;) {
          if (i >= n) return fail(Errc::parse_error, "unterminated quoted field", fmt::format("line {}", quote_line));
          char c = text[i++];
          if (c == '"') {
            if (i < n && text[i] == '"') {
              field += '"';
              ++i;
              continue;
            }
            break;
          }
          if (c == '\n') ++line;
          field += c;
          if (field.size() > kMaxField) return fail(Errc::too_large, "field longer than 64 KiB", fmt::format("line {}", line));
        }
        if (i < n && text[i] != sep && text[i] != '\n' && text[i] != '\r') {
          return fail(Errc::parse_error, "unexpected character after a closing quote", fmt::format("line {}", line));
        }
      } else {
        while (i < n && text[i] != sep && text[i] != '\n' && text[i] != '\r') {
          field += text[i++];
          if (field.size() > kMaxField) return fail(Errc::too_large, "field longer than 64 KiB", fmt::format("line {}", line));
        }
        if (!field.empty()) blank = false;
      }
      rec.fields.push_back(field);
      if (i < n && text[i] == sep) {
        blank = false;
        ++i;
        continue;
      }
      // End of record: LF, CRLF or a lone CR (old Mac files) each end one line, so that
      // every record starts on a later line than the one before (found by fuzzing).
      if (i < n && (text[i] == '\r' || text[i] == '\n')) {
        if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
        ++i;
        ++line;
      }
      break;
    }
    if (!blank) out.push_back(std::move(rec));
  }
  return out;
}

namespace {

struct Errors {
  std::string file;
  std::vector<std::pair<int, std::string>> list;  // (line, message), in discovery order

  size_t total() const { return list.size(); }
  void add(int line, std::string_view field, std::string_view reason) {
    if (field.empty()) list.emplace_back(line, fmt::format("{}:{}: {}", file, line, reason));
    else list.emplace_back(line, fmt::format("{}:{}: {}: {}", file, line, field, reason));
  }
  void add(int line, const Error& e) { add(line, e.where, e.message); }
  // The first kMaxErrors messages by line, then a count of the rest.
  std::vector<std::string> done() const {
    auto sorted = list;
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    std::vector<std::string> out;
    for (size_t i = 0; i < sorted.size() && i < kMaxErrors; ++i) out.push_back(sorted[i].second);
    if (sorted.size() > kMaxErrors) out.push_back(fmt::format("{}: ... and {} more errors", file, sorted.size() - kMaxErrors));
    return out;
  }
};

template <class T>
struct Row {
  int line = 0;
  T value;
  std::string owner;  // devices from CSV: owner id, login or e-mail
};

struct Batch {
  std::vector<Row<model::OrgUnit>> units;
  std::vector<Row<model::Person>> people;
  std::vector<Row<model::Device>> devices;
};

// ---- CSV ----

using Setter = std::function<Status(std::string_view value)>;

struct Columns {
  std::map<std::string, Setter, std::less<>> setters;
  std::vector<std::string> required;
};

Setter text(std::string& out) {
  return [&out](std::string_view v) -> Status {
    out = std::string(trim(v));
    return {};
  };
}

Setter time_col(Time& out) {
  return [&out](std::string_view v) -> Status {
    v = trim(v);
    if (v.empty()) return {};
    auto t = parse_time(v);
    if (!t) return fail(Errc::invalid_argument, "expected an RFC 3339 time or a date (2023-02-28): " + t.error().message);
    out = *t;
    return {};
  };
}

// Reads every data record through the columns of the header; `make` provides a fresh
// target and the setters bound to it; `finish` stores the row.
template <class T>
void read_rows(const std::vector<CsvRecord>& recs, Errors& errs,
               const std::function<Columns(T&, std::string&)>& bind, std::vector<Row<T>>& out) {
  if (recs.empty()) {
    errs.add(1, "", "the file is empty (expected a header line)");
    return;
  }
  const auto& header = recs[0];
  std::vector<std::string> names;
  for (const auto& h : header.fields) names.push_back(to_lower_ascii(trim(h)));
  {
    T probe;
    std::string owner;
    Columns cols = bind(probe, owner);
    std::set<std::string> seen;
    for (const auto& name : names) {
      if (name.empty()) continue;
      if (!cols.setters.contains(name)) errs.add(header.line, name, "unknown column");
      if (!seen.insert(name).second) errs.add(header.line, name, "column given twice");
    }
    for (const auto& r : cols.required) {
      if (!seen.contains(r)) errs.add(header.line, r, "required column missing");
    }
    if (errs.total()) return;
  }
  for (size_t k = 1; k < recs.size(); ++k) {
    const auto& rec = recs[k];
    if (rec.fields.size() != names.size()) {
      errs.add(rec.line, "", fmt::format("expected {} fields, found {}", names.size(), rec.fields.size()));
      continue;
    }
    Row<T> row;
    row.line = rec.line;
    Columns cols = bind(row.value, row.owner);
    bool ok = true;
    for (size_t c = 0; c < names.size(); ++c) {
      if (names[c].empty()) continue;
      auto st = cols.setters.at(names[c])(rec.fields[c]);
      if (!st) {
        errs.add(rec.line, names[c], st.error().message);
        ok = false;
      }
    }
    for (const auto& r : cols.required) {
      auto it = std::find(names.begin(), names.end(), r);
      if (it != names.end() && trim(rec.fields[static_cast<size_t>(it - names.begin())]).empty()) {
        errs.add(rec.line, r, "is required");
        ok = false;
      }
    }
    if (ok) out.push_back(std::move(row));
  }
}

Columns org_unit_columns(model::OrgUnit& u, std::string&) {
  Columns c;
  c.setters = {{"id", text(u.id)}, {"path", text(u.path)}, {"name", text(u.name)}, {"kind", text(u.kind)},
               {"timezone", text(u.timezone)}};
  c.required = {"path"};
  return c;
}

Columns person_columns(model::Person& p, std::string&) {
  Columns c;
  c.setters = {{"id", text(p.id)},       {"name", text(p.name)},        {"email", text(p.email)},
               {"login", text(p.login)}, {"org_unit", text(p.org_unit_path)}, {"manager_id", text(p.manager_id)},
               {"title", text(p.title)}};
  c.required = {"id", "name", "org_unit"};
  return c;
}

Columns device_columns(model::Device& d, std::string& owner) {
  Columns c;
  c.setters = {
      {"id", text(d.id)},
      {"owner", text(owner)},
      {"org_unit", text(d.org_unit_path)},
      {"os_family", text(d.os_family)},
      {"os_version", text(d.os_version)},
      {"vendor", text(d.vendor)},
      {"model", text(d.model)},
      {"first_seen", time_col(d.first_seen)},
      {"last_seen", time_col(d.last_seen)},
      {"type",
       [&d](std::string_view v) -> Status {
         v = trim(v);
         if (v.empty()) return {};
         auto t = model::parse_device_type(to_lower_ascii(v));
         if (!t) return fail(Errc::invalid_argument, "expected phone, tablet, desktop or other");
         d.type = *t;
         return {};
       }},
      {"source",
       [&d](std::string_view v) -> Status {
         v = trim(v);
         if (v.empty()) return {};
         auto s = model::parse_device_source(to_lower_ascii(v));
         if (!s) return fail(Errc::invalid_argument, "expected agent, log, import or exchange");
         d.source = *s;
         return {};
       }},
      {"managed",
       [&d](std::string_view v) -> Status {
         auto s = to_lower_ascii(trim(v));
         if (s.empty() || s == "false" || s == "no" || s == "0") d.managed = false;
         else if (s == "true" || s == "yes" || s == "1") d.managed = true;
         else return fail(Errc::invalid_argument, "expected true/false, yes/no or 1/0");
         return {};
       }},
      {"apps",
       [&d](std::string_view v) -> Status {
         d.apps.clear();
         v = trim(v);
         if (v.empty()) return {};
         for (auto item : split(v, '|')) {
           item = trim(item);
           if (item.empty()) continue;
           model::App a;
           auto parts = split(item, ':');
           a.id = std::string(trim(parts[0]));
           if (parts.size() > 1) a.version = std::string(trim(parts[1]));
           if (parts.size() > 2) {
             auto name_pos = item.find(':', item.find(':') + 1);
             a.name = std::string(trim(item.substr(name_pos + 1)));
           }
           if (a.id.empty()) return fail(Errc::invalid_argument, "an app without an id (expected id[:version[:name]])");
           d.apps.push_back(std::move(a));
         }
         return {};
       }},
  };
  c.required = {"id", "os_family"};
  return c;
}

// ---- JSON ----

// The line on which each element of the top-level arrays starts: key "" for a bare
// top-level array, else the key of the root object holding the array.
std::map<std::string, std::vector<int>> element_lines(std::string_view t) {
  struct Frame {
    bool array;
    bool expect;      // array: next token starts an element; object: next string is a key
    std::string key;  // object: the last key read; array: the key it sits under
  };
  std::map<std::string, std::vector<int>> out;
  std::vector<Frame> st;
  int line = 1;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '\n') {
      ++line;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == ':') continue;
    if (c == ',') {
      if (!st.empty()) st.back().expect = true;
      continue;
    }
    if (c == ']' || c == '}') {
      if (!st.empty()) st.pop_back();
      continue;
    }
    bool element_start = !st.empty() && st.back().array && st.back().expect;
    if (element_start) {
      st.back().expect = false;
      if (st.size() == 1 || (st.size() == 2 && !st[0].array)) out[st.back().key].push_back(line);
    }
    if (c == '"') {
      size_t j = i + 1;
      std::string s;
      while (j < t.size() && t[j] != '"') {
        if (t[j] == '\\') ++j;
        if (j < t.size()) s += t[j];
        if (j < t.size() && t[j] == '\n') ++line;
        ++j;
      }
      if (!st.empty() && !st.back().array && st.back().expect) {
        st.back().key = s;
        st.back().expect = false;
      }
      i = j;
      continue;
    }
    if (c == '[' || c == '{') {
      Frame f{c == '[', true, ""};
      if (f.array && !st.empty() && !st.back().array) f.key = st.back().key;
      st.push_back(std::move(f));
    }
  }
  return out;
}

void read_json(std::string_view content, Errors& errs, Batch& b) {
  auto v = parse_json(content, {.max_bytes = kMaxImportBytes, .max_depth = 32});
  if (!v) {
    // Turn "byte N" into a line number and a column (in bytes, 1-based) on that line.
    int line = 1;
    size_t at = 0, line_start = 0;
    if (v.error().where.starts_with("byte ")) at = std::strtoull(v.error().where.c_str() + 5, nullptr, 10);
    for (size_t i = 0; i < std::min(at, content.size()); ++i)
      if (content[i] == '\n') ++line, line_start = i + 1;
    errs.add(line, "", v.error().message + fmt::format(" (column {}, byte {})", at - line_start + 1, at));
    return;
  }
  auto lines = element_lines(content);
  auto line_of = [&](const std::string& key, size_t i) {
    auto it = lines.find(key);
    return it != lines.end() && i < it->second.size() ? it->second[i] : 1;
  };
  auto each = [&](const boost::json::value& arr, const std::string& key, auto&& fn) {
    if (!arr.is_array()) {
      errs.add(1, key, "expected an array");
      return;
    }
    for (size_t i = 0; i < arr.get_array().size(); ++i) fn(arr.get_array()[i], line_of(key, i));
  };
  auto devices = [&](const boost::json::value& x, int line) {
    Row<model::Device> r;
    r.line = line;
    if (auto st = from_json(x, r.value); !st) errs.add(line, st.error());
    else b.devices.push_back(std::move(r));
  };
  if (v->is_array()) {
    each(*v, "", devices);
    return;
  }
  if (!v->is_object()) {
    errs.add(1, "", "expected a JSON object {\"org_units\": [...], \"people\": [...], \"devices\": [...]} or an array of devices");
    return;
  }
  for (const auto& kv : v->get_object()) {
    std::string key(kv.key());
    if (key == "org_units") {
      each(kv.value(), key, [&](const boost::json::value& x, int line) {
        Row<model::OrgUnit> r;
        r.line = line;
        if (auto st = from_json(x, r.value); !st) errs.add(line, st.error());
        else b.units.push_back(std::move(r));
      });
    } else if (key == "people") {
      each(kv.value(), key, [&](const boost::json::value& x, int line) {
        Row<model::Person> r;
        r.line = line;
        if (auto st = from_json(x, r.value); !st) errs.add(line, st.error());
        else b.people.push_back(std::move(r));
      });
    } else if (key == "devices") {
      each(kv.value(), key, devices);
    } else {
      errs.add(1, key, "unknown field (expected org_units, people or devices)");
    }
  }
}

// ---- Writing ----

size_t depth_of(const std::string& path) { return static_cast<size_t>(std::count(path.begin(), path.end(), '/')); }

Status write_batch(store::Tx& tx, const Change& c, Batch& b, Errors& errs, ImportReport& rep) {
  std::stable_sort(b.units.begin(), b.units.end(),
                   [](const auto& x, const auto& y) { return depth_of(x.value.path) < depth_of(y.value.path); });
  for (auto& r : b.units) {
    auto res = put_org_unit(tx, c, r.value, PutMode::upsert);
    if (!res) errs.add(r.line, res.error());
    else ++rep.org_units;
  }
  // People whose manager comes later in the file wait until the manager is written.
  std::vector<Row<model::Person>*> pending;
  for (auto& r : b.people) pending.push_back(&r);
  for (bool progress = true; progress && !pending.empty();) {
    progress = false;
    std::vector<Row<model::Person>*> later;
    for (auto* r : pending) {
      bool ready = r->value.manager_id.empty() || r->value.manager_id == r->value.id ||
                   tx.get_person(r->value.manager_id).has_value();
      if (!ready) {
        later.push_back(r);
        continue;
      }
      progress = true;
      auto res = put_person(tx, c, r->value, PutMode::upsert);
      if (!res) errs.add(r->line, res.error());
      else ++rep.people;
    }
    pending = std::move(later);
  }
  for (auto* r : pending) {
    errs.add(r->line, "manager_id", fmt::format("person {} does not exist", r->value.manager_id));
  }
  for (auto& r : b.devices) {
    if (!r.owner.empty()) {
      if (auto p = tx.get_person(r.owner)) {
        r.value.owner_id = p->id;
      } else if (auto q = tx.find_person(r.owner)) {
        r.value.owner_id = q->id;
      } else {
        errs.add(r.line, "owner", fmt::format("no person with id, login or e-mail {}", r.owner));
        continue;
      }
    }
    auto res = put_device(tx, c, r.value, PutMode::upsert);
    if (!res) errs.add(r.line, res.error().where == "owner_id" && !r.owner.empty() ? "owner" : res.error().where,
                       res.error().message);
    else ++rep.devices;
  }
  if (errs.total()) return fail(Errc::invalid_argument, "the file has errors");
  return {};
}

std::string base_name(std::string_view path) {
  auto pos = path.find_last_of('/');
  return to_lower_ascii(pos == std::string_view::npos ? path : path.substr(pos + 1));
}

}  // namespace

ImportReport import_text(store::Store& store, std::string_view file_name, std::string_view content,
                         std::string_view actor, Time now) {
  ImportReport rep;
  Errors errs{std::string(file_name), {}};
  Batch batch;
  std::string base = base_name(file_name);
  if (content.size() > kMaxImportBytes) {
    errs.add(1, "", "file larger than 256 MiB");
    rep.errors = errs.done();
    return rep;
  }
  bool csv = base.ends_with(".csv");
  if (base.ends_with(".json")) {
    rep.kind = "json";
    read_json(content, errs, batch);
  } else if (csv && (base.starts_with("org-units") || base.starts_with("org_units") || base.starts_with("orgunits"))) {
    rep.kind = "org-units";
  } else if (csv && base.starts_with("people")) {
    rep.kind = "people";
  } else if (csv && base.starts_with("devices")) {
    rep.kind = "devices";
  } else {
    errs.add(1, "", "cannot tell what the file holds: name it org-units*.csv, people*.csv, devices*.csv or *.json");
  }
  if (csv && !rep.kind.empty()) {
    auto recs = parse_csv(content);
    if (!recs) {
      int line = 1;
      if (recs.error().where.starts_with("line ")) line = std::atoi(recs.error().where.c_str() + 5);
      errs.add(line, "", recs.error().message);
    } else if (rep.kind == "org-units") {
      read_rows<model::OrgUnit>(*recs, errs, org_unit_columns, batch.units);
    } else if (rep.kind == "people") {
      read_rows<model::Person>(*recs, errs, person_columns, batch.people);
    } else {
      read_rows<model::Device>(*recs, errs, device_columns, batch.devices);
    }
  }
  // Rows that parsed are still checked against the database (references, taken paths), so
  // one run reports every error; the transaction is rolled back if there is any.
  if (!rep.kind.empty()) {
    Change c{std::string(actor), now};
    ImportReport counts;
    const Errors parse_errs = errs;
    auto st = store.write([&](store::Tx& tx) -> Status {
      counts = ImportReport{};
      errs = parse_errs;
      return write_batch(tx, c, batch, errs, counts);
    });
    if (st) {
      rep.org_units = counts.org_units;
      rep.people = counts.people;
      rep.devices = counts.devices;
    } else if (errs.total() == 0) {
      errs.add(0, "", st.error().to_string());  // the database itself failed
    }
  }
  rep.errors = errs.done();
  if (!rep.ok()) rep.org_units = rep.people = rep.devices = 0;
  return rep;
}

ImportReport import_file(store::Store& store, const std::string& path, std::string_view actor, Time now) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ImportReport rep;
    rep.errors.push_back(path + ": cannot open the file");
    return rep;
  }
  in.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(in.tellg());
  in.seekg(0);
  if (size > kMaxImportBytes) {
    ImportReport rep;
    rep.errors.push_back(path + ": file larger than 256 MiB");
    return rep;
  }
  std::string content(size, '\0');
  in.read(content.data(), static_cast<std::streamsize>(size));
  return import_text(store, path, content, actor, now);
}

}  // namespace fw::service
