// The demo's policies (examples/replace-ios.yaml, embedded) and its simulated campaign
// history; called once from run_demo_extensions (demo_steps.cpp) after the inventory.
// Runs on the caller's thread.
#pragma once

#include "service/demo.h"

namespace fw::service {

// The text of examples/replace-ios.yaml, embedded so the demo needs no files.
extern const char* const kDemoPolicyFile;

// Applies kDemoPolicyFile, stores the demo's fixed clock (setting "clock.now" = opts.now) and
// the display zone, simulates the weeks from the campaign's start to opts.now and evaluates.
Status apply_demo_policies(store::Store& store, const DemoOptions& opts, const DemoData& data, const Clock& clock);

}  // namespace fw::service
