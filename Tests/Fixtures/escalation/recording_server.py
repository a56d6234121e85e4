"""A stand-in for Slack, PagerDuty or any webhook on 127.0.0.1 that records every request.

usage: recording_server.py MODE PORT_FILE LOG_FILE
Each request is appended to LOG_FILE as one JSON line {"path", "body", "authorization"} before
the answer is sent. MODE decides the answer:
  pagerduty   202 {"status":"success","message":"Event processed","dedup_key":…}
  slack       200 "ok"
  pd-error    200 {"status":"invalid event","errors":["routing_key is invalid"]}
  slack-error 200 "invalid_payload"
  400         400 "invalid_payload"
  500         500 "rollup_error"
  429-once    first request 429 with Retry-After: 1, then as pagerduty
  hang        never answers (the connection stays open)
The server binds port 0 and writes the port to PORT_FILE.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

mode, port_file, log_file = sys.argv[1:4]
lock = threading.Lock()
seen = {"count": 0}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with lock:
            seen["count"] += 1
            count = seen["count"]
            with open(log_file, "a") as log:
                log.write(json.dumps({"path": self.path, "body": body,
                                      "authorization": self.headers.get("Authorization")}) + "\n")
        if mode == "hang":
            time.sleep(3600)
            return
        if mode == "429-once" and count == 1:
            return self.answer(429, "rate limited", {"Retry-After": "1"})
        if mode in ("pagerduty", "429-once"):
            dedup = body.get("dedup_key") if isinstance(body, dict) else None
            return self.answer(202, json.dumps({"status": "success", "message": "Event processed", "dedup_key": dedup}))
        if mode == "slack":
            return self.answer(200, "ok")
        if mode == "pd-error":
            return self.answer(200, json.dumps({"status": "invalid event", "errors": ["routing_key is invalid"]}))
        if mode == "slack-error":
            return self.answer(200, "invalid_payload")
        if mode == "400":
            return self.answer(400, "invalid_payload")
        return self.answer(500, "rollup_error")

    def answer(self, status, text, headers=None):
        data = text.encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
