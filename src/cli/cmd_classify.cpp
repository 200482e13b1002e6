// `fleetward classify [UA]`: classifies one User-Agent given as argument, or one per line
// on stdin, printing one JSON object per input line in input order (docs/detection.md).
// Runs on the main thread only.
#include <iostream>
#include <string>

#include "cli/command.h"
#include "detect/detect.h"
#include "util/strings.h"

namespace fw::cli {
namespace {

std::string jstr(const std::string& s) { return s.empty() ? "null" : "\"" + json_escape(s) + "\""; }

std::string to_json(std::string_view ua, const detect::Classification& c) {
  std::string out = "{\"ua\": \"" + json_escape(ua) + "\", \"os\": {\"family\": " + jstr(c.os_family) +
                    ", \"version\": " + jstr(c.os_version) + "}, \"device\": {\"vendor\": " + jstr(c.vendor) +
                    ", \"model\": " + jstr(c.model) + ", \"type\": " + jstr(c.type) +
                    "}, \"client\": {\"name\": " + jstr(c.client) + ", \"version\": " + jstr(c.client_version) + "}";
  // Extra keys only when they carry information, so plain answers keep the documented shape.
  if (!c.may_be.empty()) {
    out += ", \"may_be\": [";
    for (size_t i = 0; i < c.may_be.size(); ++i) out += (i ? ", \"" : "\"") + json_escape(c.may_be[i]) + "\"";
    out += "]";
  }
  if (c.spoofing_suspected) out += ", \"spoofing_suspected\": true";
  return out + "}";
}

void add_classify(CLI::App& app) {
  auto* cmd = app.add_subcommand("classify", "Classify User-Agent strings (argument, or one per line on stdin)");
  auto ua = std::make_shared<std::string>();
  auto device_type = std::make_shared<std::string>();
  cmd->add_option("ua", *ua, "a User-Agent string; without it, read one per line from stdin");
  cmd->add_option("--device-type", *device_type, "ActiveSync DeviceType seen with the request (iPhone, Android, ...)");
  cmd->callback([ua, device_type, cmd] {
    auto cl = detect::Classifier::load({});
    if (!cl) {
      std::cerr << "fleetward classify: " << cl.error().to_string() << "\n";
      throw CLI::RuntimeError(1);
    }
    detect::ActiveSyncHints hints;
    hints.device_type = *device_type;
    if (cmd->count("ua")) {
      std::cout << to_json(*ua, (*cl)->classify(*ua, hints)) << "\n";
      return;
    }
    std::ios::sync_with_stdio(false);
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.size() > 64 * 1024) line.resize(64 * 1024);
      std::cout << to_json(line, (*cl)->classify(line, hints)) << "\n";
    }
  });
}

}  // namespace
FW_COMMAND(add_classify);
}  // namespace fw::cli
