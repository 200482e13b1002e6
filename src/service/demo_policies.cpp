// The demo's policies and simulated campaign history (called from demo_steps.cpp).
// The demo runs on a fixed clock: DemoOptions::now (1 March 2023, 09:00 Moscow), four weeks
// before the campaign's deadline (31 March 23:59:59 +03:00); it is stored as the setting
// "clock.now" so that `fleetward report`, the campaign actions and the API use it too.
// History: some phones of the central administration that are Android/HarmonyOS/Aurora now
// were iPhones at the campaign's start (1 February) and were replaced on a working day in
// between; some had Zoom and lost it. Each simulated day ends with a full evaluation, so the
// finding history holds real status changes. Deterministic for the demo seed.
// Runs on the caller's thread, once.
#include "service/demo_policies.h"

#include <algorithm>
#include <map>

#include "service/evaluate.h"
#include "service/inventory.h"
#include "service/policies.h"

namespace fw::service {

// Kept equal to examples/replace-ios.yaml (a test compares them).
const char* const kDemoPolicyFile = R"YAML(# The demo's migration campaign: no iPhones in the central administration after 31 March
# (mandatory); the regional offices get the same rules as recommendations (advisory).
# Check it with: fleetward policy check examples/replace-ios.yaml
kind: campaign
id: replace-ios
title: Replace iPhones with approved platforms by 31 March
description: >
  Staff of the central administration replace iPhones and iPads with Android, HarmonyOS
  or Aurora OS devices and use TrueConf instead of Zoom.
scope:
  - {path: /administration, level: mandatory}
  - {path: /regions, level: advisory}
start: 2023-02-01T09:00:00+03:00
deadline: 2023-03-31T23:59:59+03:00
grace: 14d
rules:
  - id: no-ios
    title: No iPhones or iPads
    severity: critical
    # A client that may be an iPhone (Outlook mobile, an iPad with a desktop UA) counts
    # until Exchange's export or the agent tells what it is.
    require: '!(device.os.family in ["iOS", "iPadOS"]) && !device.may_be.exists(f, f in ["iOS", "iPadOS"])'
    remedy: Hand the device in and get an Android, HarmonyOS or Aurora OS phone from IT.
  - id: no-zoom
    title: No Zoom; use TrueConf
    severity: medium
    require: '!device.apps.exists(a, a.id.startsWith("us.zoom."))'
    remedy: Remove Zoom and use TrueConf for video calls.
schedule:
  - {at: start, notify: [owner]}
  - {every: 7d, notify: [owner]}
  - {at: deadline-7d, notify: [owner, manager]}
  - {at: deadline, action: block}
  - {at: deadline+14d, notify: [owner, manager, admin]}
---
# Standing rules for every mobile device: a supported OS version.
kind: policy
id: mobile-baseline
title: Supported mobile OS versions
rules:
  - id: android-min-os
    title: Android 10 or newer
    severity: high
    when: device.os.family == "Android"
    require: version(device.os.version) >= version("10")
    remedy: Update Android, or replace the phone if no update exists.
  - id: aurora-min-os
    title: Aurora OS 4.0.2 or newer
    severity: high
    when: device.os.family == "Aurora OS"
    require: version(device.os.version) >= version("4.0.2")
    remedy: Install the current Aurora OS update.
)YAML";

