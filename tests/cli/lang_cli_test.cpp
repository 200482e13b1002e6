// The project's language rule at the command line, end to end with the real executable and a
// real SQLite file: `fleetward demo` builds its organisation in its --lang (Russian names of
// units, people, job titles and policies by default; English with --lang en; the same ids,
// logins and devices either way; org.lang set to match), and the command line's own messages
// (usage errors, "not found" answers, the frame of lower-level errors) are in the reader's
// language (--lang, $FLEETWARD_LANG, org.lang, the locale) with no English left in the translated
// ones; `campaign notices` renders the demo's reminders in both languages, dates in Moscow time.
// Single-threaded test code (one process per command; the environment is set per call).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "policy/policy.h"
#include "store/store.h"
#include "support/run_cli.h"

namespace {

namespace fs = std::filesystem;
using fw::testing::run_cli;
using fw::testing::shell_quote;
using fw::policy::Lang;

bool has_cyrillic(std::string_view s) {
  // UTF-8 of U+0400..U+04FF starts with 0xD0..0xD3.
  for (unsigned char c : s)
    if (c >= 0xD0 && c <= 0xD3) return true;
  return false;
}
bool has_ascii_letter(std::string_view s) {
  for (char c : s)
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return true;
  return false;
}

// The catalogue's text with "{}" filled in order (what the executable prints).
std::string text(Lang lang, std::string_view key, std::vector<std::string> args = {}) {
  std::string s(fw::policy::tr(lang, key));
  for (const auto& a : args)
    if (auto p = s.find("{}"); p != std::string::npos) s.replace(p, 2, a);
  return s;
}

// The environment of one command: the variables that choose the language, cleared first.
struct Env {
  std::map<std::string, std::string> vars;
};

class LangCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "fw-lang-cli-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs `args` with only the language variables in `env` set (and FLEETWARD_DB unset).
  fw::testing::CliOutcome run(const std::string& args, const Env& env = {}) {
    static const char* kVars[] = {"FLEETWARD_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "FLEETWARD_DB"};
    std::map<std::string, std::string> saved;
    for (const char* v : kVars) {
      if (const char* x = std::getenv(v)) saved[v] = x;
      ::unsetenv(v);
    }
    for (const auto& [k, v] : env.vars) ::setenv(k.c_str(), v.c_str(), 1);
    auto r = run_cli(args);
    for (const char* v : kVars) ::unsetenv(v);
    for (const auto& [k, v] : saved) ::setenv(k.c_str(), v.c_str(), 1);
    return r;
  }

  // Builds a small demo in `lang` ("" = the default) and returns its database path.
  std::string demo(const std::string& name, const std::string& lang, int devices = 80) {
    const auto data = (dir_ / name).string();
    auto r = run("demo --no-serve --devices " + std::to_string(devices) + " --seed 3 --data-dir " + shell_quote(data) +
                 (lang.empty() ? "" : " --lang " + lang));
    EXPECT_EQ(r.code, 0) << r.out;
    return data + "/fleetward.db";
  }

  struct Org {
    std::vector<fw::model::OrgUnit> units;
    std::vector<fw::model::Person> people;
    std::string lang;
  };
  static Org read_org(const std::string& db) {
    Org o;
    auto s = fw::store::Store::open(db);
    EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
    if (!s) return o;
    auto st = (*s)->read([&](fw::store::Tx& tx) -> fw::Status {
      fw::store::PageRequest page;
      page.limit = 1000;
      for (;;) {
        FW_TRY(auto pg, tx.list_people({}, page));
        o.people.insert(o.people.end(), pg.items.begin(), pg.items.end());
        if (pg.next_cursor.empty()) break;
        page.cursor = pg.next_cursor;
      }
      FW_TRY(auto units, tx.list_org_units({}, fw::store::PageRequest{.limit = 1000}));
      o.units = units.items;
      FW_TRY(o.lang, tx.get_setting("org.lang"));
      return {};
    });
    EXPECT_TRUE(st) << (st ? "" : st.error().to_string());
    return o;
  }

  fs::path dir_;
};

TEST_F(LangCli, DemoNamesFollowTheOrganisationsLanguage) {
  const auto ru_db = demo("ru", "");  // Russian is the default
  const auto en_db = demo("en", "en");
  const Org ru = read_org(ru_db), en = read_org(en_db);
  EXPECT_EQ(ru.lang, "ru");
  EXPECT_EQ(en.lang, "en");
  ASSERT_EQ(ru.units.size(), 16u);
  ASSERT_EQ(ru.units.size(), en.units.size());
  ASSERT_GE(ru.people.size(), 20u);
  ASSERT_EQ(ru.people.size(), en.people.size());
  for (const auto& u : ru.units) {
    EXPECT_TRUE(has_cyrillic(u.name) && !has_ascii_letter(u.name))
        << u.path << ": " << u.name;
  }
  for (const auto& u : en.units) EXPECT_FALSE(has_cyrillic(u.name)) << u.path << ": " << u.name;
  std::map<std::string, const fw::model::Person*> en_by_id;
  for (const auto& p : en.people) en_by_id[p.id] = &p;
  for (const auto& p : ru.people) {
    // "Фамилия Имя Отчество", Cyrillic only; the job title Russian.
    EXPECT_TRUE(has_cyrillic(p.name) && !has_ascii_letter(p.name)) << p.id << ": " << p.name;
    EXPECT_EQ(std::count(p.name.begin(), p.name.end(), ' '), 2) << p.name;
    EXPECT_TRUE(has_cyrillic(p.title) && !has_ascii_letter(p.title)) << p.id << ": " << p.title;
    // Logins and e-mail addresses are ASCII and the same as in the English demo.
    for (char c : p.login) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) << p.login;
    EXPECT_EQ(p.email, p.login + "@gov.example");
    auto it = en_by_id.find(p.id);
    ASSERT_NE(it, en_by_id.end()) << p.id;
    EXPECT_EQ(it->second->login, p.login);
    EXPECT_EQ(it->second->org_unit_path, p.org_unit_path);
    EXPECT_EQ(it->second->manager_id, p.manager_id);
    EXPECT_FALSE(has_cyrillic(it->second->name)) << it->second->name;
    EXPECT_FALSE(has_cyrillic(it->second->title)) << it->second->title;
  }

