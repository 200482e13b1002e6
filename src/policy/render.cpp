// Report renderers: terminal table (with a text bar chart), JSON, CSV, and one self-contained
// HTML file with inline SVG charts. Times in the given zone. Pure; thread-safe.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "policy/policy.h"
#include "util/strings.h"

namespace fw::policy {

namespace {

size_t width(std::string_view s) {
  size_t w = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++w;
  return w;
}

std::string pad(std::string_view s, size_t w, bool right = false) {
  size_t n = width(s);
  std::string fill(n < w ? w - n : 0, ' ');
  return right ? fill + std::string(s) : std::string(s) + fill;
}

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", v);
  return buf;
}

std::string num(double v, int prec = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

std::string level_text(const std::optional<Level>& l, Lang lang) {
  if (!l) return "-";
  return std::string(tr(lang, to_string(*l)));
}

std::string method_text(const Projection& p, Lang lang) {
  std::string f(tr(lang, "method.lsq"));
  auto at = f.find("%d");
  if (at != std::string::npos) f.replace(at, 2, std::to_string(p.window_days ? p.window_days : 14));
  return f;
}

std::string projection_text(const Report& r, Lang lang, const TimeZone& tz) {
  const auto& p = r.projection;
  if (p.completed) return std::string(tr(lang, "completed"));
  if (p.window_days < 3) return std::string(tr(lang, "too_few_points"));
  if (!p.completion) return std::string(tr(lang, "no_trend"));
  return tz.format_date(*p.completion) + " (" + std::string(tr(lang, p.on_track ? "on_track" : "not_on_track")) + ")";
}

// A simple table: header + rows, columns padded; numeric columns right-aligned.
std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows,
                  const std::vector<bool>& right) {
  std::vector<size_t> w(head.size(), 0);
  for (size_t i = 0; i < head.size(); ++i) w[i] = width(head[i]);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], width(r[i]));
  std::string out;
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < w.size(); ++i) {
      out += pad(i < r.size() ? r[i] : "", w[i], i < right.size() && right[i]);
      out += i + 1 < w.size() ? "  " : "\n";
    }
  };
  line(head);
  size_t total = 0;
  for (size_t x : w) total += x + 2;
  out += std::string(total > 2 ? total - 2 : 0, '-') + "\n";
  for (const auto& r : rows) line(r);
  return out;
}

std::string xml(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string csv(std::string_view s) {
  bool quote = s.find_first_of(",\"\n\r") != std::string_view::npos;
  // Cells starting with = + - @ are read as formulas by spreadsheets: neutralise them.
  std::string v;
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '@' || (s[0] == '-' && s.size() > 1 && !(s[1] >= '0' && s[1] <= '9')))) {
    v = "'";
    quote = true;
  }
  for (char c : s) {
    if (c == '"') v += '"';
    v += c;
  }
  return quote ? "\"" + v + "\"" : v;
}

std::string js(std::string_view s) { return "\"" + json_escape(s) + "\""; }

// A rule as a reader names it: its title as written in the policy (in the policy's own
// language), with the id beside it for the overdue list and the command line
// ("No iPhones or iPads (no-ios)"); the id alone when the rule has no title.
std::string rule_label(const RuleStats& x) {
  if (x.title.empty() || x.title == x.id) return x.id;
  return x.title + " (" + x.id + ")";
}

// The burn-down's rows in the terminal table: every day for up to two weeks of points, then
// one row a week counted from the start, and past 26 weeks one row a month (each 1st); the
// start, the deadline, the end of the grace period and today always, with their marks. The
// JSON and CSV keep every day. Each row: an index into r.burndown and its marks.
struct BurnRow {
  size_t at = 0;
  std::string marks;
};
enum class BurnStep { day, week, month };

BurnStep burn_step(const Report& r) {
  if (r.burndown.size() <= 14) return BurnStep::day;
  const auto span = r.burndown.back().day - r.burndown.front().day;
  return span <= std::chrono::days{26 * 7} ? BurnStep::week : BurnStep::month;
}

