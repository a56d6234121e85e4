"""A fault-injecting HTTP proxy in front of moto, for Cairn's S3 retry tests.

Usage: fault_proxy.py UPSTREAM_PORT PORT_FILE MODE_FILE
Listens on a free 127.0.0.1 port (written to PORT_FILE) and forwards every request unchanged,
Host header included, so SigV4 signatures stay valid. MODE_FILE is re-read per request:
  flaky   - once each: drop the connection halfway through the first UploadPart body and
            halfway through the first object download (GET with a Range), answer
            the first listing with 503 SlowDown, the first HEAD with 500, and the first
            CompleteMultipartUpload with a 200 whose body is an <Error>
  part2   - every UploadPart of part 2 gets 500 InternalError (the upload must fail cleanly)
  slow    - every UploadPart is held 0.5 s before it is forwarded (parts overlap if sent in parallel)
  redirect - every request gets 301 PermanentRedirect with x-amz-bucket-region: eu-west-1
  denied  - every request gets 403 AccessDenied
  anything else - plain forwarding
  Modes combine with commas ("slow,part2").
Every request line (plus x-amz-copy-source-range, if any) is appended to MODE_FILE.log, and the
most UploadParts seen in flight at once is written to MODE_FILE.parallel.
Each fault that fired is appended to MODE_FILE.fired.
"""
import http.client
import http.server
import sys
import threading
import time

upstream_port = int(sys.argv[1])
mode_file = sys.argv[3]
done = set()
lock = threading.Lock()
parts_in_flight = 0
most_in_flight = 0


def once(name):
    with lock:
        if name in done:
            return False
        done.add(name)
        with open(mode_file + ".fired", "a") as fired:
            fired.write(name + "\n")
        return True


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def mode(self):
        try:
            with open(mode_file) as f:
                return f.read().strip()
        except OSError:
            return ""

    def reply(self, status, body, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        global parts_in_flight, most_in_flight
        length = int(self.headers.get("Content-Length") or 0)
        modes = set(self.mode().split(","))
        is_part = self.command == "PUT" and "partNumber=" in self.path
        with lock:
            with open(mode_file + ".log", "a") as log:
                log.write(f"{self.command} {self.path} {self.headers.get('x-amz-copy-source-range', '')}\n")
        if not is_part:
            return self.handle_request(modes, length, is_part)
        with lock:
            parts_in_flight += 1
            most_in_flight = max(most_in_flight, parts_in_flight)
            with open(mode_file + ".parallel", "w") as out:
                out.write(str(most_in_flight))
        try:
            if "slow" in modes:
                time.sleep(0.5)
            return self.handle_request(modes, length, is_part)
        finally:
            with lock:
                parts_in_flight -= 1

    def handle_request(self, modes, length, is_part):
        if "flaky" in modes and is_part and once("drop-part"):
            self.rfile.read(length // 2)
            self.close_connection = True
            self.connection.shutdown(2)
            return
        body = self.rfile.read(length) if length else b""
        error = b"<Error><Code>%s</Code><Message>injected</Message></Error>"
        if "redirect" in modes:
            return self.reply(301, error % b"PermanentRedirect", [("x-amz-bucket-region", "eu-west-1")])
        if "denied" in modes:
            return self.reply(403, error % b"AccessDenied")
        if "flaky" in modes and self.command == "GET" and "list-type=2" in self.path and once("slowdown"):
            return self.reply(503, error % b"SlowDown")
        if "flaky" in modes and self.command == "HEAD" and once("head"):
            return self.reply(500, b"")
        if "part2" in modes and is_part and "partNumber=2&" in self.path + "&":
            return self.reply(500, error % b"InternalError")
        complete = self.command == "POST" and "uploadId=" in self.path
        if "flaky" in modes and complete and once("complete"):
            return self.reply(200, b'<?xml version="1.0"?>\n' + error % b"InternalError")
        conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=120)
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() not in ("connection", "content-length"):
                conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        data = response.read()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                self.send_header(name, value)
        # A HEAD answer's length is the object's, not of the empty body.
        self.send_header("Content-Length", response.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        if self.command == "GET" and self.headers.get("Range") and "flaky" in modes and once("drop-get"):
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
        elif self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
with open(sys.argv[2] + ".tmp", "w") as out:
    out.write(str(server.server_address[1]))
import os
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
