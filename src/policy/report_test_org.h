// The small organisation of the report tests (docs/policies.md, "Report numbers"): six org
// units, six people (ann, bob and cat report to the boss), seven phones. report_test.cpp
// checks build_report's hand-computed numbers on it; report_tally_test.cpp adds devices and
// findings of its own. Header-only test code.
#pragma once

#include "policy/policy.h"

namespace fw::policy::testing {

// Sets in.units, in.people and in.devices to the organisation above (campaign, zone, time,
// findings and history are the caller's).
inline void add_small_org(ReportInput& in) {
  in.units = {{"/admin", "Администрация"}, {"/admin/hr", "Кадры"}, {"/admin/it", "ИТ"},
              {"/regions", "Регионы"}, {"/regions/tver", "Тверь"}, {"/other", "Прочие"}};
  in.people = {{"boss", "Boss", "boss@x", "/admin", kNone},     {"ann", "Ann", "ann@x", "/admin/it", 0},
               {"bob", "Bob", "bob@x", "/admin/it", 0},         {"cat", "Cat", "cat@x", "/admin/hr", 0},
               {"dan", "Dan", "dan@x", "/regions/tver", kNone}, {"eve", "Eve", "eve@x", "/other", kNone}};
  in.devices = {{"d0", 1, "iOS", "16.3", "iPhone 13"},   {"d1", 1, "Android", "13", "Pixel 7"},
                {"d2", 2, "Android", "11", "Galaxy A52"}, {"d3", 3, "Aurora OS", "4.0.2", "AYYA T1"},
                {"d4", 4, "iOS", "15", "iPhone 11"},     {"d5", 0, "Android", "13", "Pixel 6"},
                {"d6", 5, "iOS", "16", "iPhone 14"}};
}

}  // namespace fw::policy::testing