std::vector<BurnRow> burn_rows(const Report& r, BurnStep step, Lang lang, const TimeZone& tz) {
  std::vector<BurnRow> rows;
  if (r.burndown.empty()) return rows;
  const Time t0 = r.burndown.front().day;
  const Time deadline_day = tz.start_of_day(r.deadline), grace_day = tz.start_of_day(r.grace_end);
  for (size_t i = 0; i < r.burndown.size(); ++i) {
    const auto& b = r.burndown[i];
    std::vector<std::string_view> marks;
    if (i == 0) marks.push_back(tr(lang, "burn.start"));
    if (b.day == deadline_day) marks.push_back(tr(lang, "burn.deadline"));
    if (grace_day != deadline_day && b.day == grace_day) marks.push_back(tr(lang, "burn.grace_end"));
    if (i + 1 == r.burndown.size()) marks.push_back(tr(lang, "burn.today"));
    // Whole days since the start (a day in a zone with daylight saving may be 23 or 25 hours).
    const int64_t k = std::lround(double((b.day - t0).count()) / 86400.0);
    const bool periodic = step == BurnStep::day || (step == BurnStep::week && k % 7 == 0) ||
                          (step == BurnStep::month && b.date.size() == 10 && b.date.ends_with("-01"));
    if (!periodic && marks.empty()) continue;
    std::string m;
    for (auto x : marks) m += (m.empty() ? "" : ", ") + std::string(x);
    rows.push_back({i, std::move(m)});
  }
  return rows;
}

}  // namespace