  // The organisation's setting decides the report's language; the campaign's title and the
  // units are the demo's own words.
  auto report_ru = run("report --campaign replace-ios --db " + shell_quote(ru_db));
  ASSERT_EQ(report_ru.code, 0) << report_ru.out;
  EXPECT_NE(report_ru.out.find("Замена iPhone на разрешённые платформы до 31 марта"), std::string::npos)
      << report_ru.out.substr(0, 600);
  EXPECT_NE(report_ru.out.find("Центральный аппарат"), std::string::npos);
  EXPECT_NE(report_ru.out.find("По подразделениям"), std::string::npos);
  // Rules by the titles the policy stores in the organisation's language, the id beside them.
  EXPECT_NE(report_ru.out.find("\nБез iPhone и iPad (no-ios)  "), std::string::npos);
  auto report_en = run("report --campaign replace-ios --db " + shell_quote(en_db));
  ASSERT_EQ(report_en.code, 0) << report_en.out;
  EXPECT_NE(report_en.out.find("Replace iPhones with approved platforms by 31 March"), std::string::npos);
  EXPECT_NE(report_en.out.find("Central Administration"), std::string::npos);
  EXPECT_NE(report_en.out.find("By org unit"), std::string::npos);
  EXPECT_NE(report_en.out.find("\nNo iPhones or iPads (no-ios)  "), std::string::npos);
  EXPECT_FALSE(has_cyrillic(report_en.out)) << report_en.out.substr(0, 600);
  // The translated policy has the same rules: the same numbers in both demos' JSON reports.
  auto json_ru = run("report --campaign replace-ios --format json --db " + shell_quote(ru_db));
  auto json_en = run("report --campaign replace-ios --format json --db " + shell_quote(en_db));
  auto burndown = [](const std::string& j) { return j.substr(j.find("\"burndown\""), 400); };
  ASSERT_EQ(json_ru.code, 0);
  ASSERT_EQ(json_en.code, 0);
  EXPECT_EQ(burndown(json_ru.out), burndown(json_en.out));

