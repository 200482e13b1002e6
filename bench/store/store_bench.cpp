// Store benchmark: inventory upserts per second into SQLite (batched and one per
// transaction) and filtered list queries over 100,000 devices, each beside a baseline
// measured in the same run with raw sqlite3 calls on the same schema and the same rows.
// Usage: store_bench [--devices N] [--batch B] [--unbatched U] [--dir DIR] [--pg URL]
// With --pg (a libpq URI; the benchmark works in its own schema, dropped after) the batched
// upserts and the os_family queries are also measured on PostgreSQL against raw libpq.
// Single-threaded; writes its databases under DIR (default: a temp directory), removed after.
#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "store/store.h"

namespace {

using namespace fw;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Process CPU time (user + sys) in seconds: steadier than wall time on a shared machine.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// One measured run: rows per wall second and CPU microseconds per row.
struct Rate {
  double per_s = 0, cpu_us = 0;
};
Rate rate_of(size_t rows, Clock::time_point t0, double cpu0) {
  return Rate{static_cast<double>(rows) / seconds_since(t0), (cpu_seconds() - cpu0) * 1e6 / static_cast<double>(rows)};
}
Rate median(std::vector<Rate> v) {
  std::sort(v.begin(), v.end(), [](const Rate& a, const Rate& b) { return a.per_s < b.per_s; });
  Rate m = v[v.size() / 2];
  std::sort(v.begin(), v.end(), [](const Rate& a, const Rate& b) { return a.cpu_us < b.cpu_us; });
  m.cpu_us = v[v.size() / 2].cpu_us;
  return m;
}

void die(const std::string& what) {
  std::fprintf(stderr, "store_bench: %s\n", what.c_str());
  std::exit(1);
}
template <class T>
T must(Result<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().to_string());
  return std::move(*r);
}
void must(Status s, const char* what) {
  if (!s) die(std::string(what) + ": " + s.error().to_string());
}

struct Org {
  std::vector<model::OrgUnit> units;
  std::vector<model::Person> people;
};

Org make_org(int npeople) {
  Org o;
  o.units.push_back({"ou-adm", "/administration", "Administration", "root", ""});
  for (auto d : {"domestic-policy", "public-projects", "state-council", "ict"})
    o.units.push_back({std::string("ou-") + d, std::string("/administration/") + d, d, "department", ""});
  o.units.push_back({"ou-reg", "/regions", "Regions", "root", ""});
  for (auto r : {"tver", "kaluga", "tula", "ryazan", "vladimir", "yaroslavl", "kostroma", "ivanovo", "smolensk", "bryansk"})
    o.units.push_back({std::string("ou-") + r, std::string("/regions/") + r, r, "region", ""});
  for (int i = 0; i < npeople; ++i) {
    const auto& u = o.units[1 + static_cast<size_t>(i) % (o.units.size() - 1)];
    char id[32];
    std::snprintf(id, sizeof id, "p%05d", i);
    o.people.push_back({id, "Person " + std::to_string(i), std::string(id) + "@example.org", id,
                        u.path == "/regions" ? "/regions/tver" : u.path, "", "Staff"});
  }
  return o;
}

