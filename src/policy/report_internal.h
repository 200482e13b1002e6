// Private to policy/: the steps that build_report() (over rows) and finish_report() (over
// tallies) share once each has per-person states; see report.cpp. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/policy.h"

namespace fw::policy::detail {

// The report's heading and one zero row per rule of the campaign.
Report start_report(const ReportInput& in);

// The input's org units, each with its chain of ancestors present in the input (itself first).
struct UnitTree {
  explicit UnitTree(const ReportInput& in);
  // The chain of the unit at `path`; null when the input has no such unit.
  const std::vector<uint32_t>* chain_of(std::string_view path) const {
    auto it = index.find(path);
    return it == index.end() ? nullptr : &chain[it->second];
  }
  std::unordered_map<std::string_view, size_t> index;  // path -> units index
  std::vector<UnitStats> units;
  std::vector<std::vector<uint32_t>> chain;
};

// Per person: in scope (level), worst state (0 compliant, 1 unknown, 2 non-compliant),
// exempt, and counts of their devices in scope (all / non-compliant / exempt).
struct PersonTotals {
  const std::vector<std::optional<Level>>& level;
  const std::vector<uint8_t>& state;
  const std::vector<uint8_t>& exempt;
  const std::vector<int32_t>& devices;
  const std::vector<int32_t>& noncompliant;
  const std::vector<int32_t>& exempt_devices;
};

// Counts the people in scope into the report and up their unit's chain, then moves the units
// that have people or devices into rep.units, sorted by path.
void roll_up_people(Report& rep, UnitTree& tree, const ReportInput& in, const PersonTotals& people);

// Adds an overdue row for each non-compliant mandatory-scope person past their deadline
// (without devices and rules); returns each person's row index, -1 for none.
std::vector<int32_t> add_overdue_people(Report& rep, const ReportInput& in, const PersonTotals& people,
                                        const std::vector<std::optional<Time>>& first_fail);

// The overdue list's final order: most days overdue first, then by name.
void sort_overdue(Report& rep);

}  // namespace fw::policy::detail
