"""cairn_escalation.py: shared by Cairn's escalation hooks (escalate-*.py); not a hook itself.

Reads the escalation event from stdin and POSTs JSON with the delivery rules every hook follows:
  - 10 s timeout per request, and the whole delivery fits in the hook's own limit
    (CAIRN_HOOK_TIMEOUT, set by Cairn), so Cairn never has to kill a hook that is waiting;
  - retries only on 429, 5xx and network errors, at most 3, honouring Retry-After;
  - any other answer is final: a 4xx, or a 2xx whose body says it failed, is reported;
  - the URL is never printed (webhook URLs carry their secret in the path): only its host.

Python 3 standard library only.
"""
import email.utils
import http.client
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

REQUEST_TIMEOUT = 10.0
MAX_RETRIES = 3


class DeliveryError(Exception):
    """The receiver refused or could not be reached; the message is safe to print."""


def read_event():
    try:
        return json.load(sys.stdin)
    except ValueError as error:
        fail(f"the event on stdin is not JSON: {error}", code=1)


def required_env(name):
    value = os.environ.get(name, "").strip()
    if not value:
        fail(f"{name} is not set; set it in Cairn's environment and list it in this hook's pass_env", code=2)
    return value


def fail(message, code=1):
    print(f"{os.path.basename(sys.argv[0])}: {message}", file=sys.stderr)
    sys.exit(code)


def where(url):
    """Host (and port) of a URL: what may appear in messages."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def retry_after(value):
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def post_json(url, body, accept, headers=None):
    """POSTs `body` as JSON. `accept(status, text)` returns None when the answer means success,
    else a reason. Returns (status, text) of the accepted answer; raises DeliveryError."""
    budget = float(os.environ.get("CAIRN_HOOK_TIMEOUT") or 30)
    deadline = time.monotonic() + max(1.0, budget - 1.0)  # leave a second to report and exit
    data = json.dumps(body).encode()
    target = where(url)
    for attempt in range(MAX_RETRIES + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeliveryError(f"{target}: no time left for attempt {attempt + 1} within the hook timeout of {budget:g} s")
        request = urllib.request.Request(url, data=data, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "cairn-escalation", **(headers or {})})
        wait = None
        try:
            with urllib.request.urlopen(request, timeout=min(REQUEST_TIMEOUT, remaining)) as response:
                status, text = response.status, response.read(65536).decode("utf-8", "replace")
            reason = accept(status, text)
            if reason is None:
                return status, text
            raise DeliveryError(f"{target} answered {status} but {reason}")
        except urllib.error.HTTPError as error:
            text = error.read(4096).decode("utf-8", "replace").strip()
            if error.code != 429 and error.code < 500:
                raise DeliveryError(f"{target} refused the event: HTTP {error.code}: {text[:300]}")
            problem = f"HTTP {error.code}: {text[:200]}"
            wait = retry_after(error.headers.get("Retry-After"))
        except (urllib.error.URLError, http.client.HTTPException, socket.timeout, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            problem = f"network error: {reason}"
        if attempt == MAX_RETRIES:
            raise DeliveryError(f"{target}: {problem} (gave up after {attempt + 1} attempts)")
        wait = 2.0 ** attempt if wait is None else wait
        if time.monotonic() + wait >= deadline:
            raise DeliveryError(f"{target}: {problem}; retrying in {wait:g} s would pass the hook timeout of {budget:g} s")
        print(f"{target}: {problem}; retrying in {wait:g} s", file=sys.stderr)
        time.sleep(wait)
    raise DeliveryError(f"{target}: not delivered")


def deliver(receiver, url, body, accept, headers=None):
    """post_json, or exit 1 with "<receiver>: <why it was not delivered>"."""
    try:
        post_json(url, body, accept, headers)
    except DeliveryError as error:
        fail(f"{receiver}: {error}")


def headline(event):
    """'[TRIGGER] critical cairn/prod/redis/consecutive_failures: summary' and friends."""
    action = event.get("action", "trigger")
    label = {"trigger": "TRIGGERED", "escalate": "ESCALATED", "resolve": "RESOLVED"}.get(action, action.upper())
    return f"[{label}] {event.get('key')}: {event.get('summary')}"


def extras(event):
    """The log tail, only when Cairn was told to send logs (escalation.send_logs)."""
    tail = event.get("log_tail")
    return {"log_tail": tail} if tail else {}
