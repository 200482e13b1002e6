// See cli_text.h. The language is a process-wide value written by main() before the command
// runs; main thread only.
#include "cli/cli_text.h"

#include <cstdlib>
#include <cstring>

namespace fw::cli {

namespace {

policy::Lang g_lang = policy::Lang::en;
bool g_explicit = false;

std::optional<policy::Lang> from_locale(const char* v) {
  if (!v || !*v) return std::nullopt;
  std::string_view s(v);
  if (s.starts_with("ru")) return policy::Lang::ru;
  return policy::Lang::en;  // C, POSIX, en_*, any other: English (the only other language)
}

}  // namespace

void init_ui_lang(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a(argv[i]);
    if (a == "--") break;
    std::optional<policy::Lang> l;
    if (a == "--lang" && i + 1 < argc) l = policy::parse_lang(argv[i + 1]);
    else if (a.starts_with("--lang=")) l = policy::parse_lang(a.substr(7));
    if (l) {
      g_lang = *l;
      g_explicit = true;
      return;
    }
  }
  if (const char* e = std::getenv("FLEETWARD_LANG"); e && *e)
    if (auto l = policy::parse_lang(e)) {
      g_lang = *l;
      g_explicit = true;
      return;
    }
  // The first of LC_ALL, LC_MESSAGES, LANG that is set decides (POSIX precedence).
  for (const char* var : {"LC_ALL", "LC_MESSAGES", "LANG"})
    if (auto l = from_locale(std::getenv(var))) {
      g_lang = *l;
      return;
    }
}

policy::Lang ui_lang() noexcept { return g_lang; }
bool ui_lang_explicit() noexcept { return g_explicit; }
void set_ui_lang(policy::Lang lang) noexcept { g_lang = lang; }

std::string count(int64_t n, std::string_view key) { return policy::tr_count_of(g_lang, key, n); }

void add_lang_option(CLI::App* cmd) {
  static std::string ignored;  // the value was read by init_ui_lang()
  cmd->add_option("--lang", ignored, "language of the messages: ru|en (default: $FLEETWARD_LANG, the "
                                     "organisation's setting, the locale)")
      ->check(CLI::IsMember({"ru", "en"}));
}

std::string error_text(const Error& e) {
  if (g_lang == policy::Lang::en) return e.to_string();
  std::string out(policy::tr(g_lang, "cli.errc." + std::string(to_string(e.code))));
  out += ": ";
  out += e.to_string();
  return out;
}

}  // namespace fw::cli