namespace {

// English text of kDemoPolicyFile -> Russian; each must occur exactly once.
struct Translation {
  std::string_view en, ru;
};
constexpr Translation kPolicyRu[] = {
    {"# The demo's migration campaign: no iPhones in the central administration after 31 March\n"
     "# (mandatory); the regional offices get the same rules as recommendations (advisory).\n"
     "# Check it with: fleetward policy check examples/replace-ios.yaml\n",
     "# Кампания демонстрационной организации: с 31 марта в центральном аппарате нет iPhone\n"
     "# (обязательно); региональным представительствам те же правила рекомендованы.\n"},
    {"title: Replace iPhones with approved platforms by 31 March",
     "title: Замена iPhone на разрешённые платформы до 31 марта"},
    {"  Staff of the central administration replace iPhones and iPads with Android, HarmonyOS\n"
     "  or Aurora OS devices and use TrueConf instead of Zoom.",
     "  Сотрудники центрального аппарата заменяют iPhone и iPad на устройства с Android,\n"
     "  HarmonyOS или ОС Аврора и используют TrueConf вместо Zoom."},
    {"title: No iPhones or iPads", "title: Без iPhone и iPad"},
    {"    # A client that may be an iPhone (Outlook mobile, an iPad with a desktop UA) counts\n"
     "    # until Exchange's export or the agent tells what it is.\n",
     "    # Клиент, который может быть iPhone (Outlook mobile, iPad с настольным UA), считается\n"
     "    # нарушением, пока выгрузка Exchange или агент не уточнят устройство.\n"},
    {"remedy: Hand the device in and get an Android, HarmonyOS or Aurora OS phone from IT.",
     "remedy: Сдайте устройство и получите в ИТ-отделе телефон с Android, HarmonyOS или ОС Аврора."},
    {"title: No Zoom; use TrueConf", "title: Без Zoom — используйте TrueConf"},
    {"remedy: Remove Zoom and use TrueConf for video calls.",
     "remedy: Удалите Zoom и используйте TrueConf для видеозвонков."},
    {"# Standing rules for every mobile device: a supported OS version.",
     "# Постоянные правила для всех мобильных устройств: поддерживаемая версия ОС."},
    {"title: Supported mobile OS versions", "title: Поддерживаемые версии мобильных ОС"},
    {"title: Android 10 or newer", "title: Android 10 или новее"},
    {"remedy: Update Android, or replace the phone if no update exists.",
     "remedy: Обновите Android или замените телефон, если обновления нет."},
    {"title: Aurora OS 4.0.2 or newer", "title: ОС Аврора 4.0.2 или новее"},
    {"remedy: Install the current Aurora OS update.", "remedy: Установите актуальное обновление ОС Аврора."},
};

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t hash_id(std::string_view s, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return mix(h);
}

}  // namespace

Result<std::string> demo_policy_text(policy::Lang lang) {
  std::string text = kDemoPolicyFile;
  if (lang == policy::Lang::en) return text;
  for (const auto& t : kPolicyRu) {
    const auto at = text.find(t.en);
    if (at == std::string::npos || text.find(t.en, at + 1) != std::string::npos)
      return fail(Errc::internal, "the demo's policy file no longer has exactly one \"" + std::string(t.en.substr(0, 40)) +
                                      "\" to translate", "service/demo_policies.cpp");
    text.replace(at, t.en.size(), t.ru);
  }
  return text;
}

