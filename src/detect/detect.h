// detect: who is behind a User-Agent / ActiveSync request, and reading access logs.
// Public header of the module (everything else in src/detect/ is private).
// Classifier is immutable after load() and safe to share between threads (its LRU
// cache is internally locked); the log readers and Aggregator are plain values with
// pure functions, one Aggregator per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/model.h"
#include "util/error.h"
#include "util/time.h"

namespace fw::detect {

// ---------------------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------------------

// What the request itself says besides the User-Agent (Exchange ActiveSync query string).
struct ActiveSyncHints {
  std::string device_id;    // DeviceId=... (hex for the base64 form)
  std::string device_type;  // DeviceType=iPhone|iPad|Android|SAMSUNGSMG991B|Outlook...
  std::string user;         // User=...
  std::string command;      // Cmd=Sync|Ping|...
  bool empty() const { return device_id.empty() && device_type.empty() && user.empty(); }
};

// One classified client. Empty strings mean "unknown" (printed as null).
struct Classification {
  std::string os_family;   // canonical (model.h): "iOS", "iPadOS", "Android", ..., "Other"; "" unknown
  std::string os_version;  // dotted, "16.3.1"; "" unknown
  std::string vendor;      // "Apple", "Samsung", ...
  std::string model;       // "iPhone14,5", "SM-G991B", ...
  std::string type;        // "phone" | "tablet" | "desktop" | "bot" | "other"
  std::string client;      // "Mobile Safari", "Outlook", "Apple Mail (ActiveSync)", ...
  std::string client_version;
  // Families this client may really be when the string cannot tell (see docs/detection.md).
  std::vector<std::string> may_be;
  // An ActiveSync DeviceType contradicts what the User-Agent claims.
  bool spoofing_suspected = false;
  // uap-core's own names before fleetward's canonical mapping (for tests and debugging).
  std::string raw_os_family, raw_device_family, raw_ua_family;

  // The model::DeviceType for the inventory (bot -> other).
  model::DeviceType device_type() const;
  friend bool operator==(const Classification&, const Classification&) = default;
};

struct ClassifierOptions {
  // uap-core regexes.yaml; empty = find_uap_regexes().
  std::string uap_regexes_path;
  // Our own rules (data/detect/rules.yaml); empty = find_own_rules().
  std::string own_rules_path;
  // LRU cache entries (shared by all threads); 0 turns the cache off.
  size_t cache_entries = 65536;
};

// Raw uap-core result of one User-Agent, before any fleetward mapping: exactly what the
// uap-core specification asks of a parser (tests compare it with uap-core's own suite).
struct UapResult {
  std::string ua_family = "Other", ua_major, ua_minor, ua_patch;
  std::string os_family = "Other", os_major, os_minor, os_patch, os_patch_minor;
  std::string device_family = "Other", device_brand, device_model;
};

struct ClassifierStats {
  size_t rules = 0;               // total rules (uap-core + ours)
  size_t own_rules = 0;           // from our rules file
  size_t hyperscan_exact = 0;     // compiled into Hyperscan as they are
  size_t hyperscan_prefilter = 0; // compiled with HS_FLAG_PREFILTER (RE2 confirms)
  size_t re2_only = 0;            // Hyperscan could not take them: always tried with RE2
  size_t rejected = 0;            // RE2 could not compile them either: skipped
};

class Classifier {
 public:
  // Loads and compiles the rules. Fails with io_error/parse_error naming the file when a
  // rules file is missing or malformed; a single bad regex is skipped and counted.
  static Result<std::shared_ptr<const Classifier>> load(const ClassifierOptions& opts = {});
  ~Classifier();

  // Classifies one request. Never fails: unknown parts stay empty. Thread-safe.
  Classification classify(std::string_view user_agent, const ActiveSyncHints& hints = {}) const;
  // uap-core semantics only (our rules, the cache and the traps are not applied).
  UapResult parse_uap(std::string_view user_agent) const;
  const ClassifierStats& stats() const;