std::vector<model::Device> make_devices(int n, const Org& org, uint32_t seed) {
  std::mt19937 rng(seed);
  const char* families[] = {"iOS", "iOS", "iOS", "Android", "Android", "Android", "Android", "HarmonyOS", "iPadOS",
                            "Windows", "Aurora OS"};
  std::vector<model::Device> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    model::Device d;
    char id[32];
    std::snprintf(id, sizeof id, "dev-%07u", static_cast<unsigned>(rng() % 100000000u));
    d.id = std::string(id) + "-" + std::to_string(i);
    d.owner_id = org.people[rng() % org.people.size()].id;
    d.source = model::DeviceSource::import;
    d.os_family = families[rng() % std::size(families)];
    d.os_version = std::to_string(10 + rng() % 8) + "." + std::to_string(rng() % 5);
    d.vendor = d.os_family == "iOS" || d.os_family == "iPadOS" ? "Apple" : "Samsung";
    d.model = "Model " + std::to_string(rng() % 40);
    d.type = d.os_family == "Windows" ? model::DeviceType::desktop : model::DeviceType::phone;
    d.managed = rng() % 4 == 0;
    d.first_seen = from_unix(1'672'531'200);
    d.last_seen = from_unix(1'672'531'200 + static_cast<int64_t>(rng() % 7'776'000));
    int apps = static_cast<int>(rng() % 3);
    if (apps > 0) d.apps.push_back({"us.zoom.videomeetings", "Zoom", "5.13." + std::to_string(rng() % 9)});
    if (apps > 1) d.apps.push_back({"ru.trueconf.client", "TrueConf", "8.1"});
    out.push_back(std::move(d));
  }
  return out;
}

std::unique_ptr<store::Store> open_store(const std::string& path, const Org& org) {
  auto s = must(store::Store::open(path), "open");
  must(s->write([&](store::Tx& tx) -> Status {
         for (const auto& u : org.units) FW_TRY_STATUS(tx.put_org_unit(u));
         for (const auto& p : org.people) FW_TRY_STATUS(tx.put_person(p));
         return {};
       }),
       "seed org");
  return s;
}

// Store upserts: `per_tx` devices per write() (1 = unbatched).
Rate store_upserts(store::Store& s, const std::vector<model::Device>& ds, size_t count, size_t per_tx) {
  auto t0 = Clock::now();
  double c0 = cpu_seconds();
  for (size_t i = 0; i < count; i += per_tx) {
    size_t end = std::min(count, i + per_tx);
    must(s.write([&](store::Tx& tx) -> Status {
           for (size_t k = i; k < end; ++k) FW_TRY_STATUS(tx.put_device(ds[k]));
           return {};
         }),
         "upsert");
  }
  return rate_of(count, t0, c0);
}

// Baseline: the same rows with raw sqlite3 calls into the same schema and settings (WAL,
// synchronous=FULL, foreign keys): one prepared INSERT for the device, one per app.
Rate raw_inserts(const std::string& path, const std::vector<model::Device>& ds, size_t count, size_t per_tx) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) die("raw open");
  auto ex = [&](const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) die(std::string("raw: ") + sqlite3_errmsg(db));
  };
  ex("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  sqlite3_stmt *dev = nullptr, *app = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO devices (id, owner_id, source, os_family, os_version, vendor, model, type, managed, "
                     "first_seen, last_seen, may_be, facts_json, search_key) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                     -1, &dev, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO device_apps (device_id, pos, app_id, name, version) VALUES (?,?,?,?,?)", -1, &app,
                     nullptr);
  if (!dev || !app) die(std::string("raw prepare: ") + sqlite3_errmsg(db));
  auto text = [](sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  };
  auto t0 = Clock::now();
  double c0 = cpu_seconds();
  for (size_t i = 0; i < count; i += per_tx) {
    size_t end = std::min(count, i + per_tx);
    ex("BEGIN IMMEDIATE");
    for (size_t k = i; k < end; ++k) {
      const auto& d = ds[k];
      std::string key = d.id + "\n" + d.model + "\n" + d.vendor;
      text(dev, 1, d.id);
      text(dev, 2, d.owner_id);
      sqlite3_bind_text(dev, 3, "import", -1, SQLITE_STATIC);
      text(dev, 4, d.os_family);
      text(dev, 5, d.os_version);
      text(dev, 6, d.vendor);
      text(dev, 7, d.model);
      sqlite3_bind_text(dev, 8, d.type == model::DeviceType::phone ? "phone" : "desktop", -1, SQLITE_STATIC);
      sqlite3_bind_int(dev, 9, d.managed);
      sqlite3_bind_int64(dev, 10, to_unix(d.first_seen));
      sqlite3_bind_int64(dev, 11, to_unix(d.last_seen));
      sqlite3_bind_text(dev, 12, "", 0, SQLITE_STATIC);
      sqlite3_bind_text(dev, 13, "{}", 2, SQLITE_STATIC);
      text(dev, 14, key);
      if (sqlite3_step(dev) != SQLITE_DONE) die(std::string("raw insert: ") + sqlite3_errmsg(db));
      sqlite3_reset(dev);
      for (size_t a = 0; a < d.apps.size(); ++a) {
        text(app, 1, d.id);
        sqlite3_bind_int(app, 2, static_cast<int>(a));
        text(app, 3, d.apps[a].id);
        text(app, 4, d.apps[a].name);
        text(app, 5, d.apps[a].version);
        if (sqlite3_step(app) != SQLITE_DONE) die(std::string("raw app: ") + sqlite3_errmsg(db));
        sqlite3_reset(app);
      }
    }
    ex("COMMIT");
  }
  Rate rate = rate_of(count, t0, c0);
  sqlite3_finalize(dev);
  sqlite3_finalize(app);
  sqlite3_close(db);
  return rate;
}