  auto bad = run("demo --no-serve --lang de --data-dir " + shell_quote((dir_ / "de").string()));
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("--lang"), std::string::npos) << bad.out;
}

// Each case: a command line, its exit status, the catalogue key (and arguments) it answers
// with, after "fleetward <command>: ".
struct ErrorCase {
  std::string args;  // "{db}": the demo's database, "{empty}": a database without policies
  int code;
  std::string command, key;
  std::vector<std::string> key_args;
};

TEST_F(LangCli, ErrorsAreInTheReadersLanguageWithNoEnglishLeft) {
  const auto db = demo("ru", "");
  const auto empty = (dir_ / "empty.db").string();
  ASSERT_EQ(run("init --db " + shell_quote(empty)).code, 0);
  const std::vector<ErrorCase> cases = {
      {"report --format json --table rules --db {db}", 2, "report", "cli.report.table_needs_csv", {}},
      {"report --bom --db {db}", 2, "report", "cli.report.bom_needs_csv", {}},
      {"report --campaign no-such --db {db}", 1, "report", "cli.report.not_found", {"no-such"}},
      {"report --db {empty}", 1, "report", "cli.report.no_active", {}},
      {"report", 2, "report", "cli.no_db", {}},
      {"campaign actions no-such --db {db}", 1, "campaign", "cli.campaign.not_found", {"no-such"}},
      {"campaign actions mobile-baseline --db {db}", 1, "campaign", "cli.campaign.is_policy", {"mobile-baseline"}},
      {"campaign actions replace-ios --window 0 --db {db}", 2, "campaign", "cli.campaign.window", {}},
      {"discover --format apache x.log --db {db}", 2, "discover", "cli.discover.format", {"apache"}},
      {"discover --format nginx x.log --db {db}", 2, "discover", "cli.discover.nginx_needs_format", {}},
      {"discover x.log", 2, "discover", "cli.discover.no_db", {}},
      // Operator commands: usage errors and "not found".
      {"exemption remove nope --db {db}", 1, "exemption", "cli.exemption.not_found", {"nope"}},
      {"exemption add --policy replace-ios --reason r --approver a --for 1d --db {db}", 2, "exemption",
       "cli.exemption.person_or_device", {}},
      {"exemption add --person x --policy replace-ios --reason r --approver a --for soon --db {db}", 2, "exemption",
       "cli.exemption.for", {"soon"}},
      {"exemption add --person x --policy nope --reason r --approver a --for 1d --db {db}", 1, "exemption",
       "cli.no_policy", {"nope"}},
      {"exemption add --person nobody --policy replace-ios --reason r --approver a --for 1d --db {db}", 1,
       "exemption", "cli.no_person", {"nobody"}},
      {"exemption list --format xml --db {db}", 2, "exemption", "cli.table_or_json", {"xml"}},
      {"device show nope --db {db}", 1, "device", "cli.device.not_found", {"nope"}},
      {"device set-unit nope --db {db}", 2, "device", "cli.device.path_or_clear", {}},
      {"token revoke tok-nope --db {db}", 1, "token", "cli.token.not_found", {"tok-nope"}},
      {"token create --name x --role wizard --db {db}", 2, "token", "cli.token.role", {"wizard"}},
      {"token create --name x --role auditor --expires never --db {db}", 2, "token", "cli.token.expires", {"never"}},
      {"policy evaluate --policy nope --db {db}", 1, "policy", "cli.no_policy", {"nope"}},
  };
  auto fill = [&](std::string s) {
    for (auto [k, v] : {std::pair{"{db}", shell_quote(db)}, std::pair{"{empty}", shell_quote(empty)}})
      if (auto p = s.find(k); p != std::string::npos) s.replace(p, std::string_view(k).size(), v);
    return s;
  };
  for (const auto& c : cases) {
    for (Lang lang : {Lang::ru, Lang::en}) {
      const std::string flag = lang == Lang::ru ? "ru" : "en";
      // Every command here takes --lang; the environment is tested below.
      const std::string args = fill(c.args) + " --lang " + flag;
      auto r = run(args);
      EXPECT_EQ(r.code, c.code) << args << "\n" << r.out;
      const std::string want = "fleetward " + c.command + ": " + text(lang, c.key, c.key_args) + "\n";
      EXPECT_EQ(r.out, want) << args;
      if (lang == Lang::ru) {
        // No English fallback: the Russian text differs from the English one and has Cyrillic.
        EXPECT_NE(text(Lang::ru, c.key, c.key_args), text(Lang::en, c.key, c.key_args)) << c.key;
        EXPECT_TRUE(has_cyrillic(r.out)) << args << "\n" << r.out;
      }
    }
  }
}