Status apply_demo_policies(store::Store& store, const DemoOptions& opts, const DemoData& data, const Clock& clock) {
  (void)clock;  // the demo's own fixed clock decides
  FW_TRY_STATUS(store.write([&](store::Tx& tx) -> Status {
    FW_TRY_STATUS(tx.put_setting("clock.now", format_time(opts.now)));
    if (auto z = tx.get_setting("org.timezone"); !z) FW_TRY_STATUS(tx.put_setting("org.timezone", "Europe/Moscow"));
    return {};
  }));
  FW_TRY(const std::string file, demo_policy_text(opts.lang));
  const char* const source = opts.lang == policy::Lang::en ? "examples/replace-ios.yaml" : "replace-ios.ru.yaml";
  FW_TRY(auto docs, check_policy_text(file, source));
  Time start{}, deadline{};
  for (const auto& d : docs)
    if (d.is_campaign()) start = *d.start, deadline = *d.deadline;
  FixedClock apply_clock(start - std::chrono::days{2});
  auto progress = [&](const std::string& step) {
    if (opts.progress) opts.progress(step);
  };
  progress("policies: the replace-ios campaign and the mobile baseline");
  FW_TRY_STATUS(apply_policy_text(store, apply_clock, "demo", file, source));
  if (opts.now <= start) {
    FW_TRY_STATUS(evaluate_all_at(store, opts.now));
    return {};
  }

  // Days between the start and the demo's now; replacements happen on working days.
  auto tz = TimeZone::load("Europe/Moscow");
  TimeZone zone = tz ? *tz : TimeZone::fixed(3 * 3600);
  Time day0 = zone.start_of_day(start);
  int days = int((zone.start_of_day(opts.now) - day0).count() / 86400);
  std::vector<int> workdays;
  for (int k = 1; k < days; ++k) {
    auto wd = std::chrono::weekday{std::chrono::floor<std::chrono::days>(day0 + std::chrono::days{k} + std::chrono::hours{12})};
    if (wd != std::chrono::Saturday && wd != std::chrono::Sunday) workdays.push_back(k);
  }
  std::map<std::string, std::string> unit_of;
  for (const auto& p : data.people) unit_of[p.id] = p.org_unit_path;
  // Devices with a simulated past, and the day their owner fixed it.
  struct Past {
    const model::Device* now;
    model::Device then;
    int day;
  };
  std::vector<Past> past;
  const char* iphones[] = {"iPhone 11", "iPhone 12", "iPhone 13", "iPhone SE (2nd generation)", "iPhone XR"};
  const char* ios[] = {"15.7.3", "16.1.2", "16.2", "16.3"};
  for (const auto& d : data.devices) {
    if (d.type != model::DeviceType::phone || d.owner_id.empty()) continue;
    auto it = unit_of.find(d.owner_id);
    if (it == unit_of.end() || !model::OrgUnit::within(it->second, "/administration")) continue;
    bool approved = d.os_family == "Android" || d.os_family == "HarmonyOS" || d.os_family == "Aurora OS";
    bool zoom = std::any_of(d.apps.begin(), d.apps.end(), [](auto& a) { return a.id.starts_with("us.zoom."); });
    if (!approved || workdays.empty()) continue;
    uint64_t h = hash_id(d.id, opts.seed);
    Past p{&d, d, workdays[(h >> 20) % workdays.size()]};
    if (h % 100 < 45) {  // was an iPhone at the start
      p.then.os_family = "iOS";
      p.then.os_version = ios[(h >> 8) % 4];
      p.then.vendor = "Apple";
      p.then.model = iphones[(h >> 12) % 5];
      p.then.apps.erase(std::remove_if(p.then.apps.begin(), p.then.apps.end(),
                                       [](auto& a) { return a.id.find("trueconf") != std::string::npos; }),
                        p.then.apps.end());
      past.push_back(std::move(p));
    } else if (!zoom && h % 100 < 60) {  // had Zoom at the start
      p.then.apps.push_back(model::App{"us.zoom.videomeetings", "Zoom", "5.13.3"});
      past.push_back(std::move(p));
    }
  }
  auto put_all = [&](auto pick, Time at) -> Status {
    return store.write([&](store::Tx& tx) -> Status {
      Change c{"demo", at};
      for (const auto& p : past)
        if (const model::Device* d = pick(p)) FW_TRY_STATUS(put_device(tx, c, *d, PutMode::replace));
      return {};
    });
  };
  // The state at the start: the past versions, evaluated at the start itself (so the first
  // failures, and with them everyone's personal start, are the campaign's start).
  progress("campaign history: day 1 of " + std::to_string(days));
  FW_TRY_STATUS(put_all([](const Past& p) { return &p.then; }, start));
  FW_TRY_STATUS(evaluate_all_at(store, start));
  for (int k = 1; k < days; ++k) {
    Time evening = day0 + std::chrono::days{k} + std::chrono::hours{19};
    if (evening >= opts.now) break;
    progress("campaign history: day " + std::to_string(k + 1) + " of " + std::to_string(days));
    FW_TRY_STATUS(put_all([k](const Past& p) { return p.day == k ? p.now : nullptr; }, evening - std::chrono::hours{3}));
    FW_TRY_STATUS(evaluate_all_at(store, evening));
  }
  FW_TRY_STATUS(put_all([&](const Past& p) { return p.day >= days ? p.now : nullptr; }, opts.now));
  (void)deadline;
  FW_TRY_STATUS(evaluate_all_at(store, opts.now));
  return {};
}

}  // namespace fw::service