// Median wall time in milliseconds of `reps` runs of fn.
double median_ms(int reps, const std::function<void()>& fn) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    fn();
    t.push_back(seconds_since(t0) * 1000);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Raw sqlite3 query baseline: steps through the rows, reading every column.
size_t raw_query(sqlite3* db, const std::string& sql, const std::vector<std::string>& args) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) die(std::string("raw q: ") + sqlite3_errmsg(db));
  for (size_t i = 0; i < args.size(); ++i)
    sqlite3_bind_text(s, static_cast<int>(i) + 1, args[i].c_str(), -1, SQLITE_TRANSIENT);
  size_t n = 0;
  std::string sink;
  while (sqlite3_step(s) == SQLITE_ROW) {
    for (int c = 0; c < sqlite3_column_count(s); ++c) {
      auto* p = sqlite3_column_text(s, c);
      if (p) sink.assign(reinterpret_cast<const char*>(p));
    }
    ++n;
  }
  sqlite3_finalize(s);
  return n;
}

// ---- PostgreSQL (optional) ----

PGconn* pg_connect(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) die(std::string("pg: ") + PQerrorMessage(c));
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  return c;
}
void pg_exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) die("pg: " + sql.substr(0, 60) + ": " + PQresultErrorMessage(r));
  PQclear(r);
}

// Baseline: the same rows with raw libpq prepared INSERTs, one transaction per batch.
Rate pg_raw_inserts(PGconn* c, const std::vector<model::Device>& ds, size_t per_tx) {
  PGresult* r = PQprepare(c, "dev",
                          "INSERT INTO devices (id, owner_id, source, os_family, os_version, vendor, model, type, "
                          "managed, first_seen, last_seen, may_be, facts_json, search_key) "
                          "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
                          0, nullptr);
  PQclear(r);
  r = PQprepare(c, "app", "INSERT INTO device_apps (device_id, pos, app_id, name, version) VALUES ($1,$2,$3,$4,$5)", 0,
                nullptr);
  PQclear(r);
  auto t0 = Clock::now();
  double c0 = cpu_seconds();
  for (size_t i = 0; i < ds.size(); i += per_tx) {
    pg_exec(c, "BEGIN");
    for (size_t k = i; k < std::min(ds.size(), i + per_tx); ++k) {
      const auto& d = ds[k];
      std::string managed = d.managed ? "1" : "0", first = std::to_string(to_unix(d.first_seen)),
                  last = std::to_string(to_unix(d.last_seen)), key = d.id + "\n" + d.model + "\n" + d.vendor;
      const char* v[14] = {d.id.c_str(), d.owner_id.c_str(), "import", d.os_family.c_str(), d.os_version.c_str(),
                           d.vendor.c_str(), d.model.c_str(), d.type == model::DeviceType::phone ? "phone" : "desktop",
                           managed.c_str(), first.c_str(), last.c_str(), "", "{}", key.c_str()};
      r = PQexecPrepared(c, "dev", 14, v, nullptr, nullptr, 0);
      if (PQresultStatus(r) != PGRES_COMMAND_OK) die(std::string("pg raw: ") + PQresultErrorMessage(r));
      PQclear(r);
      for (size_t a = 0; a < d.apps.size(); ++a) {
        std::string pos = std::to_string(a);
        const char* av[5] = {d.id.c_str(), pos.c_str(), d.apps[a].id.c_str(), d.apps[a].name.c_str(),
                             d.apps[a].version.c_str()};
        r = PQexecPrepared(c, "app", 5, av, nullptr, nullptr, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) die(std::string("pg raw app: ") + PQresultErrorMessage(r));
        PQclear(r);
      }
    }
    pg_exec(c, "COMMIT");
  }
  return rate_of(ds.size(), t0, c0);
}

