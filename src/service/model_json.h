// JSON form of the inventory model types, shared by the HTTP API, the audit log
// (before/after) and `fleetward import` of *.json files. Decoding is strict: an unknown
// field, a wrong type or a bad enum value fails with invalid_argument naming the field
// ("apps[2].version"). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "model/model.h"
#include "store/store.h"
#include "util/error.h"

namespace fw::service {

// Limits for JSON text from outside (HTTP bodies, import files).
struct JsonLimits {
  size_t max_bytes = 1 << 20;  // 1 MiB
  int max_depth = 32;
};

// Parses JSON text; parse_error with where = "byte N" on malformed text, too_large over
// max_bytes, invalid_argument when nesting exceeds max_depth.
Result<boost::json::value> parse_json(std::string_view text, const JsonLimits& limits = {});

boost::json::object to_json(const model::OrgUnit& u);
boost::json::object to_json(const model::Person& p);
boost::json::object to_json(const model::Device& d);
boost::json::object to_json(const model::App& a);
boost::json::object to_json(const model::AuditEvent& e);
std::string to_json_text(const boost::json::value& v);

// Decoders: `prefix` is prepended to field names in errors ("devices[3]." for import).
// Missing fields keep the value already in `out` (so PATCH decodes onto the stored entity,
// and create decodes onto a default-constructed one).
Status from_json(const boost::json::value& v, model::OrgUnit& out, std::string_view prefix = {});
Status from_json(const boost::json::value& v, model::Person& out, std::string_view prefix = {});
Status from_json(const boost::json::value& v, model::Device& out, std::string_view prefix = {});

}  // namespace fw::service
