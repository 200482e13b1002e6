// Canonical serialisation and SHA-256 of audit events (format in audit_hash.h).
// Pure functions; thread-safe.
#include "store/sql/audit_hash.h"

#include <openssl/evp.h>

namespace fw::store::sql {

std::string audit_canonical(const model::AuditEvent& e) {
  std::string out = "fleetward-audit-v1\n";
  auto field = [&](std::string_view v) {
    out += std::to_string(v.size());
    out += ':';
    out += v;
    out += '\n';
  };
  field(std::to_string(e.seq));
  field(std::to_string(to_unix(e.at)));
  field(e.actor);
  field(e.action);
  field(e.entity);
  field(e.before_json);
  field(e.after_json);
  field(e.prev_hash);
  return out;
}

std::string audit_hash(const model::AuditEvent& e) {
  std::string data = audit_canonical(e);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

}  // namespace fw::store::sql