void run_postgres(const std::string& base, const Org& org, const std::vector<model::Device>& devices, int batch) {
  std::string tag = std::to_string(getpid());
  std::string s_store = "fw_bench_store_" + tag, s_raw = "fw_bench_raw_" + tag;
  PGconn* admin = pg_connect(base);
  pg_exec(admin, "CREATE SCHEMA " + s_store + "; CREATE SCHEMA " + s_raw);
  auto url = [&](const std::string& schema) {
    return base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema;
  };
  Rate st, rw;
  double t_first = 0, t_all = 0, t_raw_all = 0;
  size_t rows = 0;
  {
    auto s = open_store(url(s_store), org);
    st = store_upserts(*s, devices, devices.size(), static_cast<size_t>(batch));
    { auto r = open_store(url(s_raw), org); }
    PGconn* raw = pg_connect(url(s_raw));
    rw = pg_raw_inserts(raw, devices, static_cast<size_t>(batch));
    pg_exec(raw, "ANALYZE");
    pg_exec(admin, "SET search_path TO " + s_store + "; ANALYZE");
    store::DeviceFilter ios;
    ios.os_family = "iOS";
    t_first = median_ms(5, [&] {
      must(s->read([&](store::Tx& tx) -> Status {
             FW_TRY(auto page, tx.list_devices(ios, {"", 100}));
             rows = page.items.size();
             return {};
           }),
           "pg list");
    });
    t_all = median_ms(3, [&] {
      std::string cursor;
      rows = 0;
      do {
        must(s->read([&](store::Tx& tx) -> Status {
               FW_TRY(auto page, tx.list_devices(ios, {cursor, 1000}));
               rows += page.items.size();
               cursor = page.next_cursor;
               return {};
             }),
             "pg list");
      } while (!cursor.empty());
    });
    t_raw_all = median_ms(3, [&] {
      PGresult* r = PQexec(raw,
                           "SELECT d.id, d.owner_id, d.source, d.os_family, d.os_version, d.vendor, d.model, d.type, "
                           "d.managed, d.first_seen, d.last_seen, d.may_be, d.facts_json FROM devices d "
                           "WHERE d.os_family = 'iOS' ORDER BY d.id");
      if (static_cast<size_t>(PQntuples(r)) != rows) die("pg row counts differ");
      PQclear(r);
    });
    PQfinish(raw);
  }
  pg_exec(admin, "DROP SCHEMA " + s_store + " CASCADE; DROP SCHEMA " + s_raw + " CASCADE");
  PQfinish(admin);
  std::printf("\nPostgreSQL (%s)\n", PQlibVersion() >= 150000 ? "libpq 15" : "libpq");
  std::printf("%-44s %12.0f /s %12.0f /s %7.2f   cpu %6.1f us vs %6.1f us\n",
              ("upserts, batched " + std::to_string(batch) + " per transaction").c_str(), st.per_s, rw.per_s,
              st.per_s / rw.per_s, st.cpu_us, rw.cpu_us);
  std::printf("%-44s %12.2f ms\n", "os_family=iOS, first page of 100", t_first);
  std::printf("%-44s %12.2f ms %12.2f ms %7.2f   rows %zu\n", "os_family=iOS, all pages of 1000 vs one query", t_all,
              t_raw_all, t_all / t_raw_all, rows);
}

}  // namespace

