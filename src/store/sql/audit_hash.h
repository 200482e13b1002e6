// Private to store/: the canonical serialisation and SHA-256 of an audit event.
// Canonical form (version 1), bytes:
//   "fleetward-audit-v1\n" then, for each field in this order — seq (decimal), at (Unix
//   seconds, decimal), actor, action, entity, before_json, after_json, prev_hash — the
//   field's byte length in decimal, ':', the bytes, '\n'.
// hash = lower-case hex SHA-256 of that. Length prefixes make the encoding injective.
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "model/model.h"

namespace fw::store::sql {

std::string audit_canonical(const model::AuditEvent& e);
std::string audit_hash(const model::AuditEvent& e);  // hex SHA-256 of audit_canonical(e)

}  // namespace fw::store::sql
