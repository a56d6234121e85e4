#!/usr/bin/env python3
"""A stateful stand-in for Weaviate's REST API (v1.39), for tests: Weaviate itself cannot run here.

It follows weaviate-openapi.json and what Weaviate's code does (see docs/weaviate.md):
backups step STARTED -> TRANSFERRING -> SUCCESS across status polls and write the layout the
backup modules write (<id>/backup_config.json, <id>/<node>/backup.json, <id>/<node>/<Class>/chunk-N,
gzip tar streams) to a folder (backup-filesystem) or to an S3 bucket (backup-s3, through boto3).
Restores read that layout back and recreate the collections and their objects.

Usage: fake_weaviate.py CONFIG.json PORT_FILE
CONFIG is re-read on every request, so a test can switch failure modes while the server runs:
  version, api_key (null = anonymous), ready_status (200|503),
  nodes [{"name","status"}], classes {"Name": object_count},
  backend "filesystem"|"s3", backups_path, s3 {endpoint, bucket, path, access_key, secret_key},
  backup_mode "normal"|"fail"|"stuck"|"incomplete"|"no_folder", steps (polls per status),
  no_module (no backup module in /v1/meta), stale_schema (GET /v1/schema lists nothing).
Every request and response is appended to <CONFIG>.responses.jsonl for the spec check.
"""
import base64, fnmatch, io, json, os, re, sys, tarfile, threading, time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

CONFIG_PATH, PORT_FILE = sys.argv[1:3]
LOG_PATH = CONFIG_PATH + ".responses.jsonl"
lock = threading.RLock()
backups = {}    # id -> {"polls", "classes", "started", "status", "error", "cancelled"}
restores = {}   # id -> {"polls", "classes", "status", "error"}
schema = None   # name -> {"objects": [...]}: starts from the config's classes

ID_RE = re.compile(r"^[a-z0-9_-]+$")


def config():
    with open(CONFIG_PATH) as f:
        c = json.load(f)
    c.setdefault("version", "1.39.0")
    c.setdefault("nodes", [{"name": "node1", "status": "HEALTHY"}])
    c.setdefault("backend", "filesystem")
    c.setdefault("ready_status", 200)
    c.setdefault("backup_mode", "normal")
    c.setdefault("steps", 1)
    return c


def now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def current_schema(c):
    global schema
    if schema is None:
        schema = {name: {"objects": [{"id": f"{name.lower()}-{i}", "text": f"{name} object {i}"} for i in range(count)]}
                  for name, count in c.get("classes", {}).items()}
    return schema


def class_json(name):
    return {"class": name, "vectorizer": "none", "vectorIndexType": "hnsw",
            "properties": [{"name": "text", "dataType": ["text"], "tokenization": "word"}],
            "multiTenancyConfig": {"enabled": False}, "replicationConfig": {"factor": 1}}


# ---- where the backup module keeps its files ------------------------------------------------

class Store:
    """The backup module's storage: a folder, or an S3 bucket through boto3."""

    def __init__(self, c):
        self.backend = c["backend"]
        if self.backend == "s3":
            import boto3
            s3 = c["s3"]
            self.client = boto3.client("s3", endpoint_url=s3["endpoint"], region_name="us-east-1",
                                       aws_access_key_id=s3["access_key"], aws_secret_access_key=s3["secret_key"])
            self.bucket = s3["bucket"]
            self.prefix = (s3.get("path") or "").strip("/")
            self.prefix = self.prefix + "/" if self.prefix else ""
        else:
            self.root = c["backups_path"]

    def location(self, bid):
        if self.backend == "s3":
            return f"s3://{self.bucket}/{self.prefix}{bid}"
        return os.path.join(self.root, bid)

    def put(self, bid, key, data):
        if self.backend == "s3":
            self.client.put_object(Bucket=self.bucket, Key=f"{self.prefix}{bid}/{key}", Body=data)
        else:
            path = os.path.join(self.root, bid, key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)

    def get(self, bid, key):
        try:
            if self.backend == "s3":
                return self.client.get_object(Bucket=self.bucket, Key=f"{self.prefix}{bid}/{key}")["Body"].read()
            with open(os.path.join(self.root, bid, key), "rb") as f:
                return f.read()
        except Exception:
            return None


