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
  checksums - check additional checksums as S3 does (moto does not): a PUT body whose
            x-amz-checksum-crc32 differs from its CRC32 gets 400 BadDigest, and the
            CompleteMultipartUpload of an upload started with x-amz-checksum-algorithm: CRC32 must
            name every part's ChecksumCRC32 as uploaded (else 400 InvalidRequest / InvalidPart)
  corrupt - once: flip one byte in the middle of the first UploadPart body on its way
  denied  - every request gets 403 AccessDenied
  copy-lost - every CopyObject is carried out by moto and then the connection is closed
            without an answer (the answer was lost after the copy happened)
  copy-denied - every CopyObject gets 403 AccessDenied and is not carried out
  create-lost - once: the first CreateMultipartUpload is carried out by moto and then the
            connection is closed without an answer
  anything else - plain forwarding
  Modes combine with commas ("slow,part2").
Every request line (plus x-amz-copy-source-range, and " lock=MODE/DATE" for the Object Lock
headers, if any) is appended to MODE_FILE.log, and the
most UploadParts seen in flight at once is written to MODE_FILE.parallel.
Each fault that fired is appended to MODE_FILE.fired. In checksums mode, every PUT body whose
checksum matched appends "part" or "object" to MODE_FILE.checksums, every complete that named all
its parts' checksums appends "complete".
"""
import base64
import http.client
import http.server
import re
import sys
import threading
import time
import urllib.parse
import zlib

upstream_port = int(sys.argv[1])
mode_file = sys.argv[3]
done = set()
lock = threading.RLock()  # once() notes while holding it
parts_in_flight = 0
most_in_flight = 0
# uploadId -> {"algorithm": the x-amz-checksum-algorithm it was started with, "parts": {number: crc32}}
uploads = {}


def note(suffix, line):
    """Appends a line to MODE_FILE + suffix."""
    with lock:
        with open(mode_file + suffix, "a") as out:
            out.write(line + "\n")


def crc32_header(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def once(name):
    with lock:
        if name in done:
            return False
        done.add(name)
        note(".fired", name)
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
        lock_mode = self.headers.get("x-amz-object-lock-mode")
        lock_note = f" lock={lock_mode}/{self.headers.get('x-amz-object-lock-retain-until-date', '')}" if lock_mode else ""
        note(".log", f"{self.command} {self.path} {self.headers.get('x-amz-copy-source-range', '')}{lock_note}")
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
        if "corrupt" in modes and is_part and len(body) > 0 and once("corrupt-part"):
            middle = len(body) // 2
            body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1:]
        if "checksums" in modes:
            refusal = self.check_checksums(body, is_part)
            if refusal:
                return self.reply(400, b"<Error><Code>%s</Code><Message>%s</Message></Error>" % refusal)
        is_copy = self.command == "PUT" and self.headers.get("x-amz-copy-source") and not is_part
        if "copy-denied" in modes and is_copy:
            return self.reply(403, error % b"AccessDenied")
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
        if self.command == "POST" and re.search(r"[?&]uploads(=|&|$)", self.path):
            self.remember_upload(data)
            if "create-lost" in modes and once("create-lost"):
                return self.lose_answer(conn)
        if "copy-lost" in modes and is_copy:
            note(".fired", "copy-lost")
            return self.lose_answer(conn)
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

    def lose_answer(self, conn):
        """The request was carried out upstream; the client gets no answer at all."""
        conn.close()
        self.close_connection = True
        self.connection.shutdown(2)

    def check_checksums(self, body, is_part):
        """S3's checks of additional checksums; (code, message) when S3 would refuse."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, keep_blank_values=True)
        upload_id = query.get("uploadId", [""])[0]
        sent = self.headers.get("x-amz-checksum-crc32")
        if self.command == "PUT" and sent is not None:
            if sent != crc32_header(body):
                return (b"BadDigest", b"The CRC32 you specified did not match the calculated checksum.")
            note(".checksums", "part" if is_part else "object")
            if is_part and upload_id in uploads:
                uploads[upload_id]["parts"][int(query["partNumber"][0])] = sent
        if self.command == "POST" and upload_id and uploads.get(upload_id, {}).get("algorithm") == "CRC32":
            recorded = uploads[upload_id]["parts"]
            for part in re.findall(rb"<Part>(.*?)</Part>", body, re.S):
                number = int(re.search(rb"<PartNumber>(\d+)</PartNumber>", part).group(1))
                named = re.search(rb"<ChecksumCRC32>(.*?)</ChecksumCRC32>", part)
                if named is None:
                    return (b"InvalidRequest", b"The upload was created using a crc32 checksum. The complete request "
                            b"must include the checksum for each part. It was missing for part %d in the request." % number)
                if named.group(1).decode() != recorded.get(number):
                    return (b"InvalidPart", b"One or more of the specified parts could not be found. "
                            b"The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
            note(".checksums", "complete")
        return None

    def remember_upload(self, data):
        """After a CreateMultipartUpload: which checksum algorithm the upload was started with."""
        found = re.search(rb"<UploadId>(.*?)</UploadId>", data)
        if found:
            uploads[found.group(1).decode()] = {"algorithm": self.headers.get("x-amz-checksum-algorithm"), "parts": {}}

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
with open(sys.argv[2] + ".tmp", "w") as out:
    out.write(str(server.server_address[1]))
import os
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
