// A test double of the server side of docs/agent-protocol.md, served by LoopbackServer:
// enrolment with one secret, check-ins with the seq / base_seq rules (duplicates, 409),
// queued commands redelivered until their result arrives, and switches for outages,
// revocation and rate limiting. Its state is guarded by a mutex (server thread vs test).
#pragma once

#include <boost/json.hpp>
#include <mutex>
#include <string>
#include <vector>

#include "loopback_server.h"

namespace fw::agent::testing {

class FakeFleet {
 public:
  // Switches the test flips.
  int down_status = 0;         // non-zero: every request gets this status (503: outage)
  bool revoked = false;        // check-ins get 401
  int retry_after_s = 0;       // with down_status 429
  int next_checkin_s = 600;

  struct Stored {
    boost::json::object report;
  };

  HttpReply handle(const HttpRequest& req) {
    std::lock_guard lk(mu_);
    requests.push_back(req);
    if (down_status) {
      HttpReply r{down_status, R"({"error":{"code":"unavailable","message":"down for maintenance","where":""}})", {}};
      if (retry_after_s) r.headers["Retry-After"] = std::to_string(retry_after_s);
      return r;
    }
    boost::system::error_code ec;
    auto v = boost::json::parse(req.body, ec);
    if (ec || !v.is_object()) return error(400, "parse_error", "body is not a JSON object");
    auto& o = v.get_object();
    if (req.method == "POST" && req.target == "/api/v1/agent/enroll") {
      if (o["enroll_secret"] != "s3cret") return error(401, "unauthenticated", "enrolment secret unknown or expired");
      enrolled_hardware_id = std::string(o["hardware_id"].as_string());
      return {200, R"({"device_id":"d_1","credential":"cred-abc","checkin_interval_s":600})", {}};
    }
    if (req.method == "POST" && req.target == "/api/v1/agent/checkin") {
      auto auth = req.headers.find("authorization");
      if (auth == req.headers.end() || auth->second != "Bearer cred-abc" || revoked)
        return error(401, "unauthenticated", "device credential revoked by admin");
      int64_t seq = o["seq"].to_number<int64_t>();
      std::string kind(o["kind"].as_string());
      for (const auto& res : o["command_results"].as_array()) {
        std::string id(res.at("id").as_string());
        boost::json::array keep;
        for (const auto& c : pending_commands)
          if (c.at("id").as_string() != id) keep.push_back(c);
        pending_commands = std::move(keep);
        results.push_back(res.as_object());
      }
      if (seq > last_seq) {
        if (kind == "full") {
          facts = o["facts"].as_object();
        } else {
          if (o["base_seq"].to_number<int64_t>() != last_seq)
            return error(409, "conflict", "delta base_seq does not match the last report");
          for (const auto& kv : o["facts"].as_object()) facts[kv.key()] = kv.value();
          for (const auto& k : o["removed"].as_array()) facts.erase(k.as_string());
        }
        last_seq = seq;
        accepted.push_back(o);
      } else {
        ++duplicates;
      }
      boost::json::object ans;
      ans["ack_seq"] = seq;
      ans["next_checkin_s"] = next_checkin_s;
      ans["commands"] = pending_commands;
      return {200, boost::json::serialize(ans), {}};
    }
    return error(404, "not_found", "no route");
  }

  void queue_command(std::string id, std::string type, boost::json::object args = {}) {
    std::lock_guard lk(mu_);
    boost::json::object c;
    c["id"] = id;
    c["type"] = type;
    c["args"] = std::move(args);
    pending_commands.push_back(std::move(c));
  }

  // Everything below: read by the test after the agent returned (no concurrent requests).
  std::vector<HttpRequest> requests;
  std::vector<boost::json::object> accepted;  // reports applied, in order
  std::vector<boost::json::object> results;   // command results received
  boost::json::object facts;                  // the device's facts as the server sees them
  boost::json::array pending_commands;
  std::string enrolled_hardware_id;
  int64_t last_seq = 0;
  int duplicates = 0;

 private:
  static HttpReply error(int status, const char* code, const char* msg) {
    boost::json::object e;
    e["code"] = code;
    e["message"] = msg;
    e["where"] = "";
    boost::json::object o;
    o["error"] = std::move(e);
    return {status, boost::json::serialize(o), {}};
  }
  std::mutex mu_;
};

}  // namespace fw::agent::testing