// The operator commands' confirmations in Russian (the organisation's language, or
// $FLEETWARD_LANG) and in English (--lang en): exemption add/list/remove, token create/list/
// revoke, policy evaluate, import and org show; no English words left in the Russian ones but
// ids, flags and the zone's name.
TEST_F(LangCli, OperatorCommandsAnswerInTheReadersLanguage) {
  const auto db = demo("ru", "");
  const auto q = shell_quote(db);
  const auto person = read_org(db).people.at(0).id;
  auto ok = [&](const std::string& args, const Env& env = {}) {
    auto r = run(args, env);
    EXPECT_EQ(r.code, 0) << args << "\n" << r.out;
    return r.out;
  };
  const Env ru_env{{{"FLEETWARD_LANG", "ru"}}};

  auto add = ok("exemption add --person " + person + " --policy replace-ios --reason r --approver a --for 30d --id ex-ru --db " + q);
  EXPECT_EQ(add.rfind("добавлено исключение ex-ru: сотрудник " + person + " — replace-ios, до ", 0), 0u) << add;
  EXPECT_NE(add.find("\nперепроверено replace-ios: "), std::string::npos) << add;
  EXPECT_TRUE(std::regex_search(add, std::regex("перепроверено replace-ios: [0-9]+ устройств(о|а)?, [0-9]+ изменени")))
      << add;
  auto list = ok("exemption list --db " + q);
  EXPECT_NE(list.find("КТО/ЧТО"), std::string::npos) << list;
  EXPECT_NE(list.find("ИСТЕКАЕТ (Europe/Moscow)"), std::string::npos) << list;
  EXPECT_NE(list.find("действует"), std::string::npos) << list;
  auto list_en = ok("exemption list --lang en --db " + q);
  EXPECT_NE(list_en.find("SUBJECT"), std::string::npos) << list_en;
  EXPECT_NE(list_en.find("person " + person), std::string::npos) << list_en;
  EXPECT_NE(list_en.find("active"), std::string::npos) << list_en;
  EXPECT_EQ(ok("exemption remove ex-ru --db " + q).rfind("исключение ex-ru удалено\n", 0), 0u);
  EXPECT_EQ(ok("exemption list --policy replace-ios --db " + q), "исключений для replace-ios нет\n");
  EXPECT_EQ(ok("exemption list --lang en --db " + q), "no exemptions\n");

  auto created = ok("token create --name ci --role auditor --db " + q);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(created, m, std::regex("^Создан токен (tok-[0-9a-f]+) \\(ci, auditor\\)\\.\n"
                                                       "Секрет \\(показывается один раз, сохраните его\\): fw_")))
      << created;
  const std::string tok = m[1].str();
  EXPECT_NE(ok("token list --db " + q).find("\tИМЯ\t"), std::string::npos);
  EXPECT_EQ(ok("token revoke " + tok + " --db " + q), "Токен " + tok + " отозван (завершено: 0 сеансов панели).\n");
  auto created_en = ok("token create --name ci2 --role auditor --lang en --db " + q);
  EXPECT_EQ(created_en.rfind("Created token tok-", 0), 0u) << created_en;

  auto evaluated = ok("policy evaluate --policy replace-ios --db " + q);
  EXPECT_EQ(evaluated.rfind("проверено: ", 0), 0u) << evaluated;
  EXPECT_EQ(ok("policy evaluate --policy replace-ios --lang en --db " + q).rfind("evaluated ", 0), 0u);

  // A database without org.lang: the locale decides before it is opened, then Russian (the
  // organisation's default) unless --lang or $FLEETWARD_LANG chose.
  const auto empty = (dir_ / "empty.db").string();
  ASSERT_EQ(run("init --db " + shell_quote(empty)).code, 0);
  const auto units = (dir_ / "org-units.csv").string();
  {
    std::ofstream f(units);
    f << "path,name\n/hq,Head office\n/hq/it,IT\n";
  }
  EXPECT_EQ(ok("import --db " + shell_quote(empty) + " " + shell_quote(units), ru_env),
            units + ": импортировано: 2 подразделения, 0 сотрудников, 0 устройств\n");
  EXPECT_EQ(ok("import --lang en --db " + shell_quote(empty) + " " + shell_quote(units)),
            units + ": imported 2 org units, 0 people, 0 devices\n");
  EXPECT_EQ(ok("org show --db " + shell_quote(empty)),
            "timezone\tEurope/Moscow\t(по умолчанию)\nlang\tru\t(по умолчанию)\n");
  EXPECT_EQ(ok("org show --lang en --db " + shell_quote(empty)),
            "timezone\tEurope/Moscow\t(default)\nlang\tru\t(default)\n");
  auto nothing = run("org set --db " + shell_quote(empty), ru_env);
  EXPECT_EQ(nothing.code, 2);
  EXPECT_EQ(nothing.out, "fleetward org: " + text(Lang::ru, "cli.org.nothing") + "\n");

  // No English left in the Russian confirmations but ids, flags and names.
  for (std::string out : {add, list, created, evaluated}) {
    for (std::string_view allowed : {"replace-ios", "Europe/Moscow", "auditor", "ci", "ex-ru", "fw_", "tok-", "ID"})
      for (size_t p; (p = out.find(allowed)) != std::string::npos;) out.erase(p, allowed.size());
    out = std::regex_replace(out, std::regex("p-[0-9]+|[0-9a-f]{8,}|\\b[ra]\\b"), "");
    EXPECT_FALSE(has_ascii_letter(out)) << out;
  }
}

