#!/usr/bin/env python3
"""A stub of the agent endpoints for measuring fleetward-agent (tests/agent/measure.sh).

Answers POST /api/v1/agent/enroll and /api/v1/agent/checkin as docs/agent-protocol.md says,
without storing anything. Writes the bound port to PORT_FILE. Usage:
  stub_server.py PORT_FILE [CERT_PEM KEY_PEM]   (with a certificate: HTTPS)
"""
import http.server
import json
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/api/v1/agent/enroll":
            out = {"device_id": "d_bench", "credential": "cred-bench", "checkin_interval_s": 900}
        elif self.path == "/api/v1/agent/checkin":
            report = json.loads(body)
            out = {"ack_seq": report["seq"], "next_checkin_s": 900, "commands": []}
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if len(sys.argv) > 3:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(sys.argv[1], "w") as f:
        f.write(str(srv.server_address[1]))
    srv.serve_forever()


if __name__ == "__main__":
    main()
