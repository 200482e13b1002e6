// Boost.JSON compiled into the agent (header-only mode, one translation unit), so that
// fleetward-agent does not load libboost_json.so: every shared library the loader maps and
// relocates costs resident memory, and the agent's budget is 5 MB (docs/PERFORMANCE.md).
#include <boost/json/src.hpp>
