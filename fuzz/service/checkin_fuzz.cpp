// Fuzzes the agent endpoints' body validation (service::AgentService::enroll / checkin) with
// a real SQLite store in a temporary directory and one device enrolled at start-up. The
// first byte picks enroll (even) or checkin (odd); in the rest, "@SECRET@", "@DEV@" are
// replaced by a valid enrolment secret and the enrolled device's id, so that inputs reach
// the checks behind authentication. Any body must give an answer or an error with a known
// code, never a crash. Seeds: corpus_checkin/.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_store.h"
#include "service/checkin.h"
#include "service/importer.h"

namespace {

struct Agent {
  fw::FixedClock clock{fw::from_unix(1'800'000'000)};
  std::unique_ptr<fw::service::AgentService> svc;
  std::string secret, device_id, credential;
};

[[noreturn]] void die(const char* what, const fw::Error& e) {
  std::fprintf(stderr, "checkin_fuzz set-up: %s: %s\n", what, e.to_string().c_str());
  std::abort();
}

Agent& agent() {
  static Agent* a = [] {
    auto* x = new Agent;  // lives for the process: the writer thread must outlive every input
    auto& store = fw::fuzz::fuzz_store();
    auto rep = fw::service::import_text(store, "org-units.csv", "path\n/field\n", "fuzz", x->clock.now());
    if (!rep.ok()) {
      std::fprintf(stderr, "checkin_fuzz set-up: %s\n", rep.errors.front().c_str());
      std::abort();
    }
    fw::service::AgentLimits lim;
    lim.rate_per_s = 1e9;  // the fuzzer checks in far faster than an agent may
    lim.burst = 1e15;
    x->svc = std::make_unique<fw::service::AgentService>(store, x->clock, lim);
    auto sec = x->svc->create_enroll_secret("fuzz", "/field", x->clock.now() + fw::Seconds(10LL * 365 * 86400), 1'000'000);
    if (!sec) die("create_enroll_secret", sec.error());
    x->secret = sec->secret;
    auto en = x->svc->enroll(R"({"protocol":1,"enroll_secret":")" + x->secret +
                             R"(","hardware_id":"hw-fuzz","hostname":"phone","os_family":"Aurora OS"})");
    if (!en) die("enroll", en.error());
    x->device_id = std::string(en->at("device_id").as_string());
    x->credential = std::string(en->at("credential").as_string());
    return x;
  }();
  return *a;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Agent& a = agent();
  if (size == 0) return 0;
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  replace_all(body, "@SECRET@", a.secret);
  replace_all(body, "@DEV@", a.device_id);
  a.clock.advance(fw::Seconds(1));
  auto r = (data[0] & 1) ? a.svc->checkin(a.credential, body) : a.svc->enroll(body);
  if (!r && r.error().code == fw::Errc::internal) {
    std::fprintf(stderr, "internal error: %s\n", r.error().to_string().c_str());
    __builtin_trap();
  }
  return 0;
}