std::string render_table(const Report& r, Lang lang, const TimeZone& tz) {
  std::string o;
  o += std::string(tr(lang, r.is_campaign ? "campaign" : "policy")) + ": " + r.campaign_id;
  if (!r.title.empty()) o += " — " + r.title;
  o += "\n";
  if (r.is_campaign) {
    o += std::string(tr(lang, "start")) + ": " + tz.format_short(r.start) + "   " + std::string(tr(lang, "deadline")) +
         ": " + tz.format_short(r.deadline) + "\n";
  }
  o += std::string(tr(lang, r.as_of_evaluation ? "now_eval" : "now")) + ": " + tz.format_short(r.now) + " (" + std::string(tr(lang, "timezone")) + " " +
       tz.name() + ")\n\n";
  o += std::string(tr(lang, "summary")) + ": " + std::string(tr(lang, "people")) + " " + std::to_string(r.people) +
       ", " + std::string(tr(lang, "noncompliant")) + " " + std::to_string(r.people_noncompliant) + "; " +
       std::string(tr(lang, "devices")) + " " + std::to_string(r.devices) + ", " +
       std::string(tr(lang, "noncompliant")) + " " + std::to_string(r.devices_noncompliant) + "\n\n";

  o += "== " + std::string(tr(lang, "by_unit")) + " ==\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& u : r.units)
      rows.push_back({std::string(size_t(std::max(0, u.depth)) * 2, ' ') + (u.name.empty() ? u.path : u.name),
                      level_text(u.level, lang), std::to_string(u.people), std::to_string(u.people_noncompliant),
                      std::to_string(u.devices), std::to_string(u.devices_noncompliant), pct(u.compliance_pct)});
    o += table({std::string(tr(lang, "unit")), std::string(tr(lang, "level")), std::string(tr(lang, "people")),
                std::string(tr(lang, "people_noncompliant")), std::string(tr(lang, "devices")),
                std::string(tr(lang, "devices_noncompliant")), std::string(tr(lang, "compliance"))},
               rows, {false, false, true, true, true, true, true});
  }
  o += "\n== " + std::string(tr(lang, "by_rule")) + " ==\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& x : r.rules)
      rows.push_back({rule_label(x), std::string(tr_severity(lang, x.severity)), std::to_string(x.pass), std::to_string(x.fail),
                      std::to_string(x.exempt), std::to_string(x.unknown), std::to_string(x.not_applicable)});
    o += table({std::string(tr(lang, "rule")), std::string(tr(lang, "severity")), std::string(tr(lang, "pass")),
                std::string(tr(lang, "fail")), std::string(tr(lang, "exempt")), std::string(tr(lang, "unknown")),
                std::string(tr(lang, "not_applicable"))},
               rows, {false, false, true, true, true, true, true});
  }
  o += "\n== " + std::string(tr(lang, "by_platform")) + " ==\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : r.platforms)
      rows.push_back({p.family, std::to_string(p.devices), std::to_string(p.noncompliant)});
    o += table({std::string(tr(lang, "platform")), std::string(tr(lang, "devices")),
                std::string(tr(lang, "noncompliant"))},
               rows, {false, true, true});
  }
  if (r.is_campaign) {
    o += "\n== " + std::string(tr(lang, "burndown")) + " ==\n";
    const BurnStep step = burn_step(r);
    if (step != BurnStep::day)
      o += "(" + std::string(tr(lang, step == BurnStep::week ? "burn.weekly" : "burn.monthly")) + "; " +
           std::string(tr(lang, "burn.every_day")) + ")\n";
    int64_t mx = 1;
    for (const auto& b : r.burndown) mx = std::max(mx, b.people);
    const int bar = 40;
    const auto burn = burn_rows(r, step, lang, tz);
    std::vector<std::string> counts;
    size_t counts_w = 0;
    for (const auto& row : burn) {
      const auto& b = r.burndown[row.at];
      // The count padded alone, the noun after it in the form the number takes.
      const auto digits = std::to_string(b.people).size();
      counts.push_back(std::string(digits < 7 ? 7 - digits : 0, ' ') + tr_count(lang, "people", b.people) + ", " +
                       tr_count(lang, "devices", b.devices));
      counts_w = std::max(counts_w, width(counts.back()));
    }
    for (size_t j = 0; j < burn.size(); ++j) {
      const auto& b = r.burndown[burn[j].at];
      int n = int(std::lround(double(b.people) * bar / double(mx)));
      std::string bars;
      for (int i = 0; i < n; ++i) bars += "█";
      o += b.date + " " + pad(bars, size_t(bar)) + " " +
           (burn[j].marks.empty() ? counts[j] : pad(counts[j], counts_w) + "  " + burn[j].marks) + "\n";
    }
    o += "\n" + std::string(tr(lang, "projected_completion")) + ": " + projection_text(r, lang, tz) + "\n";
    if (r.projection.window_days >= 3 && !r.projection.completed)
      o += std::string(tr(lang, "trend")) + ": " + num(r.projection.slope_per_day, 2) + " " +
           std::string(tr(lang, "per_day")) + "\n";
    o += std::string(tr(lang, "method")) + ": " + method_text(r.projection, lang) + "\n";

    o += "\n== " + std::string(tr(lang, "overdue")) + " (" + std::to_string(r.overdue.size()) + ") ==\n";
    std::vector<std::vector<std::string>> rows;
    size_t shown = 0;
    for (const auto& x : r.overdue) {
      if (++shown > 50) break;
      rows.push_back({x.name, x.unit, x.manager_name.empty() ? "-" : x.manager_name, join(x.devices, "; "),
                      join(x.rules, ", "), std::to_string(x.days_overdue)});
    }
    o += table({std::string(tr(lang, "person")), std::string(tr(lang, "unit")), std::string(tr(lang, "manager")),
                std::string(tr(lang, "device")), std::string(tr(lang, "failing_rules")),
                std::string(tr(lang, "days_overdue"))},
               rows, {false, false, false, false, false, true});
    if (r.overdue.size() > 50) o += "... +" + std::to_string(r.overdue.size() - 50) + "\n";
  }
  return o;
}