def chunk(objects):
    """One chunk: a gzip tar stream holding the shard's objects, as Weaviate's are tar streams."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        data = json.dumps(objects).encode()
        info = tarfile.TarInfo("objects.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def objects_of_chunk(data):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return json.load(tar.extractfile("objects.json"))


def write_backup(c, bid, entry, complete=True):
    store = Store(c)
    node = c["nodes"][0]["name"]
    classes = []
    for name in entry["classes"]:
        shard = "shard" + base64.b32encode(name.encode()).decode().strip("=").lower()[:8]
        store.put(bid, f"{node}/{name}/chunk-1", chunk(current_schema(c)[name]["objects"]))
        classes.append({"name": name, "shards": [{"name": shard, "node": node}], "chunks": {"1": [shard]},
                        "schema": base64.b64encode(json.dumps(class_json(name)).encode()).decode()})
    finished = now()
    if complete:
        store.put(bid, f"{node}/backup.json", json.dumps({
            "startedAt": entry["started"], "completedAt": finished, "id": bid, "classes": classes,
            "status": "SUCCESS", "version": "2.1", "serverVersion": c["version"], "error": ""}).encode())
    store.put(bid, "backup_config.json", json.dumps({
        "startedAt": entry["started"], "completedAt": finished, "id": bid,
        "nodes": {node: {"classes": entry["classes"], "status": "SUCCESS", "error": ""}},
        "node_mapping": None, "status": "SUCCESS", "version": "2.1", "serverVersion": c["version"],
        "leader": node, "error": "", "compressionType": "gzip"}).encode())


def restore_backup(c, bid, entry):
    store = Store(c)
    descriptor = json.loads(store.get(bid, "backup_config.json"))
    for node, info in descriptor["nodes"].items():
        node_descriptor = json.loads(store.get(bid, f"{node}/backup.json"))
        for cls in node_descriptor["classes"]:
            if cls["name"] not in entry["classes"]:
                continue
            objects = []
            for number in cls["chunks"]:
                objects += objects_of_chunk(store.get(bid, f"{node}/{cls['name']}/chunk-{number}"))
            current_schema(c)[cls["name"]] = {"objects": objects}


# ---- HTTP -----------------------------------------------------------------------------------

def error(message):
    return {"error": [{"message": message}]}


def selected(names, include, exclude):
    if include:
        return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in include)]
    return [n for n in names if not any(fnmatch.fnmatchcase(n, p) for p in exclude or [])]


def advance(entry, c, final):
    """One status poll: STARTED -> TRANSFERRING -> final, `steps` polls each."""
    entry["polls"] += 1
    sequence = ["STARTED", "TRANSFERRING", final]
    return sequence[min(entry["polls"] // max(1, c["steps"]), 2)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def respond(self, status, body=None, template=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        with lock, open(LOG_PATH, "a") as log:
            log.write(json.dumps({"method": self.command, "path": self.path, "template": template,
                                  "status": status, "body": body, "auth": self.headers.get("Authorization") is not None}) + "\n")

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}") if length else {}

    def authorized(self, c, template):
        key = c.get("api_key")
        if not key:
            return True
        header = self.headers.get("Authorization") or ""
        if not header:
            self.respond(401, {"code": 401, "message": "anonymous access not enabled. Please authenticate through one of the available methods: [API-keys, OIDC]"}, template)
            return False
        if header != "Bearer " + key:
            self.respond(401, {"code": 401, "message": "unauthorized: invalid api key"}, template)
            return False
        return True

    def do_GET(self): self.route()
    def do_POST(self): self.route()
    def do_DELETE(self): self.route()

    def route(self):
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        query = parse_qs(url.query)
        c = config()
        if parts[:1] != ["v1"]:
            return self.respond(404, error("not found"))
        p = parts[1:]
        m = self.command
        if p == [".well-known", "live"] and m == "GET":
            return self.respond(200, None, "/.well-known/live")
        if p == [".well-known", "ready"] and m == "GET":
            return self.respond(c["ready_status"], None, "/.well-known/ready")
        templates = {("meta",): "/meta", ("nodes",): "/nodes", ("schema",): "/schema"}
        template = templates.get(tuple(p))
        if template is None and p[:1] == ["schema"] and len(p) == 2:
            template = "/schema/{className}"
        if template is None and p[:1] == ["backups"]:
            template = ["/backups/{backend}", "/backups/{backend}/{id}", "/backups/{backend}/{id}/restore"][min(len(p), 4) - 2] if len(p) >= 2 else None
        if template is None:
            return self.respond(404, error(f"no route for {m} {url.path}"))
        if not self.authorized(c, template):
            return
        with lock:
            return self.answer(c, m, p, query, template)

    def answer(self, c, m, p, query, template):
        module = "backup-" + c["backend"]
        if template == "/meta":
            info = {"backupsPath": c.get("backups_path", "")} if c["backend"] == "filesystem" else \
                {"bucketName": c["s3"]["bucket"], "endpoint": c["s3"]["endpoint"].split("//")[-1],
                 "rootName": c["s3"].get("path", ""), "useSSL": False}
            modules = {} if c.get("no_module") else {module: info}
            return self.respond(200, {"hostname": "http://[::]:8080", "version": c["version"], "modules": modules,
                                      "grpcMaxMessageSize": 104858000}, template)
        if template == "/nodes":
            verbose = query.get("output") == ["verbose"]
            nodes = []
            for n in c["nodes"]:
                if n["status"] in ("UNAVAILABLE", "TIMEOUT"):
                    nodes.append({"name": n["name"], "status": n["status"]})
                    continue
                node = {"name": n["name"], "status": n["status"], "version": c["version"], "gitHash": "22948b7",
                        "batchStats": {"ratePerSecond": 0}, "operationalMode": "ReadWrite"}
                if verbose:
                    s = current_schema(c)
                    node["stats"] = {"shardCount": len(s), "objectCount": sum(len(v["objects"]) for v in s.values())}
                    node["shards"] = [{"name": "shard" + name.lower(), "class": name, "objectCount": len(v["objects"]),
                                       "vectorIndexingStatus": "READY", "compressed": False, "loaded": True,
                                       "vectorQueueLength": 0} for name, v in sorted(s.items())]
                nodes.append(node)
            return self.respond(200, {"nodes": sorted(nodes, key=lambda n: n["name"])}, template)
        if template == "/schema" and m == "GET":
            # stale_schema: a read that missed recent changes (consistency: false on a follower).
            names = [] if c.get("stale_schema") else sorted(current_schema(c))
            return self.respond(200, {"classes": [class_json(n) for n in names]}, template)
        if template == "/schema/{className}" and m == "DELETE":
            current_schema(c).pop(p[1], None)
            return self.respond(200, None, template)

        backend = p[1]
        if backend not in (c["backend"], module):
            return self.respond(422, error(f'no backup backend "{backend}": backup module not found, did you enable the right module?'), template)
        if template == "/backups/{backend}" and m == "POST":
            return self.create(c, self.body(), template)
        bid = p[2]
        if template == "/backups/{backend}/{id}":
            entry = backups.get(bid)
            if entry is None:
                return self.respond(404, error(f'backup "{bid}" not found'), template)
            if m == "DELETE":
                if entry["status"] not in ("SUCCESS", "FAILED", "CANCELED"):
                    entry["status"] = "CANCELED"
                    entry["cancelled"] = True
                return self.respond(204, None, template)
            if entry["status"] not in ("SUCCESS", "FAILED", "CANCELED"):
                mode = c["backup_mode"]
                if mode == "stuck":
                    entry["status"] = "STARTED"
                else:
                    entry["status"] = advance(entry, c, "FAILED" if mode == "fail" else "SUCCESS")
                    if entry["status"] == "FAILED":
                        entry["error"] = "node node1: backup class \"%s\": write chunk: no space left on device" % entry["classes"][0]
                    if entry["status"] == "SUCCESS" and mode != "no_folder":
                        write_backup(c, bid, entry, complete=(mode != "incomplete"))
            status = {"id": bid, "backend": c["backend"], "path": Store(c).location(bid), "status": entry["status"],
                      "startedAt": entry["started"]}
            if entry["status"] in ("SUCCESS", "FAILED", "CANCELED"):
                status["completedAt"] = entry.setdefault("completed", now())
                status["size"] = 0.0001
            if entry.get("error"):
                status["error"] = entry["error"]
            return self.respond(200, status, template)
        # restore
        if m == "POST":
            return self.restore(c, bid, self.body(), template)
        entry = restores.get(bid)
        if entry is None:
            return self.respond(404, error(f'restore "{bid}" not found'), template)
        if m == "DELETE":
            entry["status"] = "CANCELED"
            return self.respond(204, None, template)
        if entry["status"] not in ("SUCCESS", "FAILED", "CANCELED"):
            clash = sorted(set(entry["classes"]) & set(current_schema(c)))
            entry["status"] = advance(entry, c, "FAILED" if clash else "SUCCESS")
            if entry["status"] == "FAILED":
                entry["error"] = f'restore class "{clash[0]}": class name {clash[0]} already exists'
            elif entry["status"] == "SUCCESS":
                restore_backup(c, bid, entry)
        status = {"id": bid, "backend": c["backend"], "path": Store(c).location(bid), "status": entry["status"]}
        if entry.get("error"):
            status["error"] = entry["error"]
        return self.respond(200, status, template)

    def create(self, c, body, template):
        bid = body.get("id", "")
        if not ID_RE.match(bid):
            return self.respond(422, error(f'invalid backup id "{bid}": allowed characters are lowercase, 0-9, _, -'), template)
        include, exclude = body.get("include") or [], body.get("exclude") or []
        if include and exclude:
            return self.respond(422, error('malformed request: "include" and "exclude" cannot both contain values'), template)
        if c["backend"] == "filesystem" and len(c["nodes"]) > 1:
            return self.respond(422, error("local filesystem backend is not viable for backing up a node cluster, try s3 or gcs"), template)
        classes = selected(sorted(current_schema(c)), include, exclude)
        if not classes:
            return self.respond(422, error("no available classes to backup, there's nothing to do here"), template)
        if any(e["status"] not in ("SUCCESS", "FAILED", "CANCELED") for e in backups.values()):
            return self.respond(422, error(f"backup {bid} already in progress"), template)
        store = Store(c)
        if (bid in backups and backups[bid]["status"] != "CANCELED") or store.get(bid, "backup_config.json") is not None:
            return self.respond(422, error(f'backup "{bid}" already exists at "{store.location(bid)}"'), template)
        backups[bid] = {"polls": 0, "classes": classes, "started": now(), "status": "STARTED"}
        return self.respond(200, {"backend": c["backend"], "classes": classes, "id": bid, "path": store.location(bid),
                                  "status": "STARTED", **({"bucket": c["s3"]["bucket"]} if c["backend"] == "s3" else {})}, template)

    def restore(self, c, bid, body, template):
        store = Store(c)
        raw = store.get(bid, "backup_config.json")
        if raw is None:
            return self.respond(404, error(f'backup id "{bid}" does not exist: not found'), template)
        descriptor = json.loads(raw)
        if descriptor.get("status") != "SUCCESS":
            return self.respond(422, error(f'invalid backup {bid} status "{descriptor.get("status")}"'), template)
        if any(e["status"] not in ("SUCCESS", "FAILED", "CANCELED") for e in restores.values()):
            return self.respond(422, error(f"restore {bid} already in progress"), template)
        names = sorted({n for info in descriptor["nodes"].values() for n in info["classes"]})
        classes = selected(names, body.get("include"), body.get("exclude"))
        restores[bid] = {"polls": 0, "classes": classes, "status": "STARTED"}
        # Like Weaviate, a collection that already exists is only reported in the restore's status.
        return self.respond(200, {"backend": c["backend"], "classes": classes, "id": bid, "path": store.location(bid),
                                  "status": "STARTED"}, template)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(PORT_FILE + ".tmp", "w") as out:
    out.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
