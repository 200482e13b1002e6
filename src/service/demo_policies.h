// The demo's policies (examples/replace-ios.yaml, embedded) and its simulated campaign
// history; called once from run_demo_extensions (demo_steps.cpp) after the inventory.
// Runs on the caller's thread.
#pragma once

#include "service/demo.h"

namespace fw::service {

// The text of examples/replace-ios.yaml, embedded so the demo needs no files.
extern const char* const kDemoPolicyFile;

// The demo's policy file in `lang`: kDemoPolicyFile itself for English; for Russian the same
// rules, ids, scope and schedule with the texts people read (titles, description, remedies,
// comments) translated. internal error if the English file no longer has a text to translate.
Result<std::string> demo_policy_text(policy::Lang lang);

// Applies demo_policy_text(opts.lang), stores the demo's fixed clock (setting "clock.now" = opts.now) and
// the display zone, simulates the weeks from the campaign's start to opts.now and evaluates.
Status apply_demo_policies(store::Store& store, const DemoOptions& opts, const DemoData& data, const Clock& clock);

}  // namespace fw::service
