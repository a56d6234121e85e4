#!/usr/bin/env python3
"""Stands in for an AWS credentials endpoint on 127.0.0.1, handing out moto's keys as temporary
credentials that expire one second after they are issued, so every signed request must fetch
them again (a refresh in the middle of an upload).

usage: credentials_endpoint.py MODE PORTFILE KEYFILE LOGFILE
  MODE container  ECS / EKS Pod Identity: GET any path with "Authorization: <token>"; the token
                  expected is the content of KEYFILE.token
  MODE imds       IMDSv2: PUT /latest/api/token, then GET /latest/meta-data/iam/security-credentials/
                  (the role name) and .../<role>, each with X-aws-ec2-metadata-token
Each credentials document served is logged to LOGFILE as one line.
"""
import datetime
import http.server
import json
import sys

mode, port_file, key_file, log_file = sys.argv[1:5]
ROLE = "cairn-instance-role"
IMDS_TOKEN = "imds-session-token"


def credentials():
    key, secret = open(key_file).read().split()
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
    with open(log_file, "a") as log:
        log.write("issued\n")
    # No "Token": moto checks session tokens against its own STS, and these keys are an IAM user's.
    return json.dumps({"AccessKeyId": key, "SecretAccessKey": secret,
                       "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ")})


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, status, text):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if mode == "imds" and self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.answer(200, IMDS_TOKEN)
        self.answer(403, "forbidden")

    def do_GET(self):
        if mode == "container":
            expected = open(key_file + ".token").read().strip()
            if self.headers.get("Authorization") != expected:
                return self.answer(401, "bad authorization token")
            return self.answer(200, credentials())
        if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
            return self.answer(401, "IMDSv2 token required")
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path == base:
            return self.answer(200, ROLE)
        if self.path == base + ROLE:
            return self.answer(200, credentials())
        self.answer(404, "not found")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as out:
    out.write(str(server.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