// --help in Russian when the language known before parsing is Russian (--lang ru in argv,
// $FLEETWARD_LANG, the locale): every command's and option's description and CLI11's labels,
// for every command and subcommand; English with --lang en. A description without a Russian
// text is named.
TEST_F(LangCli, HelpIsInRussian) {
  // The description column starts at 30; a longer name puts it on the next line.
  auto untranslated = [](const std::string& help) {
    std::vector<std::string> bad;
    std::istringstream in(help);
    std::string line, first;
    std::getline(in, first);
    if (!has_cyrillic(first)) bad.push_back(first);
    while (std::getline(in, line)) {
      if (!line.starts_with("  ")) continue;
      if (line.size() > 30 && line.compare(28, 2, "  ") == 0 && line[30] != ' ') line = line.substr(30);
      else if (line.starts_with(std::string(30, ' '))) line = line.substr(30);
      else continue;  // a long name: its description follows
      if (!has_cyrillic(line)) bad.push_back(line);
    }
    return bad;
  };
  auto subcommands = [](const std::string& help) {
    std::vector<std::string> out;
    const std::string head = "\nКоманды:\n";
    const auto p = help.find(head);
    if (p == std::string::npos) return out;
    std::istringstream in(help.substr(p + head.size()));
    std::string line;
    while (std::getline(in, line) && line.starts_with("  ")) out.push_back(line.substr(2, line.find(' ', 2) - 2));
    return out;
  };
  std::vector<std::string> todo = {""};
  size_t seen = 0;
  while (!todo.empty()) {
    const std::string cmd = todo.back();
    todo.pop_back();
    ++seen;
    // The flag for some, the environment for the others.
    auto r = seen % 2 ? run(cmd + " --help --lang ru") : run(cmd + " --help", Env{{{"FLEETWARD_LANG", "ru"}}});
    EXPECT_EQ(r.code, 0) << cmd << "\n" << r.out;
    EXPECT_NE(r.out.find("Использование: fleetward" + (cmd.empty() ? "" : " " + cmd)), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("  -h,--help                   Показать эту справку и выйти\n"), std::string::npos) << r.out;
    for (const auto& line : untranslated(r.out)) ADD_FAILURE() << "fleetward " << cmd << " --help: untranslated: " << line;
    for (const auto& sub : subcommands(r.out)) todo.push_back(cmd.empty() ? sub : cmd + " " + sub);
  }
  EXPECT_GE(seen, 35u);  // every command and subcommand
  auto en = run("exemption add --help --lang en");
  EXPECT_EQ(en.code, 0);
  EXPECT_NE(en.out.find("Exempt a person or a device (audited; re-evaluates the policy)\nUsage: "), std::string::npos)
      << en.out;
  EXPECT_NE(en.out.find("Print this help message and exit"), std::string::npos);
  EXPECT_FALSE(has_cyrillic(en.out)) << en.out;
  EXPECT_FALSE(has_cyrillic(run("--help").out));  // no language chosen, no Russian locale: English
}

