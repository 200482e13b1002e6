// Tests of the notification texts: both languages, times in the organisation's zone (Moscow
// and a zone with daylight saving), Russian number agreement, the owner's reminder, the
// manager's escalation, the block, and no English left in the Russian texts but the
// campaign's own words.
#include "notify/notify.h"

#include <gtest/gtest.h>

namespace fw::notify {
namespace {

using policy::Lang;

TimeZone zone(const char* name) {
  auto z = TimeZone::load(name);
  EXPECT_TRUE(z) << name;
  return z ? *z : TimeZone::fixed(0);
}

Time at(const char* rfc3339) {
  auto t = parse_time(rfc3339);
  EXPECT_TRUE(t) << rfc3339;
  return t ? *t : Time{};
}

NoticeInput sample() {
  NoticeInput in;
  in.campaign_id = "replace-ios";
  in.campaign_title = "Замена iPhone";
  in.person_name = "Иванова Елена Сергеевна";
  in.person_email = "eivanova@gov.example";
  in.now = at("2023-03-01T06:00:00Z");
  in.deadline = at("2023-03-31T20:59:59Z");  // 23:59:59 in Moscow
  in.devices = {{"Apple iPhone 12 (iOS 16.2)", {{"Без iPhone и iPad", "Сдайте устройство."}}}};
  return in;
}

TEST(Notice, DaysAgreeWithTheirNumber) {
  struct Case {
    int64_t n;
    const char *ru, *en;
  } cases[] = {{0, "0 дней", "0 days"},   {1, "1 день", "1 day"},     {2, "2 дня", "2 days"},
               {4, "4 дня", "4 days"},    {5, "5 дней", "5 days"},    {11, "11 дней", "11 days"},
               {14, "14 дней", "14 days"}, {21, "21 день", "21 days"}, {22, "22 дня", "22 days"},
               {111, "111 дней", "111 days"}, {101, "101 день", "101 days"}};
  for (const auto& c : cases) {
    EXPECT_EQ(days(c.n, Lang::ru), c.ru) << c.n;
    EXPECT_EQ(days(c.n, Lang::en), c.en) << c.n;
  }
}

// The time left counts a started day (13 days 23 hours left is 14 days), whole hours under a
// day, "less than an hour" under an hour and at the deadline itself; overdue counts whole days
// (as the report's "days overdue"), whole hours under a day. Russian numbers agree.
TEST(Notice, TimeToTheDeadlineAsAReaderCountsIt) {
  using std::chrono::days, std::chrono::hours, std::chrono::minutes, std::chrono::seconds;
  const Time deadline = at("2023-03-31T20:59:59Z");
  struct Case {
    seconds before;  // the deadline minus now
    const char *ru, *en;
  } cases[] = {
      {days{14}, "до срока 14 дней", "14 days left"},
      {days{13} + hours{23} + minutes{59}, "до срока 14 дней", "14 days left"},
      {days{13} + hours{23}, "до срока 14 дней", "14 days left"},
      {days{20} + seconds{1}, "до срока 21 день", "21 days left"},
      {days{1} + seconds{1}, "до срока 2 дня", "2 days left"},
      {days{1}, "до срока 1 день", "1 day left"},
      {hours{23} + minutes{59}, "до срока 23 часа", "23 hours left"},
      {hours{21}, "до срока 21 час", "21 hours left"},
      {hours{11} + minutes{30}, "до срока 11 часов", "11 hours left"},
      {hours{2}, "до срока 2 часа", "2 hours left"},
      {hours{1}, "до срока 1 час", "1 hour left"},
      {minutes{59}, "до срока меньше часа", "less than an hour left"},
      {seconds{0}, "до срока меньше часа", "less than an hour left"},
      {seconds{-1}, "просрочено меньше чем на час", "less than an hour overdue"},
      {-hours{1}, "просрочено на 1 час", "1 hour overdue"},
      {-(hours{4} + minutes{59}), "просрочено на 4 часа", "4 hours overdue"},
      {-(hours{23} + minutes{59}), "просрочено на 23 часа", "23 hours overdue"},
      {-days{1}, "просрочено на 1 день", "1 day overdue"},
      {-(days{1} + hours{23}), "просрочено на 1 день", "1 day overdue"},
      {-days{5}, "просрочено на 5 дней", "5 days overdue"},
      {-days{22}, "просрочено на 22 дня", "22 days overdue"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.before.count());
    EXPECT_EQ(time_to_deadline(deadline - c.before, deadline, Lang::ru), c.ru);
    EXPECT_EQ(time_to_deadline(deadline - c.before, deadline, Lang::en), c.en);
  }
  // In a notice: the body's deadline line, and the subject of a late reminder.
  auto in = sample();
  in.now = in.deadline - (days{13} + hours{23});
  EXPECT_NE(render_notice(in, Lang::ru, zone("Europe/Moscow")).body.find("23:59 (Europe/Moscow); до срока 14 дней.\n"),
            std::string::npos);
  in.now = in.deadline - hours{3};
  EXPECT_NE(render_notice(in, Lang::en, zone("Europe/Moscow")).body.find("23:59 (Europe/Moscow); 3 hours left.\n"),
            std::string::npos);
  in.now = in.deadline + minutes{10};
  const auto late = render_notice(in, Lang::ru, zone("Europe/Moscow"));
  EXPECT_EQ(late.subject, "Срок истёк: Замена iPhone — просрочено меньше чем на час");
  EXPECT_NE(late.body.find("23:59 (Europe/Moscow); просрочено меньше чем на час.\n"), std::string::npos) << late.body;
  struct H {
    int64_t n;
    const char* ru;
  } hs[] = {{1, "1 час"}, {2, "2 часа"}, {4, "4 часа"}, {5, "5 часов"}, {11, "11 часов"}, {21, "21 час"}, {22, "22 часа"}};
  for (const auto& h : hs) EXPECT_EQ(notify::hours(h.n, Lang::ru), h.ru);
}

TEST(Notice, TimesAreShownInTheOrganisationsZone) {
  const auto msk = zone("Europe/Moscow");
  const auto berlin = zone("Europe/Berlin");
  struct Case {
    const char* utc;
    const TimeZone* tz;
    Lang lang;
    const char* want;
  } cases[] = {
      {"2023-03-31T20:59:59Z", &msk, Lang::ru, "31 марта 2023 г., 23:59 (Europe/Moscow)"},
      {"2023-03-31T20:59:59Z", &msk, Lang::en, "31 March 2023, 23:59 (Europe/Moscow)"},
      {"2023-03-31T21:00:00Z", &msk, Lang::ru, "1 апреля 2023 г., 00:00 (Europe/Moscow)"},  // the day after in Moscow
      {"2023-12-31T20:59:00Z", &msk, Lang::ru, "31 декабря 2023 г., 23:59 (Europe/Moscow)"},
      {"2023-01-01T00:00:00Z", &msk, Lang::en, "1 January 2023, 03:00 (Europe/Moscow)"},
      {"2023-03-26T00:59:59Z", &berlin, Lang::en, "26 March 2023, 01:59 (Europe/Berlin)"},  // before the change
      {"2023-03-26T01:00:00Z", &berlin, Lang::en, "26 March 2023, 03:00 (Europe/Berlin)"},  // summer time
  };
  for (const auto& c : cases) EXPECT_EQ(format_when(at(c.utc), c.lang, *c.tz), c.want) << c.utc;
}

TEST(Notice, OwnerReminderInRussian) {
  const auto n = render_notice(sample(), Lang::ru, zone("Europe/Moscow"));
  EXPECT_EQ(n.to, "Иванова Елена Сергеевна <eivanova@gov.example>");
  EXPECT_EQ(n.subject, "Напоминание: Замена iPhone — срок 31 марта 2023 г., 23:59 (Europe/Moscow)");
  EXPECT_EQ(n.body,
            "Здравствуйте, Иванова Елена Сергеевна!\n\n"
            "Ваши устройства не соответствуют требованиям кампании «Замена iPhone».\n"
            "Срок: 31 марта 2023 г., 23:59 (Europe/Moscow); до срока 31 день.\n\n"
            "Apple iPhone 12 (iOS 16.2):\n"
            "  - Без iPhone и iPad. Что сделать: Сдайте устройство.\n\n"
            "Сообщение fleetward от 1 марта 2023 г., 09:00 (Europe/Moscow), кампания replace-ios. "
            "Вопросы — в службу информационной безопасности.\n");
}

TEST(Notice, OwnerReminderInEnglish) {
  auto in = sample();
  in.campaign_title = "Replace iPhones";
  in.person_name = "Elena Ivanova";
  in.devices = {{"Apple iPhone 12 (iOS 16.2)", {{"No iPhones or iPads", "Hand the device in."}, {"No Zoom", ""}}}};
  const auto n = render_notice(in, Lang::en, zone("Europe/Moscow"));
  EXPECT_EQ(n.subject, "Reminder: Replace iPhones — deadline 31 March 2023, 23:59 (Europe/Moscow)");
  EXPECT_EQ(n.body,
            "Dear Elena Ivanova,\n\n"
            "Your devices do not yet meet the campaign \"Replace iPhones\".\n"
            "Deadline: 31 March 2023, 23:59 (Europe/Moscow); 31 days left.\n\n"
            "Apple iPhone 12 (iOS 16.2):\n"
            "  - No iPhones or iPads. What to do: Hand the device in.\n"
            "  - No Zoom\n\n"
            "Sent by fleetward on 1 March 2023, 09:00 (Europe/Moscow), campaign replace-ios. "
            "Questions: your information security team.\n");
}

TEST(Notice, EscalationToTheManagerAfterTheDeadline) {
  auto in = sample();
  in.to = policy::Recipient::manager;
  in.recipient_name = "Петров Олег Иванович";
  in.recipient_email = "opetrov@gov.example";
  in.now = at("2023-04-03T21:00:00Z");  // 3 days and 1 second after the deadline
  in.block = true;
  const auto n = render_notice(in, Lang::ru, zone("Europe/Moscow"));
  EXPECT_EQ(n.to, "Петров Олег Иванович <opetrov@gov.example>");
  EXPECT_EQ(n.subject, "Эскалация: Замена iPhone — просрочено на 3 дня");
  EXPECT_NE(n.body.find("Здравствуйте, Петров Олег Иванович!\n\n"
                        "Устройства сотрудника Иванова Елена Сергеевна <eivanova@gov.example> не соответствуют "
                        "требованиям кампании «Замена iPhone».\n"
                        "Срок: 31 марта 2023 г., 23:59 (Europe/Moscow); просрочено на 3 дня.\n"
                        "Доступ с этих устройств к почте и внутренним сервисам заблокирован.\n"),
            std::string::npos)
      << n.body;
  const auto en = render_notice(in, Lang::en, zone("Europe/Moscow"));
  EXPECT_EQ(en.subject, "Escalation: Замена iPhone — 3 days overdue");
  // To the administrators: no name, a greeting of their own.
  in.to = policy::Recipient::admin;
  in.recipient_name.clear();
  in.recipient_email.clear();
  const auto admins = render_notice(in, Lang::ru, zone("Europe/Moscow"));
  EXPECT_EQ(admins.to, "");
  EXPECT_EQ(admins.body.rfind("Администраторам fleetward.\n\n", 0), 0u) << admins.body;
}

TEST(Notice, TheOwnerIsToldOfTheBlockAndOfTheDelay) {
  auto in = sample();
  in.now = in.deadline + std::chrono::hours{29};
  const auto late = render_notice(in, Lang::ru, zone("Europe/Moscow"));
  EXPECT_EQ(late.subject, "Срок истёк: Замена iPhone — просрочено на 1 день");
  in.block = true;
  const auto blocked = render_notice(in, Lang::en, zone("Europe/Moscow"));
  EXPECT_EQ(blocked.subject.rfind("Access blocked: ", 0), 0u) << blocked.subject;
  EXPECT_NE(blocked.body.find("Access from these devices to mail and internal services is blocked.\n"),
            std::string::npos);
}

TEST(Notice, RussianTextsHaveNoEnglishWords) {
  // Everything but the campaign id, the device label, the zone's name and the e-mail address.
  auto in = sample();
  in.devices = {{"", {{"Без iPhone и iPad", "Сдайте устройство."}}}};
  in.person_email.clear();
  in.campaign_id = "";
  for (bool block : {false, true})
    for (auto late : {-std::chrono::hours{24 * 30}, -std::chrono::hours{5}, std::chrono::hours{0}, std::chrono::hours{2},
                      std::chrono::hours{50}})
      for (auto to : {policy::Recipient::owner, policy::Recipient::manager, policy::Recipient::admin}) {
        in.block = block;
        in.now = in.deadline + late;
        in.to = to;
        in.recipient_name = to == policy::Recipient::manager ? "Петров Олег Иванович" : "";
        const auto n = render_notice(in, Lang::ru, TimeZone::fixed(3 * 3600));
        std::string text = n.subject + "\n" + n.body;
        for (std::string_view allowed : {"iPhone", "iPad", "fleetward"})
          for (size_t p; (p = text.find(allowed)) != std::string::npos;) text.erase(p, allowed.size());
        for (char c : text)
          EXPECT_FALSE((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) << text;
      }
}

}  // namespace
}  // namespace fw::notify
