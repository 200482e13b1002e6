// `fleetward discover [--format F] [--dry-run] [--db URL] FILE...`: streams access logs
// (plain, gzip, or "-" for stdin), classifies every client, aggregates sightings per
// (user, device) and, unless --dry-run, records them in the inventory through
// service/sightings.h. Progress bar on a terminal; summary table at the end, in --lang (default:
// $FLEETWARD_LANG, else the organisation's setting; the locale for a --dry-run, which opens
// no database).
// Runs on the main thread; detect::scan_logs reads a large file with up to --threads
// threads, and the classifier loads on a thread of its own meanwhile (then classifies the
// clients of the first MiB of each file: warm_classifier).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <iostream>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "cli/cli_db.h"
#include "cli/cli_text.h"
#include "cli/command.h"
#include "detect/detect.h"
#include "service/sightings.h"
#include "store/store.h"

namespace fw::cli {
namespace {

struct Options {
  std::string format = "auto";
  std::string nginx_format;
  bool dry_run = false;
  std::string db;
  std::vector<std::string> strip_domains;
  std::vector<std::string> files;
  bool no_progress = false;
  unsigned threads = 0;
  std::string lang;
};

struct Progress {
  bool enabled = false;
  policy::Lang lang = policy::Lang::ru;
  uint64_t total_bytes = 0, done_bytes = 0, lines = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now(), last;

