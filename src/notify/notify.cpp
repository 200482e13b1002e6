// See notify.h. The words come from the catalogue (policy::tr, keys "notice.*"); the
// policy's own titles and remedies are quoted as written. Pure; thread-safe.
#include "notify/notify.h"

#include <array>

namespace fw::notify {

namespace {

// "{}" in `fmt` replaced by `args` in order.
std::string fill(std::string_view fmt, std::initializer_list<std::string_view> args) {
  std::string s(fmt);
  size_t from = 0;
  for (auto a : args) {
    const auto p = s.find("{}", from);
    if (p == std::string::npos) break;
    s.replace(p, 2, a);
    from = p + a.size();
  }
  return s;
}

std::string address(const std::string& name, const std::string& email) {
  if (email.empty()) return name;
  if (name.empty()) return email;
  return name + " <" + email + ">";
}

}  // namespace

std::string days(int64_t n, policy::Lang lang) { return policy::tr_count_of(lang, "n.day", n); }

std::string hours(int64_t n, policy::Lang lang) { return policy::tr_count_of(lang, "n.hour", n); }

std::string time_to_deadline(Time now, Time deadline, policy::Lang lang) {
  auto t = [&](std::string_view key) { return policy::tr(lang, key); };
  using std::chrono::days;
  using std::chrono::hours;
  if (now <= deadline) {
    // A started day counts: 13 days 23 hours left is "14 days"; under a day, whole hours.
    const auto left = deadline - now;
    if (left < hours{1}) return std::string(t("notice.left_under_hour"));
    if (left < days{1})
      return fill(t("notice.days_left"), {notify::hours(std::chrono::duration_cast<hours>(left).count(), lang)});
    const int64_t d = (left.count() + 86399) / 86400;
    return fill(t("notice.days_left"), {notify::days(d, lang)});
  }
  // Late: whole days, as the report's "days overdue" counts them; under a day, whole hours.
  const auto late = now - deadline;
  if (late < hours{1}) return std::string(t("notice.overdue_under_hour"));
  if (late < days{1})
    return fill(t("notice.overdue_by"), {notify::hours(std::chrono::duration_cast<hours>(late).count(), lang)});
  return fill(t("notice.overdue_by"), {notify::days(std::chrono::duration_cast<days>(late).count(), lang)});
}

std::string format_when(Time t, policy::Lang lang, const TimeZone& tz) {
  // "2023-03-31 23:59" in the zone.
  const std::string s = tz.format_short(t);
  const int month = std::stoi(s.substr(5, 2));
  const std::string day = std::to_string(std::stoi(s.substr(8, 2))), year = s.substr(0, 4), hm = s.substr(11, 5);
  static constexpr std::array<std::string_view, 12> kRu = {"января", "февраля", "марта",    "апреля",
                                                           "мая",    "июня",    "июля",     "августа",
                                                           "сентября", "октября", "ноября", "декабря"};
  static constexpr std::array<std::string_view, 12> kEn = {"January", "February", "March",     "April",
                                                           "May",     "June",     "July",      "August",
                                                           "September", "October", "November", "December"};
  const auto m = static_cast<size_t>(month - 1) % 12;
  if (lang == policy::Lang::ru) return day + " " + std::string(kRu[m]) + " " + year + " г., " + hm + " (" + tz.name() + ")";
  return day + " " + std::string(kEn[m]) + " " + year + ", " + hm + " (" + tz.name() + ")";
}

Notice render_notice(const NoticeInput& in, policy::Lang lang, const TimeZone& tz) {
  auto t = [&](std::string_view key) { return policy::tr(lang, key); };
  Notice n;
  const bool owner = in.to == policy::Recipient::owner;
  n.to = owner ? address(in.person_name, in.person_email) : address(in.recipient_name, in.recipient_email);

  // Subject: what kind of message, the campaign, and the deadline or how late.
  const bool late = in.now > in.deadline;
  std::string kind = std::string(owner ? (in.block ? t("notice.kind.block") : late ? t("notice.kind.overdue") : t("notice.kind.reminder"))
                                       : t("notice.kind.escalation"));
  std::string when = late ? time_to_deadline(in.now, in.deadline, lang)
                          : fill(t("notice.deadline_on"), {format_when(in.deadline, lang, tz)});
  n.subject = kind + ": " + in.campaign_title + " — " + when;

  std::string& b = n.body;
  if (owner) {
    b += fill(t("notice.greeting"), {in.person_name}) + "\n\n";
    b += fill(t("notice.owner.intro"), {in.campaign_title}) + "\n";
  } else {
    b += (in.recipient_name.empty() ? std::string(t("notice.greeting.admins")) : fill(t("notice.greeting"), {in.recipient_name})) + "\n\n";
    b += fill(t("notice.manager.intro"), {address(in.person_name, in.person_email), in.campaign_title}) + "\n";
  }
  b += fill(t("notice.deadline_line"), {format_when(in.deadline, lang, tz)}) + "; " +
       time_to_deadline(in.now, in.deadline, lang) + ".\n";
  if (in.block) b += std::string(t(owner ? "notice.blocked.owner" : "notice.blocked.manager")) + "\n";
  b += "\n";
  for (const auto& d : in.devices) {
    b += d.label + ":\n";
    for (const auto& r : d.failing) {
      b += "  - " + r.title;
      if (!r.remedy.empty()) b += ". " + std::string(t("notice.what_to_do")) + ": " + r.remedy;
      b += "\n";
    }
  }
  if (!in.devices.empty()) b += "\n";
  b += fill(t("notice.footer"), {format_when(in.now, lang, tz), in.campaign_id}) + "\n";
  return n;
}

}  // namespace fw::notify