  struct Impl;
  explicit Classifier(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// Where regexes.yaml / rules.yaml are: $FW_UAP_REGEXES / $FW_DETECT_RULES, then the path
// compiled in (source tree), then <exe dir>/../share/fleetward/..., then
// /usr/share/fleetward/... Returns "" when none exists.
std::string find_uap_regexes();
std::string find_own_rules();

// Maps an ActiveSync native-mail build ("2004.67" from Apple-iPhone14C5/2004.67) to the
// iOS version ("16.3.1"): exact table first, then major.minor from train and letter.
// Returns "" for a string that is not such a build.
std::string ios_version_from_activesync_build(std::string_view build);
// "20D67" -> "16.3.1" (Apple build id); "" when unknown.
std::string ios_version_from_build(std::string_view build_id);
// Darwin kernel version ("22.3.0") -> iOS version ("16.3") or macOS version when mac=true.
std::string ios_version_from_darwin(std::string_view darwin, bool mac);

// ---------------------------------------------------------------------------------------
// Access-log reading (pure: one line in, one record out; files are read one layer up)
// ---------------------------------------------------------------------------------------

enum class LogFormat { auto_detect, combined, common, nginx, w3c };
std::optional<LogFormat> parse_log_format(std::string_view s) noexcept;
std::string_view to_string(LogFormat f) noexcept;

inline constexpr size_t kMaxLogLine = 64 * 1024;  // longer lines are counted as bad

// One request from a log line. Views point into the line (or into LineParser-owned
// scratch for decoded fields) and are valid until the next parse() call.
struct LogRecord {
  std::string_view time_text;   // as written
  Time time{};                  // parsed; epoch when the text did not parse
  std::string_view client_ip;
  std::string_view user;        // "-" and "" mean none
  std::string_view method, path, query;
  int status = 0;
  std::string_view user_agent;  // IIS '+' already turned back into spaces
  ActiveSyncHints activesync;   // from the query of /Microsoft-Server-ActiveSync requests
};

// Parses lines of one log file. Holds the W3C #Fields: layout and scratch buffers, so use
// one per file and per thread.
class LineParser {
 public:
  // nginx_format: an nginx log_format string, used when format == nginx.
  static Result<LineParser> make(LogFormat format, std::string_view nginx_format = {});
  // Parses one line (no trailing newline). Directive lines ("#Fields: ...") update the
  // layout and return std::nullopt with no error; a line that does not parse returns an
  // Error whose where is "byte N" of the line. With auto_detect, the first parseable line
  // fixes the format.
  Result<std::optional<LogRecord>> parse(std::string_view line);
  // The same, into a record the caller reuses across lines (no allocation per line once
  // warm): true = out holds a request; false = no request on this line (directive, empty
  // line). On an error or false, out's contents are unspecified.
  Result<bool> parse_into(std::string_view line, LogRecord& out);
  // The combined-format fast path over a read buffer: `text` starts at a line start and
  // holds at least that line's '\n'. When the fast path takes the line, out holds exactly
  // what parse_into(the line) gives (true) and the result is the length of the line with
  // its '\n'; 0 means "not taken" (another format, fast path off, a line it is not sure of,
  // no '\n' in text): find the line end and call parse_into. Saves a separate newline scan.
  size_t parse_line_at(std::string_view text, LogRecord& out);
  LogFormat format() const { return format_; }
  // The combined format has a memchr-based fast path that gives exactly what the general
  // parser gives (it hands every line it is not sure of to the general parser). On by
  // default; tests and the fuzz target turn it off to compare the two.
  void set_fast_path(bool on);

  LineParser();
  ~LineParser();
  LineParser(LineParser&&) noexcept;
  LineParser& operator=(LineParser&&) noexcept;

 private:
  struct State;
  LogFormat format_ = LogFormat::auto_detect;
  std::unique_ptr<State> st_;
};

// ActiveSync query string (plain "Cmd=Sync&User=u&DeviceId=X&DeviceType=iPhone" or the
// MS-ASHTTP base64 form). Returns empty hints when it is neither.
ActiveSyncHints parse_activesync_query(std::string_view query);
// The same into existing hints (their strings' capacity is reused); out is cleared first.
void parse_activesync_query_into(std::string_view query, ActiveSyncHints& out);

// Streams the lines (without '\n') of a log file: plain or gzip, "-" = standard input.
// on_progress(bytes) is called after each chunk read that ends at least one line, with the
// file bytes consumed since the last call (0 from standard input and pipes, where there is
// no offset to ask for). A gzip stream cut short is an io_error ("truncated"), its cut last
// line not given.
// Lines longer than kMaxLogLine are cut to kMaxLogLine + 1 bytes (the parser then rejects
// them as too long). io_error naming the path when it cannot be opened or read.
Status read_log_lines(const std::string& path, const std::function<void(std::string_view)>& on_line,
                      const std::function<void(uint64_t)>& on_progress = {});
// The same from a file already open, which it takes over (closes): a named pipe must be
// opened only once, since a second open() blocks when its writer has already finished.
// `path` names the file in errors. A line given to on_line stays valid (unchanged, in place)
// until on_progress is next called, which happens after the last line too: a caller may
// keep views of lines until then.
Status read_log_fd(int fd, const std::string& path, const std::function<void(std::string_view)>& on_line,
                   const std::function<void(uint64_t)>& on_progress = {});

// Percent-decoding ('+' kept); invalid escapes are kept as written.
std::string url_decode(std::string_view s);
void url_decode_into(std::string_view s, std::string& out);  // out is replaced

// ---------------------------------------------------------------------------------------
// Attribution and aggregation
// ---------------------------------------------------------------------------------------

// "DOMAIN\\Ivanov" -> "ivanov"; "ivanov@example.org" -> "ivanov" when the domain is in
// strip_domains (or strip_domains holds "*"); otherwise the lower-cased address. "-" and
// "" -> "".
std::string normalize_user(std::string_view user, const std::vector<std::string>& strip_domains);

// Stable key of a client: "as:" + ActiveSync device id, else "ua:" + 16 hex of a hash of
// the User-Agent.
std::string fingerprint(std::string_view user_agent, std::string_view activesync_id);

// Folds log records into sightings per (normalized user, fingerprint). Not thread-safe.
class Aggregator {
 public:
  Aggregator(std::shared_ptr<const Classifier> classifier, std::vector<std::string> strip_domains);
  void add(const LogRecord& rec);
  // Sightings sorted by (user, fingerprint); person_id left empty (attribution is the
  // service's job, it has the people).
  std::vector<model::Sighting> sightings() const;
  size_t size() const { return map_.size(); }

 private:
  std::shared_ptr<const Classifier> classifier_;
  std::vector<std::string> strip_domains_;
  std::string key_;  // scratch: user + '\x1f' + fingerprint, reused to avoid allocations
  std::unordered_map<std::string, model::Sighting> map_;
};

// ---------------------------------------------------------------------------------------
// Whole logs -> sightings (what `fleetward discover` runs)
// ---------------------------------------------------------------------------------------

struct ScanOptions {
  LogFormat format = LogFormat::auto_detect;
  std::string nginx_format;                // with LogFormat::nginx
  std::vector<std::string> strip_domains;  // as for Aggregator
  // Threads per uncompressed regular file (it is cut at line boundaries into units of up to
  // 16 MiB that the threads take in turn); 0 = min(2, hardware threads). A gzip file, standard
  // input, a pipe and a W3C log (whose #Fields: lines make a line depend on the ones before
  // it) are each read by one thread; two or more regular gzip files are read up to `threads`
  // at a time, ahead of their turn (the result is the same).
  unsigned threads = 0;
  uint64_t min_part_bytes = 8 << 20;  // a file is not cut into units smaller than this
  // Read uncompressed regular files through mmap windows rather than pread copies (less
  // CPU; a file truncated while mapped is read again with pread, see scan.cpp).
  bool map_files = true;
  uint64_t map_window_bytes = 8 << 20;  // bytes of a file mapped at a time (plus one line)
  size_t keep_unparsed = 20;  // how many unparsed lines to keep for the report
  // Called on the calling thread after each read (256 KiB) or mapped window, with the bytes
  // consumed so far (all files, all threads) and the lines counted so far.
  std::function<void(uint64_t bytes, uint64_t lines)> on_progress;
};

struct UnparsedLine {
  std::string file;
  uint64_t line = 0;  // 1-based
  Error error;        // as LineParser::parse reports it
};

class SightingTable;  // private (sighting_table.h)

struct ScanResult {
  uint64_t lines = 0, records = 0, unparsed = 0;
  std::vector<UnparsedLine> first_unparsed;  // the first keep_unparsed, in file and line order
  // The sightings, exactly as an Aggregator fed the same records in order would give them:
  // sorted by (user, fingerprint), classified with `classifier` (called once per distinct
  // User-Agent and DeviceType, so the classifier may be loaded while the logs are read).
  std::vector<model::Sighting> sightings(const Classifier& classifier) const;
  size_t sighting_count() const;
  std::shared_ptr<SightingTable> table;
};

// Reads the files in order (plain or gzip; "-" = standard input) with LineParser and folds
// every request into sightings. Lines that do not parse are counted (and the first ones
// kept), never fatal. Fails with io_error naming the file when one cannot be opened or
// read, or invalid_argument for a bad nginx format. Same results whatever opts.threads is.
// With map_files, the first call installs a SIGBUS handler (once per process, chaining to
// the previous one) so that a file truncated while mapped is read again, not a crash.
Result<ScanResult> scan_logs(const std::vector<std::string>& files, const ScanOptions& opts);

}  // namespace fw::detect