TEST_F(LangCli, TheLanguageComesFromTheFlagTheEnvironmentOrTheLocale) {
  const std::string ru = "fleetward: " + text(Lang::ru, "cli.unknown_command", {"frobnicate"}) + "\n";
  const std::string en = "fleetward: " + text(Lang::en, "cli.unknown_command", {"frobnicate"}) + "\n";
  struct Case {
    std::string args;
    std::map<std::string, std::string> env;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"frobnicate", {}, en},                                                  // no locale: English
      {"frobnicate", {{"LANG", "C.UTF-8"}}, en},
      {"frobnicate", {{"LANG", "ru_RU.UTF-8"}}, ru},                           // the locale
      {"frobnicate", {{"LANG", "ru_RU.UTF-8"}, {"LC_ALL", "C"}}, en},          // LC_ALL first
      {"frobnicate", {{"LANG", "en_US.UTF-8"}, {"LC_MESSAGES", "ru_RU.UTF-8"}}, ru},
      {"frobnicate", {{"LANG", "ru_RU.UTF-8"}, {"FLEETWARD_LANG", "en"}}, en},  // the product's own variable
      {"frobnicate --lang ru", {{"FLEETWARD_LANG", "en"}}, ru},               // the flag first
      {"frobnicate --lang=ru", {}, ru},
  };
  for (const auto& c : cases) {
    auto r = run(c.args, Env{c.env});
    EXPECT_EQ(r.code, 2) << c.args;
    EXPECT_EQ(r.out, c.want) << c.args;
  }
}

