#!/usr/bin/env python3
"""A stub of the agent endpoints for measuring fleetward-agent (tests/agent/measure.sh).

Answers POST /api/v1/agent/enroll and /api/v1/agent/checkin as docs/agent-protocol.md says,
without storing anything. Writes the bound port to PORT_FILE. Usage:
  stub_server.py PORT_FILE [CERT_PEM KEY_PEM]   (with a certificate: HTTPS)
Also the awkward answers that tests/agent/agent_transport_test.cpp needs, under /t/:
echo, chunked, close-mid (cut in the body), oversized (chunked past 1 MiB), big-length,
redirect, slow (answers after 3 s), then-close (closes the kept-alive connection after it).
"""
import http.server
import itertools
import json
import ssl
import sys
import time


# One number per accepted connection; id(self) could repeat once a closed connection's handler was freed.
CONNECTIONS = itertools.count(1)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.conn = next(CONNECTIONS)

    def log_message(self, *args):
        pass

    def raw(self, data):
        self.wfile.write(data)
        self.wfile.flush()

    def test_answer(self, body):
        self.requests = getattr(self, "requests", 0) + 1
        p = self.path[3:]
        if p == "echo":
            out = json.dumps({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body.decode(),
                              "conn": self.conn, "n": self.requests}).encode()
            self.raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(out)
                     + out)
        elif p == "chunked":
            self.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for part in (b'{"ok":', b'true,', b'"n":42}'):
                self.raw(b"%x\r\n%s\r\n" % (len(part), part))
            self.raw(b"0\r\n\r\n")
        elif p == "close-mid":
            self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"partial\":")
            self.close_connection = True
        elif p == "oversized":
            self.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"x" * 65536
            try:
                for _ in range(40):
                    self.raw(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.raw(b"0\r\n\r\n")
            except OSError:
                pass
            self.close_connection = True
        elif p == "big-length":
            self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n")
            self.close_connection = True
        elif p == "redirect":
            self.raw(b"HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.example/\r\nContent-Length: 0\r\n\r\n")
        elif p == "slow":
            time.sleep(3)
            self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        elif p == "then-close":
            out = json.dumps({"conn": self.conn}).encode()
            self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(out) + out)
            self.close_connection = True
        else:
            self.raw(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path.startswith("/t/"):
            self.test_answer(body)
            return
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