int main(int argc, char** argv) {
  int ndev = 100000, batch = 1000, unbatched = 2000, npeople = 2000;
  std::string dir, pg;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--devices") ndev = std::atoi(argv[i + 1]);
    else if (a == "--batch") batch = std::atoi(argv[i + 1]);
    else if (a == "--unbatched") unbatched = std::atoi(argv[i + 1]);
    else if (a == "--dir") dir = argv[i + 1];
    else if (a == "--pg") pg = argv[i + 1];
    else die("unknown option " + a);
  }
  std::filesystem::path root = dir.empty() ? std::filesystem::temp_directory_path() /
                                                 ("fw_store_bench_" + std::to_string(getpid()))
                                           : std::filesystem::path(dir);
  std::filesystem::create_directories(root);
  Org org = make_org(npeople);
  auto devices = make_devices(ndev, org, 42);
  std::printf("store_bench: %d devices (%d people, %zu org units), batch %d, unbatched %d; SQLite %s\n", ndev, npeople,
              org.units.size(), batch, unbatched, sqlite3_libversion());

  // --- upserts: each measurement 3 times, store and raw alternating on fresh databases ---
  constexpr int kRounds = 3;
  std::string p_store = (root / "store.db").string();
  auto extra = make_devices(unbatched, org, 7);  // fresh rows for the unbatched runs
  std::vector<Rate> sb, rb, ss, rs;
  for (int round = 0; round < kRounds; ++round) {
    std::string ps = (root / ("store" + std::to_string(round) + ".db")).string();
    std::string pr = (root / ("raw" + std::to_string(round) + ".db")).string();
    {
      auto s = open_store(ps, org);
      sb.push_back(store_upserts(*s, devices, devices.size(), static_cast<size_t>(batch)));
    }
    { auto s = open_store(pr, org); }  // same schema and org, then raw inserts
    rb.push_back(raw_inserts(pr, devices, devices.size(), static_cast<size_t>(batch)));
    {
      auto s = must(store::Store::open(ps), "reopen");
      ss.push_back(store_upserts(*s, extra, extra.size(), 1));
    }
    rs.push_back(raw_inserts(pr, extra, extra.size(), 1));
    if (round == 0) {
      std::filesystem::rename(ps, p_store);  // kept for the queries
      std::filesystem::remove(ps + "-wal");
      std::filesystem::remove(ps + "-shm");
    } else {
      for (auto* p : {&ps, &pr})
        for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(*p + suffix);
    }
  }
  Rate store_batched = median(sb), raw_batched = median(rb), store_single = median(ss), raw_single = median(rs);
  std::printf("\nupserts, median of %d alternating runs (synchronous=FULL)\n", kRounds);
  std::printf("%-34s %12s %12s %7s %12s %12s %7s\n", "", "store/s", "raw/s", "ratio", "store cpu", "raw cpu",
              "ratio");
  auto line = [](const std::string& name, Rate st, Rate rw) {
    std::printf("%-34s %12.0f %12.0f %7.2f %9.1f us %9.1f us %7.2f\n", name.c_str(), st.per_s, rw.per_s,
                st.per_s / rw.per_s, st.cpu_us, rw.cpu_us, st.cpu_us / rw.cpu_us);
  };
  line("batched, " + std::to_string(batch) + " per transaction", store_batched, raw_batched);
  line("unbatched, 1 per transaction", store_single, raw_single);

  // --- queries over the store database (ndev + unbatched devices) ---
  auto s = must(store::Store::open(p_store), "reopen");
  int64_t total = 0;
  must(s->read([&](store::Tx& tx) -> Status {
         FW_TRY(total, tx.count_devices({}));
         return {};
       }),
       "count");
  sqlite3* raw = nullptr;
  sqlite3_open_v2(p_store.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_exec(raw, "PRAGMA case_sensitive_like = ON", nullptr, nullptr, nullptr);
  const std::string cols =
      "d.id, d.owner_id, d.source, d.os_family, d.os_version, d.vendor, d.model, d.type, d.managed, d.first_seen, "
      "d.last_seen, d.may_be, d.facts_json";
  struct Q {
    std::string name;
    store::DeviceFilter f;
    int limit;
    bool all_pages;
    std::string raw_sql;
    std::vector<std::string> args;
  };
  store::DeviceFilter ios, sub, sub_ios;
  ios.os_family = "iOS";
  sub.subtree = "/regions";
  sub_ios.subtree = "/administration";
  sub_ios.os_family = "Android";
  std::string j = " FROM devices d LEFT JOIN people p ON p.id = d.owner_id";
  std::vector<Q> qs = {
      {"os_family=iOS, first page of 100", ios, 100, false,
       "SELECT " + cols + " FROM devices d WHERE d.os_family = ? ORDER BY d.id LIMIT 100", {"iOS"}},
      {"os_family=iOS, all pages of 1000", ios, 1000, true,
       "SELECT " + cols + " FROM devices d WHERE d.os_family = ? ORDER BY d.id", {"iOS"}},
      {"subtree /regions, first page of 100", sub, 100, false,
       "SELECT " + cols + j + " WHERE (p.org_unit_path = ? OR p.org_unit_path LIKE ?) ORDER BY d.id LIMIT 100",
       {"/regions", "/regions/%"}},
      {"subtree /regions, all pages of 1000", sub, 1000, true,
       "SELECT " + cols + j + " WHERE (p.org_unit_path = ? OR p.org_unit_path LIKE ?) ORDER BY d.id",
       {"/regions", "/regions/%"}},
      {"subtree /administration + Android, all pages", sub_ios, 1000, true,
       "SELECT " + cols + j + " WHERE (p.org_unit_path = ? OR p.org_unit_path LIKE ?) AND d.os_family = ? ORDER BY d.id",
       {"/administration", "/administration/%", "Android"}},
  };
  std::printf("\nqueries over %lld devices (median of 5, ms)      %14s %14s %8s %8s\n", static_cast<long long>(total),
              "store", "raw sqlite3", "ratio", "rows");
  for (const auto& q : qs) {
    size_t rows = 0;
    double t_store = median_ms(5, [&] {
      rows = 0;
      std::string cursor;
      do {
        must(s->read([&](store::Tx& tx) -> Status {
               FW_TRY(auto page, tx.list_devices(q.f, {cursor, q.limit}));
               rows += page.items.size();
               cursor = q.all_pages ? page.next_cursor : "";
               return {};
             }),
             "list");
      } while (!cursor.empty());
    });
    size_t raw_rows = 0;
    double t_raw = median_ms(5, [&] { raw_rows = raw_query(raw, q.raw_sql, q.args); });
    if (raw_rows != rows) die("row counts differ for " + q.name);
    std::printf("%-48s %14.2f %14.2f %8.2f %8zu\n", q.name.c_str(), t_store, t_raw, t_store / t_raw, rows);
  }
  // Whole-fleet scan (what evaluation and reports use) against one raw query with the apps.
  {
    size_t rows = 0;
    double t_store = median_ms(3, [&] {
      rows = 0;
      must(s->read([&](store::Tx& tx) {
             return tx.scan_devices({}, [&](const model::Device&) -> Status {
               ++rows;
               return {};
             });
           }),
           "scan");
    });
    double t_raw = median_ms(3, [&] {
      raw_query(raw,
                "SELECT " + cols + ", a.app_id, a.name, a.version FROM devices d LEFT JOIN device_apps a "
                "ON a.device_id = d.id ORDER BY d.id, a.pos",
                {});
    });
    std::printf("%-48s %14.2f %14.2f %8.2f %8zu\n", "scan_devices, whole fleet with apps", t_store, t_raw,
                t_store / t_raw, rows);
  }
  sqlite3_close(raw);
  s.reset();
  if (!pg.empty()) run_postgres(pg, org, devices, batch);
  if (dir.empty()) std::filesystem::remove_all(root);
  return 0;
}