std::string render_json(const Report& r, const TimeZone& tz) {
  std::string o = "{";
  o += "\"campaign\":" + js(r.campaign_id) + ",\"title\":" + js(r.title) +
       ",\"kind\":" + js(r.is_campaign ? "campaign" : "policy");
  if (r.is_campaign) o += ",\"start\":" + js(tz.format(r.start)) + ",\"deadline\":" + js(tz.format(r.deadline));
  o += ",\"now\":" + js(tz.format(r.now)) + ",\"timezone\":" + js(tz.name()) +
       ",\"as_of\":" + js(r.as_of_evaluation ? "last_evaluation" : "now");
  o += ",\"summary\":{\"people\":" + std::to_string(r.people) +
       ",\"people_noncompliant\":" + std::to_string(r.people_noncompliant) +
       ",\"people_unknown\":" + std::to_string(r.people_unknown) +
       ",\"people_exempt\":" + std::to_string(r.people_exempt) + ",\"devices\":" + std::to_string(r.devices) +
       ",\"devices_noncompliant\":" + std::to_string(r.devices_noncompliant) + "}";
  o += ",\"units\":[";
  for (size_t i = 0; i < r.units.size(); ++i) {
    const auto& u = r.units[i];
    o += std::string(i ? "," : "") + "{\"path\":" + js(u.path) + ",\"name\":" + js(u.name) +
         ",\"level\":" + (u.level ? js(to_string(*u.level)) : "null") + ",\"people\":" + std::to_string(u.people) +
         ",\"people_noncompliant\":" + std::to_string(u.people_noncompliant) +
         ",\"people_unknown\":" + std::to_string(u.people_unknown) + ",\"devices\":" + std::to_string(u.devices) +
         ",\"devices_noncompliant\":" + std::to_string(u.devices_noncompliant) +
         ",\"devices_exempt\":" + std::to_string(u.devices_exempt) + ",\"compliance_pct\":" + num(u.compliance_pct, 2) +
         "}";
  }
  o += "],\"rules\":[";
  for (size_t i = 0; i < r.rules.size(); ++i) {
    const auto& x = r.rules[i];
    o += std::string(i ? "," : "") + "{\"id\":" + js(x.id) + ",\"title\":" + js(x.title) +
         ",\"severity\":" + js(to_string(x.severity)) + ",\"pass\":" + std::to_string(x.pass) +
         ",\"fail\":" + std::to_string(x.fail) + ",\"exempt\":" + std::to_string(x.exempt) +
         ",\"unknown\":" + std::to_string(x.unknown) + ",\"not_applicable\":" + std::to_string(x.not_applicable) + "}";
  }
  o += "],\"platforms\":[";
  for (size_t i = 0; i < r.platforms.size(); ++i)
    o += std::string(i ? "," : "") + "{\"family\":" + js(r.platforms[i].family) +
         ",\"devices\":" + std::to_string(r.platforms[i].devices) +
         ",\"noncompliant\":" + std::to_string(r.platforms[i].noncompliant) + "}";
  o += "],\"burndown\":[";
  for (size_t i = 0; i < r.burndown.size(); ++i)
    o += std::string(i ? "," : "") + "{\"date\":" + js(r.burndown[i].date) +
         ",\"people\":" + std::to_string(r.burndown[i].people) +
         ",\"devices\":" + std::to_string(r.burndown[i].devices) + "}";
  const auto& p = r.projection;
  o += "],\"projection\":{\"method\":" + js(p.method) + ",\"window_days\":" + std::to_string(p.window_days) +
       ",\"slope_per_day\":" + num(p.slope_per_day, 4) + ",\"completed\":" + (p.completed ? "true" : "false") +
       ",\"completion\":" + (p.completion ? js(tz.format(*p.completion)) : "null") +
       ",\"on_track\":" + (p.on_track ? "true" : "false") + "}";
  o += ",\"overdue\":[";
  for (size_t i = 0; i < r.overdue.size(); ++i) {
    const auto& x = r.overdue[i];
    std::string devs, rules;
    for (size_t k = 0; k < x.devices.size(); ++k) devs += (k ? "," : "") + js(x.devices[k]);
    for (size_t k = 0; k < x.rules.size(); ++k) rules += (k ? "," : "") + js(x.rules[k]);
    o += std::string(i ? "," : "") + "{\"person_id\":" + js(x.person_id) + ",\"name\":" + js(x.name) +
         ",\"email\":" + js(x.email) + ",\"unit\":" + js(x.unit) + ",\"manager\":" + js(x.manager_name) +
         ",\"manager_email\":" + js(x.manager_email) + ",\"devices\":[" + devs + "],\"rules\":[" + rules +
         "],\"days_overdue\":" + std::to_string(x.days_overdue) + ",\"deadline\":" + js(tz.format(x.deadline)) + "}";
  }
  o += "]}\n";
  return o;
}

std::optional<CsvTable> parse_csv_table(std::string_view s) noexcept {
  if (s == "units") return CsvTable::units;
  if (s == "rules") return CsvTable::rules;
  if (s == "platforms") return CsvTable::platforms;
  if (s == "burndown") return CsvTable::burndown;
  if (s == "overdue") return CsvTable::overdue;
  return std::nullopt;
}

