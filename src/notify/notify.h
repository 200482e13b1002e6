// The texts of the notifications a campaign's schedule asks for (the reminder to a device's
// owner, the escalation to their manager or to the administrators), in the reader's language
// (Russian or English, from the catalogue in policy/messages.cpp) with every time in the
// organisation's zone. Rendering only: delivery (SMTP, webhooks) is not built yet.
// Pure functions of their input; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "model/model.h"
#include "policy/policy.h"
#include "util/time.h"
#include "util/timezone.h"

namespace fw::notify {

// One device of the person that fails the campaign, with what to do about each rule.
struct NoticeDevice {
  std::string label;  // "Apple iPhone 12 (iOS 16.2)"
  struct Rule {
    std::string title, remedy;  // the policy file's words (its language is the file's)
  };
  std::vector<Rule> failing;
};

struct NoticeInput {
  std::string campaign_id, campaign_title;
  policy::Recipient to = policy::Recipient::owner;
  std::string recipient_name;  // the owner, the manager, or "" for the administrators
  std::string recipient_email;
  std::string person_name;     // whose devices fail (the owner)
  std::string person_email;
  Time now{};
  Time deadline{};       // the person's deadline; now > deadline: overdue
  bool block = false;    // the point also blocks access (deadline reached)
  std::vector<NoticeDevice> devices;
};

struct Notice {
  std::string to;       // "Name <e-mail>", or the e-mail alone; "" for the administrators
  std::string subject;  // one line
  std::string body;     // lines ending in '\n'
};

Notice render_notice(const NoticeInput& in, policy::Lang lang, const TimeZone& tz);

// "31 марта 2023 г., 23:59 (Europe/Moscow)" / "31 March 2023, 23:59 (Europe/Moscow)".
std::string format_when(Time t, policy::Lang lang, const TimeZone& tz);

// "1 день", "3 дня", "5 дней" / "1 day", "3 days"; "1 час", "3 часа", "5 часов" / "1 hour".
std::string days(int64_t n, policy::Lang lang);
std::string hours(int64_t n, policy::Lang lang);

// The time to the deadline as a reader counts it. Before it, a started day counts ("13 days
// 23 hours" left is "14 days left"); under a day, whole hours ("5 hours left"); under an hour
// (the deadline itself included), "less than an hour left". After it, whole days late, as the
// report's "days overdue" ("1 day 9 hours" late is "1 day overdue"); under a day, whole hours;
// under an hour, "less than an hour overdue". Russian words agree with their number.
std::string time_to_deadline(Time now, Time deadline, policy::Lang lang);

}  // namespace fw::notify