TEST_F(LangCli, TheEnvironmentOutranksTheOrganisationForReportsNoticesAndDiscover) {
  // A Russian organisation read by someone who set FLEETWARD_LANG=en: the report, the notices
  // and discover's summary are English, as README's order says (--lang, $FLEETWARD_LANG,
  // org.lang, the locale). A dry run has no organisation: the locale decides.
  const auto db = demo("ru", "", 80);
  const Env en_env{{{"FLEETWARD_LANG", "en"}, {"LANG", "ru_RU.UTF-8"}}};
  auto report = run("report --campaign replace-ios --db " + shell_quote(db), en_env);
  ASSERT_EQ(report.code, 0) << report.out;
  EXPECT_EQ(report.out.rfind("Campaign: replace-ios", 0), 0u) << report.out.substr(0, 200);
  auto notices = run("campaign notices replace-ios --window 7d --limit 1 --db " + shell_quote(db), en_env);
  ASSERT_EQ(notices.code, 0) << notices.out;
  EXPECT_EQ(notices.out.rfind("To: ", 0), 0u) << notices.out.substr(0, 200);
  EXPECT_EQ(run("report --campaign replace-ios --db " + shell_quote(db)).out.rfind("Кампания: replace-ios", 0), 0u);

  const auto log = (dir_ / "a.log").string();
  {
    std::ofstream f(log);
    f << "10.0.0.1 - ivanov [01/Mar/2023:08:00:01 +0300] \"GET / HTTP/1.1\" 200 5 \"-\" \"Mozilla/5.0 (iPhone; "
         "CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.3 Mobile/15E148\"\n";
  }
  auto disc = run("discover --no-progress --db " + shell_quote(db) + " " + shell_quote(log), en_env);
  ASSERT_EQ(disc.code, 0) << disc.out;
  EXPECT_NE(disc.out.find("lines 1, requests 1, unparsed 0"), std::string::npos) << disc.out;
  auto dry_c = run("discover --no-progress --dry-run " + shell_quote(log), Env{{{"LC_ALL", "C.UTF-8"}}});
  EXPECT_NE(dry_c.out.find("lines 1, requests 1, unparsed 0"), std::string::npos) << dry_c.out;
  auto dry_ru = run("discover --no-progress --dry-run " + shell_quote(log), Env{{{"LANG", "ru_RU.UTF-8"}}});
  EXPECT_NE(dry_ru.out.find("строк: 1, запросов: 1, не разобрано: 0"), std::string::npos) << dry_ru.out;
}

TEST_F(LangCli, ABadCommandLineIsFramedInRussian) {
  // CLI11's own description stays English inside a Russian frame that names the command and
  // its help; the status is 2 like every bad command line.
  auto r = run("report --format pdf --lang ru");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(r.out.rfind("fleetward report: ошибка в командной строке: --format: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\nСправка: fleetward report --help\n"), std::string::npos) << r.out;
  auto sub = run("campaign actions", Env{{{"FLEETWARD_LANG", "ru"}}});
  EXPECT_EQ(sub.code, 2) << sub.out;
  EXPECT_EQ(sub.out.rfind("fleetward campaign actions: ошибка в командной строке: ", 0), 0u) << sub.out;
  EXPECT_NE(sub.out.find("Справка: fleetward campaign actions --help"), std::string::npos) << sub.out;
  // In English: CLI11's own text, as before.
  auto en = run("report --format pdf --lang en");
  EXPECT_EQ(en.code, 2);
  EXPECT_NE(en.out.find("Run with --help for more information."), std::string::npos) << en.out;
  EXPECT_FALSE(has_cyrillic(en.out)) << en.out;
  // Help is not an error: status 0 whatever the language.
  EXPECT_EQ(run("report --help --lang ru").code, 0);
}

TEST_F(LangCli, LowerLevelErrorsGetATranslatedFrame) {
  // A log file that cannot be opened: the detail (file name, the system's words) stays as the
  // reader's system gives it; its kind is said in Russian.
  const auto db = (dir_ / "x.db").string();
  ASSERT_EQ(run("init --db " + shell_quote(db)).code, 0);
  const auto missing = (dir_ / "missing.log").string();
  auto ru = run("discover --no-progress --lang ru --db " + shell_quote(db) + " " + shell_quote(missing));
  EXPECT_EQ(ru.code, 1) << ru.out;
  EXPECT_EQ(ru.out.rfind("fleetward discover: ошибка ввода-вывода: ", 0), 0u) << ru.out;
  EXPECT_NE(ru.out.find(missing), std::string::npos) << ru.out;
  auto en = run("discover --no-progress --lang en --db " + shell_quote(db) + " " + shell_quote(missing));
  EXPECT_EQ(en.code, 1) << en.out;
  EXPECT_EQ(en.out.rfind("fleetward discover: " + missing, 0), 0u) << en.out;
}