std::string render_csv(const Report& r, Lang lang, const TimeZone&, const CsvOptions& opt) {
  std::string o = opt.bom ? "\xEF\xBB\xBF" : "";
  auto row = [&](std::initializer_list<std::string> cells) {
    bool first = true;
    for (const auto& c : cells) {
      if (!first) o += ',';
      o += csv(c);
      first = false;
    }
    o += "\r\n";
  };
  auto t = [&](const char* k) { return std::string(tr(lang, k)); };
  switch (opt.table) {
    case CsvTable::units:
      row({t("unit"), t("path"), t("level"), t("people"), t("people_noncompliant"), t("unknown"), t("devices"),
           t("devices_noncompliant"), t("compliance")});
      for (const auto& u : r.units)
        row({u.name, u.path, level_text(u.level, lang), std::to_string(u.people),
             std::to_string(u.people_noncompliant), std::to_string(u.people_unknown), std::to_string(u.devices),
             std::to_string(u.devices_noncompliant), num(u.compliance_pct, 1)});
      break;
    case CsvTable::rules:
      row({t("rule"), t("title"), t("severity"), t("pass"), t("fail"), t("exempt"), t("unknown"),
           t("not_applicable")});
      for (const auto& x : r.rules)
        row({x.id, x.title, std::string(tr_severity(lang, x.severity)), std::to_string(x.pass), std::to_string(x.fail),
             std::to_string(x.exempt), std::to_string(x.unknown), std::to_string(x.not_applicable)});
      break;
    case CsvTable::platforms:
      row({t("platform"), t("devices"), t("noncompliant")});
      for (const auto& p : r.platforms) row({p.family, std::to_string(p.devices), std::to_string(p.noncompliant)});
      break;
    case CsvTable::burndown:
      row({t("date"), t("people"), t("devices")});
      if (r.is_campaign)
        for (const auto& b : r.burndown) row({b.date, std::to_string(b.people), std::to_string(b.devices)});
      break;
    case CsvTable::overdue:
      row({t("person"), t("email"), t("unit"), t("manager"), t("device"), t("failing_rules"), t("days_overdue")});
      if (r.is_campaign)
        for (const auto& x : r.overdue)
          row({x.name, x.email, x.unit, x.manager_name, join(x.devices, "; "), join(x.rules, " "),
               std::to_string(x.days_overdue)});
      break;
  }
  return o;
}

