// Tests for reports: numbers checked against a hand-computed small organisation, history
// reconstruction, the projection, and the renderers.
#include <gtest/gtest.h>

#include <map>

#include "policy/policy.h"
#include "policy/report_test_org.h"

namespace fw::policy {
namespace {

Time T(const char* s) { return *parse_time(s); }

Document campaign(const char* start = "2023-03-01T00:00:00+03:00") {
  std::string text = std::string("kind: campaign\nid: replace-ios\ntitle: Replace iPhones\n"
                                 "scope: [/admin, {path: /regions, level: advisory}]\nstart: ") +
                     start +
                     "\ndeadline: 2023-03-31T23:59:59+03:00\ngrace: 14d\nrules:\n"
                     "  - {id: no-ios, severity: critical, require: 'device.os.family != \"iOS\"'}\n"
                     "  - {id: android-min, when: 'device.os.family == \"Android\"', "
                     "require: 'version(device.os.version) >= version(\"12\")'}\n";
  auto r = parse_file(text, "c.yaml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return r.documents.at(0);
}

TimeZone moscow() { return *TimeZone::load("Europe/Moscow"); }

// The small organisation of the hand computation (see docs/policies.md, "Report numbers").
ReportInput small_org() {
  ReportInput in;
  in.campaign = campaign();
  in.tz = moscow();
  in.now = T("2023-04-02T12:00:00Z");
  testing::add_small_org(in);
  using S = RuleStatus;
  auto F = [](uint32_t d, uint32_t p, uint16_t r, S s, std::optional<Time> ff = {}) {
    return FindingRow{d, p, r, s, ff};
  };
  in.findings = {F(0, 1, 0, S::fail, T("2023-01-20T00:00:00Z")), F(0, 1, 1, S::not_applicable),
                 F(1, 1, 0, S::pass), F(1, 1, 1, S::pass),
                 F(2, 2, 0, S::pass), F(2, 2, 1, S::fail, T("2023-03-10T06:00:00Z")),
                 F(3, 3, 0, S::pass), F(3, 3, 1, S::not_applicable),
                 F(4, 4, 0, S::fail, T("2023-01-20T00:00:00Z")), F(4, 4, 1, S::not_applicable),
                 F(5, 0, 0, S::pass), F(5, 0, 1, S::pass)};
  in.history = {
      {0, 1, 0, S::fail, T("2023-03-01T07:00:00Z")},  {4, 4, 0, S::fail, T("2023-03-01T07:00:00Z")},
      {5, 0, 1, S::fail, T("2023-03-01T07:00:00Z")},  {5, 0, 1, S::pass, T("2023-03-03T09:00:00Z")},
      {2, 2, 1, S::fail, T("2023-03-10T06:00:00Z")},  {1, 1, 0, S::pass, T("2023-03-01T07:00:00Z")},
  };
  return in;
}

TEST(Report, HandComputedSmallOrganisation) {
  auto r = build_report(small_org());
  EXPECT_EQ(r.people, 5);
  EXPECT_EQ(r.people_noncompliant, 3);
  EXPECT_EQ(r.devices, 6);
  EXPECT_EQ(r.devices_noncompliant, 3);
  struct U {
    const char* path;
    int64_t people, nc, devices, dnc;
    double pct;
  } want[] = {{"/admin", 4, 2, 5, 2, 50.0},   {"/admin/hr", 1, 0, 1, 0, 100.0}, {"/admin/it", 2, 2, 3, 2, 0.0},
              {"/regions", 1, 1, 1, 1, 0.0}, {"/regions/tver", 1, 1, 1, 1, 0.0}};
  ASSERT_EQ(r.units.size(), std::size(want));  // /other is outside the scope and has no rows
  for (size_t i = 0; i < std::size(want); ++i) {
    EXPECT_EQ(r.units[i].path, want[i].path);
    EXPECT_EQ(r.units[i].people, want[i].people) << want[i].path;
    EXPECT_EQ(r.units[i].people_noncompliant, want[i].nc) << want[i].path;
    EXPECT_EQ(r.units[i].devices, want[i].devices) << want[i].path;
    EXPECT_EQ(r.units[i].devices_noncompliant, want[i].dnc) << want[i].path;
    EXPECT_DOUBLE_EQ(r.units[i].compliance_pct, want[i].pct) << want[i].path;
  }
  EXPECT_EQ(r.units[0].level, Level::mandatory);
  EXPECT_EQ(r.units[3].level, Level::advisory);
  ASSERT_EQ(r.rules.size(), 2u);
  EXPECT_EQ(r.rules[0].pass, 4);
  EXPECT_EQ(r.rules[0].fail, 2);
  EXPECT_EQ(r.rules[1].pass, 2);
  EXPECT_EQ(r.rules[1].fail, 1);
  EXPECT_EQ(r.rules[1].not_applicable, 3);
  ASSERT_EQ(r.platforms.size(), 3u);
  EXPECT_EQ(r.platforms[0].family, "Android");
  EXPECT_EQ(r.platforms[0].devices, 3);
  EXPECT_EQ(r.platforms[0].noncompliant, 1);
  EXPECT_EQ(r.platforms[1].family, "iOS");
  EXPECT_EQ(r.platforms[1].noncompliant, 2);
  // Overdue: mandatory people only (Dan is advisory); 1 day past 31 March 23:59:59 MSK.
  ASSERT_EQ(r.overdue.size(), 2u);
  EXPECT_EQ(r.overdue[0].name, "Ann");
  EXPECT_EQ(r.overdue[0].manager_name, "Boss");
  EXPECT_EQ(r.overdue[0].days_overdue, 1);
  EXPECT_EQ(r.overdue[0].devices, std::vector<std::string>{"iPhone 13 (iOS 16.3)"});
  EXPECT_EQ(r.overdue[0].rules, std::vector<std::string>{"no-ios"});
  EXPECT_EQ(r.overdue[1].name, "Bob");
  EXPECT_EQ(r.overdue[1].rules, std::vector<std::string>{"android-min"});
}

TEST(Report, BurnDownReconstructsEachDayFromHistory) {
  auto in = small_org();
  auto r = build_report(in);
  // 1 March .. 2 April (Moscow days): 33 points.
  ASSERT_EQ(r.burndown.size(), 33u);
  struct P {
    size_t i;
    const char* date;
    int64_t people, devices;
  } want[] = {{0, "2023-03-01", 3, 3}, {1, "2023-03-02", 3, 3}, {2, "2023-03-03", 2, 2},
              {8, "2023-03-09", 2, 2}, {9, "2023-03-10", 3, 3}, {32, "2023-04-02", 3, 3}};
  for (auto& w : want) {
    EXPECT_EQ(r.burndown[w.i].date, w.date);
    EXPECT_EQ(r.burndown[w.i].people, w.people) << w.date;
    EXPECT_EQ(r.burndown[w.i].devices, w.devices) << w.date;
  }
  // The state at any instant, the second before and after a change.
  EXPECT_EQ(state_at(in, T("2023-03-03T08:59:59Z")).people, 3);
  EXPECT_EQ(state_at(in, T("2023-03-03T09:00:00Z")).people, 2);
  EXPECT_EQ(state_at(in, T("2023-02-01T00:00:00Z")).devices, 0);
}

TEST(Report, ProjectionByLeastSquares) {
  // 20 people fail on 1 March; one is fixed each day at noon Moscow time.
  ReportInput in;
  in.campaign = campaign();
  in.tz = moscow();
  in.now = T("2023-03-15T09:00:00Z");  // 12:00 MSK
  in.units = {{"/admin", "A"}};
  for (uint32_t k = 0; k < 20; ++k) {
    in.people.push_back({"p" + std::to_string(k), "P", "", "/admin", kNone});
    in.devices.push_back({"d" + std::to_string(k), k, "iOS", "16", "iPhone"});
    in.history.push_back({k, k, 0, RuleStatus::fail, T("2023-02-28T22:00:00Z")});
    if (k >= 1) {
      Time fixed = T("2023-03-01T09:00:00Z") + std::chrono::days{k};
      in.history.push_back({k - 1, k - 1, 0, RuleStatus::pass, fixed});
      if (fixed <= in.now) continue;
    }
    in.findings.push_back({k, k, 0, RuleStatus::fail, T("2023-02-28T22:00:00Z")});
  }
  auto r = build_report(in);
  ASSERT_EQ(r.burndown.size(), 15u);
  EXPECT_EQ(r.burndown[0].people, 20);
  EXPECT_EQ(r.burndown[14].people, 6);
  EXPECT_EQ(r.projection.window_days, 14);
  EXPECT_NEAR(r.projection.slope_per_day, -1.0, 1e-9);
  ASSERT_TRUE(r.projection.completion);
  // The line through 19 (2 March) falling by 1 a day reaches 0 on 21 March, 00:00 MSK.
  EXPECT_EQ(format_time(*r.projection.completion), "2023-03-20T21:00:00Z");
  EXPECT_TRUE(r.projection.on_track);
  EXPECT_FALSE(r.projection.method.empty());
}

TEST(Report, NoTrendIsNotOnTrack) {
  auto in = small_org();
  in.now = T("2023-03-20T12:00:00Z");
  auto r = build_report(in);
  EXPECT_FALSE(r.projection.on_track);
  EXPECT_FALSE(r.projection.completion);  // flat over the last 14 days
}

TEST(Render, AllFormatsCarryTheNumbers) {
  auto r = build_report(small_org());
  auto tz = moscow();
  auto table_ru = render_table(r, Lang::ru, tz);
  EXPECT_NE(table_ru.find("По подразделениям"), std::string::npos);
  EXPECT_NE(table_ru.find("Администрация"), std::string::npos);
  EXPECT_NE(table_ru.find("2023-03-31 23:59"), std::string::npos);  // deadline in Moscow time
  EXPECT_NE(table_ru.find("█"), std::string::npos);
  // Russian words take the number's form; severities and headers are translated.
  EXPECT_NE(table_ru.find("Сотрудников с нарушениями"), std::string::npos) << table_ru;
  EXPECT_NE(table_ru.find("критическая"), std::string::npos) << table_ru;
  EXPECT_EQ(table_ru.find("critical"), std::string::npos) << table_ru;
  auto table_en = render_table(r, Lang::en, tz);
  EXPECT_NE(table_en.find("By org unit"), std::string::npos);
  EXPECT_NE(table_en.find("least-squares"), std::string::npos);
  auto json = render_json(r, tz);
  EXPECT_NE(json.find("\"people_noncompliant\":3"), std::string::npos);
  EXPECT_NE(json.find("\"deadline\":\"2023-03-31T23:59:59+03:00\""), std::string::npos);
  auto csv = render_csv(r, Lang::en, tz);
  EXPECT_NE(csv.find("/admin/it,mandatory,2,2,0,3,2,0.0"), std::string::npos) << csv;
  auto html = render_html(r, Lang::en, tz);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(std::count(html.begin(), html.end(), '<') > 50, true);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("stroke-dasharray"), std::string::npos);  // projection line
  EXPECT_NE(html.find("deadline 2023-03-31"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://") == std::string::npos || html.find("http://www.w3.org/2000/svg") != std::string::npos, true);
}

TEST(Render, CountsTakeTheNumbersForm) {
  struct Case {
    Lang lang;
    const char* noun;
    int64_t n;
    const char* want;
  } cases[] = {
      {Lang::ru, "people", 0, "0 сотрудников"},      {Lang::ru, "people", 1, "1 сотрудник"},
      {Lang::ru, "people", 3, "3 сотрудника"},       {Lang::ru, "people", 5, "5 сотрудников"},
      {Lang::ru, "people", 11, "11 сотрудников"},    {Lang::ru, "people", 12, "12 сотрудников"},
      {Lang::ru, "people", 21, "21 сотрудник"},      {Lang::ru, "people", 1537, "1537 сотрудников"},
      {Lang::ru, "people", 111, "111 сотрудников"},  {Lang::ru, "people", 102, "102 сотрудника"},
      {Lang::ru, "devices", 1, "1 устройство"},      {Lang::ru, "devices", 1816, "1816 устройств"},
      {Lang::ru, "devices", 24, "24 устройства"},    {Lang::en, "people", 1, "1 person"},
      {Lang::en, "people", 2, "2 people"},           {Lang::en, "devices", 1, "1 device"},
      {Lang::en, "devices", 0, "0 devices"},
  };
  for (const auto& c : cases) EXPECT_EQ(tr_count(c.lang, c.noun, c.n), c.want) << c.n;
  auto csv = render_csv(build_report(small_org()), Lang::ru, moscow());
  EXPECT_NE(csv.find("Путь"), std::string::npos) << csv;
  csv = render_csv(build_report(small_org()), Lang::ru, moscow(), {CsvTable::overdue});
  EXPECT_NE(csv.find("Эл. почта"), std::string::npos) << csv;
}

// Each CSV is one table with one header row (a spreadsheet or pandas reads it as is): the
// same number of cells on every row, CRLF line ends, no empty line, '.' in numbers, a BOM
// only when asked.
TEST(Render, CsvIsOneTablePerFile) {
  auto r = build_report(small_org());
  auto tz = moscow();
  struct Case {
    CsvTable table;
    const char* header;
    size_t columns;
  } cases[] = {
      {CsvTable::units, "Org unit,Path,Level,", 9},       {CsvTable::rules, "Rule,Title,Severity,Pass,", 8},
      {CsvTable::platforms, "Platform,Devices,", 3},      {CsvTable::burndown, "Date,People,Devices\r\n", 3},
      {CsvTable::overdue, "Person,E-mail,Org unit,", 7},
  };
  for (const auto& c : cases) {
    auto csv = render_csv(r, Lang::en, tz, {c.table});
    SCOPED_TRACE(csv);
    EXPECT_EQ(csv.rfind(c.header, 0), 0u);
    EXPECT_EQ(csv.find("\r\n\r\n"), std::string::npos);  // no second table after an empty line
    ASSERT_TRUE(csv.ends_with("\r\n"));
    size_t rows = 0;
    for (size_t b = 0; b < csv.size(); ++rows) {
      size_t e = csv.find("\r\n", b);
      std::string_view line(csv.data() + b, e - b);
      size_t cells = 1;
      bool quoted = false;
      for (char ch : line) {
        if (ch == '"') quoted = !quoted;
        if (ch == ',' && !quoted) ++cells;
      }
      EXPECT_EQ(cells, c.columns) << line;
      b = e + 2;
    }
    EXPECT_GT(rows, 1u);  // the header and at least one row in the small organisation
  }
  auto units = render_csv(r, Lang::en, tz, {CsvTable::units});
  EXPECT_NE(units.find(",0.0\r\n"), std::string::npos);  // not "0,0"
  auto bom = render_csv(r, Lang::ru, tz, {CsvTable::units, true});
  EXPECT_EQ(bom.rfind("\xEF\xBB\xBFПодразделение,", 0), 0u) << bom;
  EXPECT_EQ(parse_csv_table("overdue"), CsvTable::overdue);
  EXPECT_EQ(parse_csv_table("all"), std::nullopt);
}

// The texts of `fleetward campaign actions` and `discover` are in the catalogue in Russian
// (Cyrillic, not the English words) and English; "%N" takes the number.
TEST(Messages, CommandTextsInBothLanguages) {
  const char* keys[] = {
      "campaign", "actions.at", "actions.due", "actions.next", "people_noncompliant", "deadline_marker", "mandatory",
      "advisory", "escalation.none", "escalation.reminded", "escalation.escalated", "escalation.overdue",
      "escalation.blocked", "recipient.owner", "recipient.manager", "recipient.admin", "action.block", "discover.eta",
      "discover.mb", "discover.s", "discover.lines_per_s", "discover.platform", "discover.users",
      "discover.unknown_os", "discover.lines", "discover.requests", "discover.unparsed", "discover.sightings",
      "discover.no_user", "discover.unparsed_line", "discover.more", "discover.inventory", "discover.created",
      "discover.updated", "discover.stored", "discover.evaluated", "discover.resolved", "discover.unattributed",
      "discover.evaluating"};
  for (const char* k : keys) {
    SCOPED_TRACE(k);
    EXPECT_TRUE(has_message(k));
    std::string_view ru = tr(Lang::ru, k), en = tr(Lang::en, k);
    EXPECT_NE(ru, en);
    EXPECT_NE(ru.find_first_of("\xD0\xD1"), std::string_view::npos);  // a Cyrillic letter (U+0400-U+047F)
    EXPECT_EQ(ru.find("%N") == std::string_view::npos, en.find("%N") == std::string_view::npos);
  }
  EXPECT_FALSE(has_message("discover.nope"));
  EXPECT_EQ(tr_n(Lang::ru, "discover.lines", 1234567), "строк: 1234567");
  EXPECT_EQ(tr_n(Lang::en, "discover.created", 2), "2 devices created");
}

// The rule table names each rule by its title as stored in the policy, the id beside it; a
// rule without a title by its id. JSON and CSV keep the id in its own field and add the title.
TEST(Render, RulesAreNamedByTheirTitles) {
  auto in = small_org();
  in.campaign.rules.at(0).title = "No iPhones or iPads";
  auto en = build_report(in);
  in.campaign.rules.at(0).title = "Без iPhone и iPad";  // the demo stores Russian texts under --lang ru
  auto ru = build_report(in);
  auto tz = moscow();
  struct Case {
    const Report* r;
    Lang lang;
    const char* want;
  } cases[] = {{&en, Lang::en, "No iPhones or iPads (no-ios)"}, {&ru, Lang::ru, "Без iPhone и iPad (no-ios)"}};
  for (const auto& c : cases) {
    auto table = render_table(*c.r, c.lang, tz);
    SCOPED_TRACE(table);
    const auto rules = table.substr(table.find(std::string(tr(c.lang, "by_rule"))));
    EXPECT_NE(rules.find(std::string("\n") + c.want + "  "), std::string::npos);
    EXPECT_NE(rules.find("\nandroid-min  "), std::string::npos);  // no title: the id
    auto html = render_html(*c.r, c.lang, tz);
    EXPECT_NE(html.find("<td>" + std::string(c.r->rules[0].title) + " <span class=\"meta\">(no-ios)</span></td>"),
              std::string::npos);
    // The overdue list in HTML names failing rules by their titles too (the id on hover).
    const auto overdue = html.substr(html.find("<h2>" + std::string(tr(c.lang, "overdue"))));
    EXPECT_NE(overdue.find("<span title=\"no-ios\">" + std::string(c.r->rules[0].title) + "</span>"),
              std::string::npos)
        << overdue;
    auto csv = render_csv(*c.r, c.lang, tz, {CsvTable::rules});
    EXPECT_NE(csv.find("\r\nno-ios," + std::string(c.r->rules[0].title) + ","), std::string::npos) << csv;
    EXPECT_NE(csv.find("\r\nandroid-min,,"), std::string::npos) << csv;
  }
  auto json = render_json(ru, tz);
  EXPECT_NE(json.find("{\"id\":\"no-ios\",\"title\":\"Без iPhone и iPad\""), std::string::npos) << json;
  EXPECT_EQ(render_csv(en, Lang::ru, tz, {CsvTable::rules}).rfind("Правило,Название,Важность,", 0), 0u);
}

// A campaign's burn-down of `days` daily points from 1 February 2023 (Moscow), deadline
// 31 March 23:59:59, grace 14 days (ends 14 April 23:59:59); the people fall by one a day.
Report long_burndown(int days) {
  auto tz = moscow();
  Report r;
  r.campaign_id = "replace-ios";
  r.is_campaign = true;
  r.start = T("2023-02-01T09:00:00+03:00");
  r.deadline = T("2023-03-31T23:59:59+03:00");
  r.grace_end = r.deadline + std::chrono::days{14};
  Time day = tz.start_of_day(r.start);
  for (int i = 0; i < days; ++i, day = tz.start_of_next_day(day))
    r.burndown.push_back({day, tz.format_date(day), std::max(0, 2000 - i), std::max(0, 2400 - i)});
  r.now = r.burndown.back().day + std::chrono::hours{10};
  return r;
}

// The rows of the burn-down section of a table: "date" -> the rest of the line.
std::vector<std::pair<std::string, std::string>> burn_lines(const std::string& table, Lang lang) {
  std::vector<std::pair<std::string, std::string>> out;
  auto p = table.find("== " + std::string(tr(lang, "burndown")) + " ==\n");
  EXPECT_NE(p, std::string::npos) << table;
  if (p == std::string::npos) return out;
  p = table.find('\n', p) + 1;
  for (size_t e; (e = table.find('\n', p)) != std::string::npos && e > p; p = e + 1) {
    std::string line = table.substr(p, e - p);
    if (line.size() > 10 && line[4] == '-' && line[7] == '-') out.emplace_back(line.substr(0, 10), line.substr(11));
  }
  return out;
}

// The terminal table shows one row a day for a short series, one a week (from the start) up to
// 26 weeks, one a month (each 1st) past that; the start, the deadline, the grace end and today
// always, marked in the reader's language. The chart's scale is the whole series'. The JSON
// and the CSV keep every day.
TEST(Render, BurnDownRowsPerWeekOrMonthWithTheKeyDays) {
  auto tz = moscow();
  const auto marks = [](Lang lang, std::initializer_list<const char*> keys) {
    std::string m;
    for (auto k : keys) m += (m.empty() ? "" : ", ") + std::string(tr(lang, k));
    return m;
  };
  for (Lang lang : {Lang::ru, Lang::en}) {
    SCOPED_TRACE(lang == Lang::ru ? "ru" : "en");
    // 2023-02-01 .. 2026-11-28: 1,397 days, by month.
    auto r = long_burndown(1397);
    ASSERT_EQ(r.burndown.back().date, "2026-11-28");
    auto table = render_table(r, lang, tz);
    auto rows = burn_lines(table, lang);
    EXPECT_EQ(rows.size(), 1u + 45u + 2u + 1u) << table;  // the start, the 1sts, deadline and grace end, today
    std::map<std::string, std::string> by_date(rows.begin(), rows.end());
    EXPECT_EQ(rows.front().first, "2023-02-01");
    EXPECT_TRUE(by_date["2023-02-01"].ends_with("  " + marks(lang, {"burn.start"}))) << by_date["2023-02-01"];
    EXPECT_TRUE(by_date["2023-03-31"].ends_with("  " + marks(lang, {"burn.deadline"})));
    EXPECT_TRUE(by_date["2023-04-14"].ends_with("  " + marks(lang, {"burn.grace_end"})));
    EXPECT_TRUE(rows.back().second.ends_with("  " + marks(lang, {"burn.today"})));
    EXPECT_EQ(rows.back().first, "2026-11-28");
    EXPECT_TRUE(by_date.contains("2024-02-01") && by_date.contains("2026-11-01"));
    EXPECT_FALSE(by_date.contains("2023-02-08"));
    EXPECT_NE(table.find(std::string(tr(lang, "burn.monthly"))), std::string::npos);
    // The first day has the most people: the full bar; the numbers agree with the language.
    std::string full_bar;
    for (int i = 0; i < 40; ++i) full_bar += "█";
    EXPECT_TRUE(by_date["2023-02-01"].starts_with(full_bar)) << by_date["2023-02-01"];
    EXPECT_NE(by_date["2023-02-01"].find(tr_count(lang, "people", 2000) + ", " + tr_count(lang, "devices", 2400)),
              std::string::npos);
    // JSON and CSV: every day.
    auto json = render_json(r, tz);
    EXPECT_NE(json.find("{\"date\":\"2023-02-08\",\"people\":1993,"), std::string::npos);
    auto csv = render_csv(r, lang, tz, {CsvTable::burndown});
    EXPECT_EQ(size_t(std::count(csv.begin(), csv.end(), '\n')), 1u + 1397u);

    // 60 days (to 1 April): by week from the start, with the deadline between two weeks.
    r = long_burndown(60);
    table = render_table(r, lang, tz);
    rows = burn_lines(table, lang);
    std::vector<std::string> dates;
    for (const auto& [d, rest] : rows) dates.push_back(d);
    EXPECT_EQ(dates, (std::vector<std::string>{"2023-02-01", "2023-02-08", "2023-02-15", "2023-02-22", "2023-03-01",
                                               "2023-03-08", "2023-03-15", "2023-03-22", "2023-03-29", "2023-03-31",
                                               "2023-04-01"}))
        << table;
    EXPECT_NE(table.find(std::string(tr(lang, "burn.weekly"))), std::string::npos);

    // Ten days: every day, no note.
    r = long_burndown(10);
    r.deadline = r.grace_end = r.burndown.back().day + std::chrono::hours{12};  // deadline today, no grace
    table = render_table(r, lang, tz);
    rows = burn_lines(table, lang);
    ASSERT_EQ(rows.size(), 10u) << table;
    EXPECT_TRUE(rows.back().second.ends_with("  " + marks(lang, {"burn.deadline", "burn.today"}))) << table;
    EXPECT_EQ(table.find(std::string(tr(lang, "burn.weekly"))), std::string::npos);
    EXPECT_EQ(table.find(std::string(tr(lang, "burn.monthly"))), std::string::npos);
  }
}

TEST(Render, EscapesOutsideText) {
  auto in = small_org();
  in.people[1].name = "<script>alert(1)</script>";
  in.people[2].name = "=HYPERLINK(\"x\")";
  auto r = build_report(in);
  auto tz = moscow();
  auto html = render_html(r, Lang::en, tz);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  auto csv = render_csv(r, Lang::en, tz, {CsvTable::overdue});
  EXPECT_NE(csv.find("\"'=HYPERLINK(\"\"x\"\")\""), std::string::npos) << csv;
  auto json = render_json(r, tz);
  EXPECT_NE(json.find("\\\"x\\\""), std::string::npos);
}

}  // namespace
}  // namespace fw::policy
