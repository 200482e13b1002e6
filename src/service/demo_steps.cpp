// The demo's extension point (see demo.h): what `fleetward demo` does after the inventory
// is written. Each area adds one call here, in order (policies and campaigns, then the
// simulated history that needs them). Runs on the caller's thread, once.
#include "service/demo.h"
#include "service/demo_policies.h"

namespace fw::service {

Status run_demo_extensions(store::Store& store, const DemoOptions& opts, const DemoData& data, const Clock& clock) {
  FW_TRY_STATUS(apply_demo_policies(store, opts, data, clock));  // policies: campaign + history
  return {};
}

}  // namespace fw::service