namespace {

// Burn-down chart: people (solid) and devices (thin) per day, the projection (dashed) from
// the fitted line, and a vertical deadline marker.
std::string burndown_svg(const Report& r, Lang lang, const TimeZone& tz) {
  const double W = 760, H = 300, L = 50, R = 20, T = 20, B = 40;
  if (r.burndown.empty()) return "<p>-</p>";
  Time t0 = r.burndown.front().day;
  Time t1 = std::max(r.deadline, r.now);
  if (r.projection.completion && *r.projection.completion > t1 &&
      *r.projection.completion < r.deadline + std::chrono::days{120})
    t1 = *r.projection.completion;
  t1 += std::chrono::days{1};
  double span = double((t1 - t0).count());
  int64_t ymax = 1;
  for (const auto& b : r.burndown) ymax = std::max({ymax, b.people, b.devices});
  auto X = [&](Time t) { return L + (W - L - R) * double((t - t0).count()) / span; };
  auto Y = [&](double v) { return T + (H - T - B) * (1.0 - v / double(ymax)); };
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + num(W, 0) + " " + num(H, 0) +
                  "\" width=\"" + num(W, 0) + "\" height=\"" + num(H, 0) + "\" role=\"img\" aria-label=\"" +
                  xml(tr(lang, "burndown")) + "\">";
  s += "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#fff\"/>";
  // Axes and grid.
  for (int k = 0; k <= 4; ++k) {
    double v = double(ymax) * k / 4.0, y = Y(v);
    s += "<line x1=\"" + num(L) + "\" y1=\"" + num(y) + "\" x2=\"" + num(W - R) + "\" y2=\"" + num(y) +
         "\" stroke=\"#e5e5e5\"/><text x=\"" + num(L - 6) + "\" y=\"" + num(y + 4) +
         "\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">" + num(v, 0) + "</text>";
  }
  // Date labels over the whole axis: about 8, on whole days.
  int64_t span_days = std::max<int64_t>(1, (t1 - t0).count() / 86400);
  int64_t step = std::max<int64_t>(1, (span_days + 7) / 8);
  for (int64_t k = 0; k * step < span_days; ++k) {
    Time at = t0 + std::chrono::days{k * step};
    s += "<text x=\"" + num(X(at)) + "\" y=\"" + num(H - B + 16) +
         "\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">" + xml(tz.format_date(at + std::chrono::hours{12}).substr(5)) + "</text>";
  }
  auto poly = [&](bool people) {
    std::string pts;
    for (const auto& b : r.burndown)
      pts += num(X(b.day + std::chrono::hours{12})) + "," + num(Y(double(people ? b.people : b.devices))) + " ";
    return pts;
  };
  s += "<polyline fill=\"none\" stroke=\"#9ab\" stroke-width=\"1.5\" points=\"" + poly(false) + "\"/>";
  s += "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2.5\" points=\"" + poly(true) + "\"/>";
  // Projection: the fitted line from the window start to zero (or to the chart's end).
  const auto& p = r.projection;
  if (p.window_days >= 3 && !p.completed) {
    Time a = p.window_start + std::chrono::hours{12};
    double ya = p.intercept;
    Time b = p.completion ? *p.completion : t1;
    if (b > t1) b = t1;
    double days = double((b - a).count()) / 86400.0;
    double yb = std::max(0.0, p.intercept + p.slope_per_day * days);
    s += "<line x1=\"" + num(X(a)) + "\" y1=\"" + num(Y(std::clamp(ya, 0.0, double(ymax)))) + "\" x2=\"" + num(X(b)) +
         "\" y2=\"" + num(Y(std::min(yb, double(ymax)))) +
         "\" stroke=\"#2c3e50\" stroke-width=\"1.5\" stroke-dasharray=\"6,4\"/>";
    s += "<text x=\"" + num(X(b)) + "\" y=\"" + num(Y(std::min(yb, double(ymax))) - 6) +
         "\" font-size=\"11\" text-anchor=\"end\" fill=\"#2c3e50\">" + xml(tr(lang, "projection_line")) +
         (p.completion ? " " + xml(tz.format_date(*p.completion)) : "") + "</text>";
  }
  // Deadline marker.
  double xd = X(r.deadline);
  s += "<line x1=\"" + num(xd) + "\" y1=\"" + num(T) + "\" x2=\"" + num(xd) + "\" y2=\"" + num(H - B) +
       "\" stroke=\"#e67e22\" stroke-width=\"2\"/><text x=\"" + num(xd - 4) + "\" y=\"" + num(T + 12) +
       "\" font-size=\"11\" text-anchor=\"end\" fill=\"#e67e22\">" + xml(tr(lang, "deadline_marker")) + " " +
       xml(tz.format_date(r.deadline)) + "</text>";
  s += "<line x1=\"" + num(L) + "\" y1=\"" + num(H - B) + "\" x2=\"" + num(W - R) + "\" y2=\"" + num(H - B) +
       "\" stroke=\"#333\"/><line x1=\"" + num(L) + "\" y1=\"" + num(T) + "\" x2=\"" + num(L) + "\" y2=\"" +
       num(H - B) + "\" stroke=\"#333\"/>";
  // Legend.
  s += "<rect x=\"" + num(L + 10) + "\" y=\"" + num(H - 14) + "\" width=\"12\" height=\"4\" fill=\"#c0392b\"/>"
       "<text x=\"" + num(L + 26) + "\" y=\"" + num(H - 9) + "\" font-size=\"11\">" + xml(tr(lang, "people_series")) +
       "</text><rect x=\"" + num(L + 120) + "\" y=\"" + num(H - 14) +
       "\" width=\"12\" height=\"4\" fill=\"#9ab\"/><text x=\"" + num(L + 136) + "\" y=\"" + num(H - 9) +
       "\" font-size=\"11\">" + xml(tr(lang, "devices_series")) + "</text>";
  s += "</svg>";
  return s;
}

// Platform mix: one horizontal bar per platform, non-compliant part in red.
std::string platform_svg(const Report& r, Lang lang) {
  const double W = 760, rowh = 26, L = 130, R = 80;
  size_t n = std::min<size_t>(r.platforms.size(), 12);
  double H = 20 + rowh * double(n) + 30;
  int64_t mx = 1;
  for (size_t i = 0; i < n; ++i) mx = std::max(mx, r.platforms[i].devices);
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + num(W, 0) + " " + num(H, 0) +
                  "\" width=\"" + num(W, 0) + "\" height=\"" + num(H, 0) + "\" role=\"img\" aria-label=\"" +
                  xml(tr(lang, "platform_mix")) + "\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>";
  for (size_t i = 0; i < n; ++i) {
    const auto& p = r.platforms[i];
    double y = 10 + rowh * double(i);
    double w = (W - L - R) * double(p.devices) / double(mx);
    double wn = (W - L - R) * double(p.noncompliant) / double(mx);
    s += "<text x=\"" + num(L - 8) + "\" y=\"" + num(y + 16) + "\" font-size=\"12\" text-anchor=\"end\">" +
         xml(p.family) + "</text>";
    s += "<rect x=\"" + num(L) + "\" y=\"" + num(y + 4) + "\" width=\"" + num(w) +
         "\" height=\"16\" fill=\"#27ae60\"/>";
    if (wn > 0)
      s += "<rect x=\"" + num(L) + "\" y=\"" + num(y + 4) + "\" width=\"" + num(wn) +
           "\" height=\"16\" fill=\"#c0392b\"/>";
    s += "<text x=\"" + num(L + w + 6) + "\" y=\"" + num(y + 16) + "\" font-size=\"12\">" +
         std::to_string(p.devices) + "</text>";
  }
  double ly = H - 16;
  s += "<rect x=\"" + num(L) + "\" y=\"" + num(ly - 9) + "\" width=\"12\" height=\"10\" fill=\"#27ae60\"/><text x=\"" +
       num(L + 16) + "\" y=\"" + num(ly) + "\" font-size=\"11\">" + xml(tr(lang, "compliant")) +
       "</text><rect x=\"" + num(L + 130) + "\" y=\"" + num(ly - 9) +
       "\" width=\"12\" height=\"10\" fill=\"#c0392b\"/><text x=\"" + num(L + 146) + "\" y=\"" + num(ly) +
       "\" font-size=\"11\">" + xml(tr(lang, "noncompliant")) + "</text>";
  s += "</svg>";
  return s;
}

}  // namespace

