// The language of the `fleetward` executable's own messages (errors, usage, notes on stderr)
// and their catalogue (keys "cli.*" in policy/messages.cpp, Russian and English). The
// language: --lang ru|en on the command line, else $FLEETWARD_LANG, else (once a command has
// opened its database) the organisation's setting org.lang, else the locale ($LC_ALL,
// $LC_MESSAGES, $LANG: "ru..." is Russian), else English. Set by main() before the command
// runs and by open_db(); main thread only.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "policy/policy.h"
#include "util/error.h"

namespace fw::cli {

// Chooses the language from argv and the environment (see above).
void init_ui_lang(int argc, const char* const* argv);
policy::Lang ui_lang() noexcept;
// Whether --lang or $FLEETWARD_LANG chose it (then the organisation's setting does not).
bool ui_lang_explicit() noexcept;
void set_ui_lang(policy::Lang lang) noexcept;

// The catalogue's text of `key` in ui_lang(), its "{}" filled with `args` in order.
template <class... A>
std::string msg(std::string_view key, const A&... args) {
  return fmt::format(fmt::runtime(policy::tr(ui_lang(), key)), args...);
}

// "3 устройства" / "3 devices": n and the noun in the form the number takes. The catalogue
// has `key`.one ("устройство" / "device"), `key`.few ("устройства") and `key`.many
// ("устройств" / "devices"); English uses .one for 1 and .many otherwise.
std::string count(int64_t n, std::string_view key);

// Adds `--lang ru|en` to a subcommand whose messages follow the reader's language, so that the
// flag parses there; init_ui_lang() has already read its value from argv.
void add_lang_option(CLI::App* cmd);

// `--help` in the reader's language: when ui_lang() is Russian (as known before parsing:
// --lang in argv, $FLEETWARD_LANG, the locale; not org.lang), replaces the descriptions of
// every command and option of `app` that help_ru() knows, and CLI11's labels. Call once, after
// every command is added and before parsing (help_ru.cpp).
void translate_help(CLI::App& app);
// The Russian description of an English one registered by a command; "" when there is none.
std::string_view help_ru(std::string_view en) noexcept;

// An error from a lower layer, framed for the reader: in Russian its kind is said in Russian
// ("не найдено", "ошибка разбора"...) before its place and its (English) detail; in English
// it is Error::to_string() as before.
std::string error_text(const Error& e);

}  // namespace fw::cli