  void draw(bool final = false) {
    if (!enabled) return;
    auto now = std::chrono::steady_clock::now();
    if (!final && now - last < std::chrono::milliseconds(200)) return;
    last = now;
    double secs = std::chrono::duration<double>(now - start).count();
    double rate = secs > 0 ? static_cast<double>(lines) / secs : 0;
    double bps = secs > 0 ? static_cast<double>(done_bytes) / secs : 0;
    double frac = total_bytes ? static_cast<double>(done_bytes) / static_cast<double>(total_bytes) : 0;
    int width = 30, filled = static_cast<int>(frac * width);
    std::string bar(static_cast<size_t>(std::min(filled, width)), '#');
    bar.resize(static_cast<size_t>(width), '.');
    double eta = bps > 0 && total_bytes > done_bytes ? static_cast<double>(total_bytes - done_bytes) / bps : 0;
    auto t = [&](std::string_view key) { return std::string(policy::tr(lang, key)); };
    if (total_bytes == 0) {  // standard input or pipes only: no size to measure against
      std::fprintf(stderr, "\r%s %9.0f %s", policy::tr_n(lang, "discover.lines", static_cast<int64_t>(lines)).c_str(),
                   rate, t("discover.lines_per_s").c_str());
      if (final) std::fprintf(stderr, "\n");
      return;
    }
    std::fprintf(stderr, "\r[%s] %5.1f%% %7.1f/%.1f %s %9.0f %s %s %4.0f %s", bar.c_str(), frac * 100,
                 static_cast<double>(done_bytes) / 1e6, static_cast<double>(total_bytes) / 1e6, t("discover.mb").c_str(),
                 rate, t("discover.lines_per_s").c_str(), t("discover.eta").c_str(), eta, t("discover.s").c_str());
    if (final) std::fprintf(stderr, "\n");
  }
};

// "platform       users" with the first column 14 characters wide and the second 8, counted in
// characters rather than bytes (Cyrillic words take two bytes a letter).
size_t width(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
std::string row(const std::string& a, const std::string& b) {
  std::string s = a;
  s.append(width(a) < 14 ? 14 - width(a) : 0, ' ');
  s += ' ';
  s.append(width(b) < 8 ? 8 - width(b) : 0, ' ');
  return s + b;
}

struct BadLine {
  std::string where, message;
};

// Exit status 1 for a failure, 2 for a bad command line.
[[noreturn]] void die(const std::string& msg, int code = 1) {
  std::cerr << "fleetward discover: " << msg << "\n";
  throw CLI::RuntimeError(code);
}

// Classifies the clients of the first MiB of each plain log file (at most 512 distinct ones),
// on the classifier's thread once it is loaded, while the scan runs: the rules they need have
// their RE2 compiled (on first use) and the results are in the classifier's cache when the
// sightings are classified after the scan, on the critical path. Only a warm-up: any problem
// (gzip, stdin, unreadable, another format) is left to the scan to report.
void warm_classifier(const detect::Classifier& cl, const std::vector<std::string>& files, detect::LogFormat format,
                     const std::string& nginx_format) {
  constexpr size_t kBytes = 1 << 20, kClients = 512;
  std::unordered_set<std::string> seen;
  std::string buf(kBytes, '\0');
  for (const auto& f : files) {
    if (f == "-") continue;
    // Regular files only, and a named pipe is not even opened: that open would block this
    // thread (no writer left), or let a waiting writer start, and then see the reader it met
    // go away (SIGPIPE) if the scan has not opened the pipe yet. The non-blocking open and
    // fstat cover a file replaced by a pipe between stat and open.
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    ssize_t n = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? ::pread(fd, buf.data(), buf.size(), 0) : 0;
    ::close(fd);
    if (n < 2 || (static_cast<unsigned char>(buf[0]) == 0x1f && static_cast<unsigned char>(buf[1]) == 0x8b)) continue;
    auto parser = detect::LineParser::make(format, nginx_format);
    if (!parser) return;
    std::string_view text(buf.data(), static_cast<size_t>(n));
    detect::LogRecord rec;
    for (size_t nl; (nl = text.find('\n')) != std::string_view::npos; text.remove_prefix(nl + 1)) {
      auto got = parser->parse_into(text.substr(0, nl), rec);
      if (!got || !*got) continue;
      std::string key(rec.user_agent);
      key += '\x1f';
      key += rec.activesync.device_type;
      if (!seen.insert(std::move(key)).second) continue;
      detect::ActiveSyncHints h;
      h.device_type = rec.activesync.device_type;
      (void)cl.classify(rec.user_agent, h);
      if (seen.size() >= kClients) return;
    }
  }
}

void run(const Options& o) {
  auto fmt = detect::parse_log_format(o.format);
  if (!fmt) die(cli::msg("cli.discover.format", o.format), 2);
  if (*fmt == detect::LogFormat::nginx && o.nginx_format.empty()) die(cli::msg("cli.discover.nginx_needs_format"), 2);
  const std::string db = cli::db_or_env(o.db);  // like the other database commands
  if (!o.dry_run && db.empty()) die(cli::msg("cli.discover.no_db"), 2);
  // The database is opened first (its language setting names the summary's words); a dry
  // run does not touch it.
  std::unique_ptr<store::Store> store;
  if (!o.dry_run) {
    auto opened = store::Store::open(db);
    if (!opened) die(cli::error_text(opened.error()));
    store = std::move(*opened);
    cli::adopt_org_lang(*store);
  }
  const policy::Lang lang = cli::org_lang(store.get(), o.lang);
  auto t = [&](std::string_view key) { return std::string(policy::tr(lang, key)); };
  auto tn = [&](std::string_view key, uint64_t n) { return policy::tr_n(lang, key, static_cast<int64_t>(n)); };
  // The classifier (rules compiled into Hyperscan/RE2) loads on its own thread while the
  // logs are read: it is needed only for the distinct clients at the end (warmed up on
  // the first clients of each file meanwhile).
  auto classifier = std::async(std::launch::async, [&o, format = *fmt] {
    auto cl = detect::Classifier::load({});
    if (cl) warm_classifier(**cl, o.files, format, o.nginx_format);
    return cl;
  });

  Progress prog;
  prog.enabled = !o.no_progress && ::isatty(2);
  prog.lang = lang;
  for (const auto& f : o.files) {
    std::error_code ec;
    if (f == "-") continue;
    auto size = std::filesystem::file_size(f, ec);  // none for a pipe (nor its error here)
    if (!ec) prog.total_bytes += size;
  }
  detect::ScanOptions sopts_scan;
  sopts_scan.format = *fmt;
  sopts_scan.nginx_format = o.nginx_format;
  sopts_scan.strip_domains = o.strip_domains;
  sopts_scan.threads = o.threads;
  sopts_scan.keep_unparsed = 20;
  if (prog.enabled)
    sopts_scan.on_progress = [&](uint64_t bytes, uint64_t lines) {
      prog.done_bytes = bytes;
      prog.lines = lines;
      prog.draw();
    };
  auto scan = detect::scan_logs(o.files, sopts_scan);
  auto cl = classifier.get();
  if (!cl) die(cli::error_text(cl.error()));
  if (!scan) die(cli::error_text(scan.error()));
  prog.lines = scan->lines;
  prog.draw(true);
  uint64_t total_lines = scan->lines, records = scan->records, bad_count = scan->unparsed;
  std::vector<BadLine> bad;
  for (const auto& u : scan->first_unparsed)
    bad.push_back({u.file + ":" + std::to_string(u.line), u.error.to_string()});

  auto sightings = scan->sightings(**cl);
  // Summary: platforms by distinct users.
  // Only the sizes are printed (rows sorted below): hashed sets, not ordered ones.
  std::map<std::string, std::unordered_set<std::string>> users_by_os;
  std::unordered_set<std::string> no_user_clients;
  for (const auto& s : sightings) {
    std::string user = detect::normalize_user(s.user, o.strip_domains);
    std::string os = s.os_family.empty() ? t("discover.unknown_os") : s.os_family;
    if (user.empty()) no_user_clients.insert(s.fingerprint);
    else users_by_os[os].insert(user);
  }
  std::printf("%s\n", row(t("discover.platform"), t("discover.users")).c_str());
  std::vector<std::pair<size_t, std::string>> rows;
  for (const auto& [os, us] : users_by_os) rows.push_back({us.size(), os});
  std::sort(rows.rbegin(), rows.rend());
  for (const auto& [n, os] : rows) std::printf("%s\n", row(os, std::to_string(n)).c_str());
  std::printf("\n%s, %s, %s, %s, %s\n", tn("discover.lines", total_lines).c_str(), tn("discover.requests", records).c_str(),
              tn("discover.unparsed", bad_count).c_str(), tn("discover.sightings", sightings.size()).c_str(),
              tn("discover.no_user", no_user_clients.size()).c_str());
  const std::string unparsed = t("discover.unparsed_line");
  for (const auto& b : bad) std::fprintf(stderr, "%s: %s: %s\n", unparsed.c_str(), b.where.c_str(), b.message.c_str());
  if (bad_count > bad.size())
    std::fprintf(stderr, "%s: %s\n", unparsed.c_str(), tn("discover.more", bad_count - bad.size()).c_str());
  if (o.dry_run) return;

  service::SightingOptions sopts;
  sopts.strip_domains = o.strip_domains;
  sopts.classifier = *cl;
  auto res = service::ingest_sightings(*store, sightings, sopts);
  if (!res) die(cli::error_text(res.error()));
  std::printf("%s: %s, %s, %s\n", t("discover.inventory").c_str(), tn("discover.created", res->devices_created).c_str(),
              tn("discover.updated", res->devices_updated).c_str(), tn("discover.stored", res->sightings_stored).c_str());
  // Findings for the devices just recorded (campaigns such as replace-ios report them).
  SystemClock clock;
  auto ev = service::evaluate_ingested(*store, clock, res->device_ids);
  if (!ev) die(t("discover.evaluating") + ": " + cli::error_text(ev.error()));
  std::printf("%s; %s\n", tn("discover.evaluated", static_cast<uint64_t>(ev->devices)).c_str(),
              tn("discover.resolved", res->resolved_by_exchange).c_str());
  if (!res->unattributed_users.empty()) {
    std::printf("%s", tn("discover.unattributed", res->unattributed_users.size()).c_str());
    for (size_t i = 0; i < res->unattributed_users.size() && i < 50; ++i)
      std::printf(" %s", res->unattributed_users[i].c_str());
    std::printf("%s\n", res->unattributed_users.size() > 50 ? " ..." : "");
  }
}

void add_discover(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("discover", "Find every client in access logs and record unmanaged devices");
  cmd->add_option("--format", o->format, "auto|combined|common|nginx|w3c")->capture_default_str();
  cmd->add_option("--log-format", o->nginx_format, "nginx log_format string (with --format nginx)");
  cmd->add_flag("--dry-run", o->dry_run, "classify and summarise only; no database");
  cmd->add_option("--db", o->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB); not with --dry-run");
  cmd->add_option("--strip-domain", o->strip_domains, "e-mail domain to strip from user names (* = any); repeatable")->allow_extra_args(false);
  cmd->add_flag("--no-progress", o->no_progress, "no progress bar even on a terminal");
  cmd->add_option("--threads", o->threads, "threads per uncompressed log file (0 = up to 2; same results)");
  cmd->add_option("--lang", o->lang, "ru|en (default: $FLEETWARD_LANG, else the organisation's setting; with --dry-run the locale)")
      ->check(CLI::IsMember({"ru", "en"}));
  cmd->add_option("files", o->files, "log files (.gz allowed; '-' = stdin)")->required();
  cmd->callback([o] { run(*o); });
}

}  // namespace
FW_COMMAND(add_discover);
}  // namespace fw::cli