std::string render_html(const Report& r, Lang lang, const TimeZone& tz) {
  auto t = [&](const char* k) { return xml(tr(lang, k)); };
  std::string o = "<!DOCTYPE html>\n<html lang=\"" + std::string(lang == Lang::ru ? "ru" : "en") +
                  "\"><head><meta charset=\"utf-8\"><title>" + t("report.title") + " — " + xml(r.campaign_id) +
                  "</title><style>"
                  "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}"
                  "table{border-collapse:collapse;margin:8px 0 20px}th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}"
                  "td.n{text-align:right;font-variant-numeric:tabular-nums}h2{margin-top:28px}"
                  ".bad{color:#c0392b;font-weight:600}.ok{color:#27ae60;font-weight:600}.meta{color:#555}"
                  "</style></head><body>\n";
  o += "<h1>" + t("report.title") + ": " + xml(r.campaign_id) + "</h1>\n";
  if (!r.title.empty()) o += "<p>" + xml(r.title) + "</p>\n";
  o += "<p class=\"meta\">";
  if (r.is_campaign)
    o += t("start") + ": " + xml(tz.format_short(r.start)) + " · " + t("deadline") + ": " +
         xml(tz.format_short(r.deadline)) + " · ";
  o += t(r.as_of_evaluation ? "now_eval" : "now") + ": " + xml(tz.format_short(r.now)) + " · " + t("timezone") + ": " + xml(tz.name()) + "</p>\n";
  o += "<p><b>" + t("people") + "</b>: " + std::to_string(r.people) + ", " + t("noncompliant") + ": <span class=\"bad\">" +
       std::to_string(r.people_noncompliant) + "</span> · <b>" + t("devices") + "</b>: " + std::to_string(r.devices) +
       ", " + t("noncompliant") + ": <span class=\"bad\">" + std::to_string(r.devices_noncompliant) + "</span></p>\n";
  if (r.is_campaign) {
    o += "<h2>" + t("burndown") + "</h2>\n" + burndown_svg(r, lang, tz) + "\n";
    o += "<p><b>" + t("projected_completion") + "</b>: <span class=\"" +
         std::string(r.projection.on_track ? "ok" : "bad") + "\">" + xml(projection_text(r, lang, tz)) + "</span>";
    if (r.projection.window_days >= 3 && !r.projection.completed)
      o += " · " + t("trend") + ": " + num(r.projection.slope_per_day, 2) + " " + t("per_day");
    o += "<br><span class=\"meta\">" + t("method") + ": " + xml(method_text(r.projection, lang)) + "</span></p>\n";
  }
  o += "<h2>" + t("by_unit") + "</h2>\n<table><tr><th>" + t("unit") + "</th><th>" + t("level") + "</th><th>" +
       t("people") + "</th><th>" + t("people_noncompliant") + "</th><th>" + t("devices") + "</th><th>" +
       t("devices_noncompliant") +
       "</th><th>" + t("compliance") + "</th></tr>\n";
  for (const auto& u : r.units)
    o += "<tr><td style=\"padding-left:" + std::to_string(10 + 18 * std::max(0, u.depth)) + "px\">" +
         xml(u.name.empty() ? u.path : u.name) + "</td><td>" + xml(level_text(u.level, lang)) + "</td><td class=n>" +
         std::to_string(u.people) + "</td><td class=n>" + std::to_string(u.people_noncompliant) + "</td><td class=n>" +
         std::to_string(u.devices) + "</td><td class=n>" + std::to_string(u.devices_noncompliant) +
         "</td><td class=n>" + pct(u.compliance_pct) + "</td></tr>\n";
  o += "</table>\n<h2>" + t("by_rule") + "</h2>\n<table><tr><th>" + t("rule") + "</th><th>" + t("severity") +
       "</th><th>" + t("pass") + "</th><th>" + t("fail") + "</th><th>" + t("exempt") + "</th><th>" + t("unknown") +
       "</th><th>" + t("not_applicable") + "</th></tr>\n";
  for (const auto& x : r.rules)
    o += "<tr><td>" + (x.title.empty() || x.title == x.id ? xml(x.id) : xml(x.title) + " <span class=\"meta\">(" + xml(x.id) + ")</span>") +
         "</td><td>" + xml(tr_severity(lang, x.severity)) +
         "</td><td class=n>" + std::to_string(x.pass) + "</td><td class=n>" + std::to_string(x.fail) +
         "</td><td class=n>" + std::to_string(x.exempt) + "</td><td class=n>" + std::to_string(x.unknown) +
         "</td><td class=n>" + std::to_string(x.not_applicable) + "</td></tr>\n";
  o += "</table>\n<h2>" + t("platform_mix") + "</h2>\n" + platform_svg(r, lang) + "\n";
  if (r.is_campaign) {
    o += "<h2>" + t("overdue") + " (" + std::to_string(r.overdue.size()) + ")</h2>\n<table><tr><th>" + t("person") +
         "</th><th>" + t("unit") + "</th><th>" + t("manager") + "</th><th>" + t("device") + "</th><th>" +
         t("failing_rules") + "</th><th>" + t("days_overdue") + "</th></tr>\n";
    // Failing rules by their titles (the id on hover); the terminal and CSV lists keep the
    // short ids, which the rule table beside them names.
    std::map<std::string_view, std::string> rule_html;
    for (const auto& x : r.rules)
      rule_html[x.id] = x.title.empty() || x.title == x.id
                            ? xml(x.id)
                            : "<span title=\"" + xml(x.id) + "\">" + xml(x.title) + "</span>";
    size_t shown = 0;
    for (const auto& x : r.overdue) {
      if (++shown > 500) break;
      std::string rules;
      for (const auto& id : x.rules) {
        if (!rules.empty()) rules += ", ";
        auto it = rule_html.find(id);
        rules += it != rule_html.end() ? it->second : xml(id);
      }
      o += "<tr><td>" + xml(x.name) + "</td><td>" + xml(x.unit) + "</td><td>" + xml(x.manager_name) + "</td><td>" +
           xml(join(x.devices, "; ")) + "</td><td>" + rules + "</td><td class=n>" + std::to_string(x.days_overdue) +
           "</td></tr>\n";
    }
    o += "</table>\n";
  }
  o += "<p class=\"meta\">" + t("generated") + "</p>\n</body></html>\n";
  return o;
}

}  // namespace fw::policy