TEST_F(LangCli, TheDemosNotificationTextsInBothLanguages) {
  // The demo's clock is 1 March 2023 09:00 Moscow; its schedule reminds owners every 7 days.
  const auto ru_db = demo("ru", "", 200);
  const auto en_db = demo("en", "en", 200);
  auto ru = run("campaign notices replace-ios --window 7d --limit 3 --db " + shell_quote(ru_db));
  ASSERT_EQ(ru.code, 0) << ru.out;
  EXPECT_EQ(ru.out.rfind("Кому: ", 0), 0u) << ru.out.substr(0, 300);
  EXPECT_NE(ru.out.find("\nТема: Напоминание: Замена iPhone на разрешённые платформы до 31 марта — срок 31 марта "
                        "2023 г., 23:59 (Europe/Moscow)\n"),
            std::string::npos)
      << ru.out.substr(0, 600);
  EXPECT_NE(ru.out.find("Срок: 31 марта 2023 г., 23:59 (Europe/Moscow); до срока 31 день.\n"), std::string::npos);
  EXPECT_NE(ru.out.find("  - Без iPhone и iPad. Что сделать: Сдайте устройство"), std::string::npos);
  EXPECT_NE(ru.out.find("Сообщение fleetward от 1 марта 2023 г., 09:00 (Europe/Moscow)"), std::string::npos);
  for (const char* english : {"Reminder", "Dear", "Deadline", "What to do", "Sent by", "notices due", "To:"})
    EXPECT_EQ(ru.out.find(english), std::string::npos) << english;
  auto en = run("campaign notices replace-ios --window 7d --limit 3 --db " + shell_quote(en_db));
  ASSERT_EQ(en.code, 0) << en.out;
  EXPECT_EQ(en.out.rfind("To: ", 0), 0u) << en.out.substr(0, 300);
  EXPECT_NE(en.out.find("\nSubject: Reminder: Replace iPhones with approved platforms by 31 March — deadline 31 March "
                        "2023, 23:59 (Europe/Moscow)\n"),
            std::string::npos)
      << en.out.substr(0, 600);
  EXPECT_FALSE(has_cyrillic(en.out)) << en.out.substr(0, 600);
  // The same people are due in both languages: the same count on the last line.
  auto count_after = [](const std::string& out, const std::string& before) {
    const auto line = out.substr(out.rfind('\n', out.size() - 2) + 1);
    const auto p = line.find(before);
    if (p == std::string::npos) return std::string();
    const auto from = p + before.size();
    return line.substr(from, line.find_first_not_of("0123456789", from) - from);
  };
  const auto n_ru = count_after(ru.out, "уведомлений к отправке: ");
  EXPECT_FALSE(n_ru.empty()) << ru.out.substr(ru.out.size() > 200 ? ru.out.size() - 200 : 0);
  EXPECT_EQ(n_ru, count_after(en.out, "")) << en.out.substr(en.out.size() > 200 ? en.out.size() - 200 : 0);
  // `campaign actions` names the people it lists (id, then the name in the demo's language).
  auto actions = run("campaign actions replace-ios --window 7d --db " + shell_quote(ru_db));
  ASSERT_EQ(actions.code, 0) << actions.out;
  std::smatch m;  // std::regex reads bytes: the name's three words, then Cyrillic checked
  ASSERT_TRUE(std::regex_search(actions.out, m, std::regex("\n  p-[0-9]{5} ([^ \n]+ [^ \n]+ [^ \n]+)  ")))
      << actions.out.substr(0, 800);
  EXPECT_TRUE(has_cyrillic(m[1].str()) && !has_ascii_letter(m[1].str())) << m[1].str();
  // --person keeps one person's notices; a campaign that does not exist is said so.
  auto one = run("campaign notices replace-ios --window 7d --person p-99999 --db " + shell_quote(ru_db));
  EXPECT_EQ(one.code, 0) << one.out;
  EXPECT_EQ(one.out, "уведомлений к отправке: 0\n");
  auto missing = run("campaign notices nope --db " + shell_quote(ru_db));
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.out, "fleetward campaign: " + text(Lang::ru, "cli.campaign.not_found", {"nope"}) + "\n");
}

}  // namespace
