"""A fault-injecting HTTP proxy in front of moto, for Cairn's S3 retry tests.

Usage: fault_proxy.py UPSTREAM_PORT PORT_FILE MODE_FILE
Listens on a free 127.0.0.1 port (written to PORT_FILE) and forwards every request unchanged,
Host header included, so SigV4 signatures stay valid. MODE_FILE is re-read per request:
  flaky   - once each: drop the connection halfway through the first UploadPart body, answer
            the first listing with 503 SlowDown, the first HEAD with 500, and the first
            CompleteMultipartUpload with a 200 whose body is an <Error>
  part2   - every UploadPart of part 2 gets 500 InternalError (the upload must fail cleanly)
  redirect - every request gets 301 PermanentRedirect with x-amz-bucket-region: eu-west-1
  denied  - every request gets 403 AccessDenied
  anything else - plain forwarding
Each fault that fired is appended to MODE_FILE.fired.
"""
import http.client
import http.server
import sys
import threading

upstream_port = int(sys.argv[1])
mode_file = sys.argv[3]
done = set()
lock = threading.Lock()


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
        length = int(self.headers.get("Content-Length") or 0)
        mode = self.mode()
        is_part = self.command == "PUT" and "partNumber=" in self.path
        if mode == "flaky" and is_part and once("drop-part"):
            self.rfile.read(length // 2)
            self.close_connection = True
            self.connection.shutdown(2)
            return
        body = self.rfile.read(length) if length else b""
        error = b"<Error><Code>%s</Code><Message>injected</Message></Error>"
        if mode == "redirect":
            return self.reply(301, error % b"PermanentRedirect", [("x-amz-bucket-region", "eu-west-1")])
        if mode == "denied":
            return self.reply(403, error % b"AccessDenied")
        if mode == "flaky" and self.command == "GET" and "list-type=2" in self.path and once("slowdown"):
            return self.reply(503, error % b"SlowDown")
        if mode == "flaky" and self.command == "HEAD" and once("head"):
            return self.reply(500, b"")
        if mode == "part2" and is_part and "partNumber=2&" in self.path + "&":
            return self.reply(500, error % b"InternalError")
        complete = self.command == "POST" and "uploadId=" in self.path
        if mode == "flaky" and complete and once("complete"):
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
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
with open(sys.argv[2] + ".tmp", "w") as out:
    out.write(str(server.server_address[1]))
import os
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
