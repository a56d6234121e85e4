#!/usr/bin/env python3
"""escalate-webhook.py: POSTs Cairn's escalation event, unchanged, to any JSON webhook.

For receivers of your own (a ticketing system, a chat bridge, an automation service): they get
exactly the document described in docs/escalation.md, with the incident key to deduplicate on.

Inputs
  stdin               the escalation event
  CAIRN_WEBHOOK_URL   where to POST it, a secret if it embeds a token: pass_env: [CAIRN_WEBHOOK_URL]
  CAIRN_WEBHOOK_TOKEN optional; sent as "Authorization: Bearer …" (pass_env it too)

Success is any 2xx answer, unless its body is JSON saying otherwise ({"ok": false}, a non-empty
"error" or "errors", or "status": "error"), which is reported. Retries: 429, 5xx and network
errors only, Retry-After honoured, 10 s per request, within CAIRN_HOOK_TIMEOUT.

Exit codes: 0 accepted, 1 not delivered (Cairn records it as a warning), 2 CAIRN_WEBHOOK_URL unset.

Configuration:
  escalation:
    hooks: [{ path: escalate-webhook.py, pass_env: [CAIRN_WEBHOOK_URL] }]

Python 3 standard library only.
"""
import json
import os
import sys

sys.dont_write_bytecode = True  # hooks/ stays free of __pycache__
import cairn_escalation as ce  # noqa: E402


def accept(status, text):
    if not 200 <= status < 300:
        return f"HTTP {status} is not a success"
    try:
        answer = json.loads(text) if text.strip() else None
    except ValueError:
        return None  # a plain-text 2xx is a success
    if isinstance(answer, dict) and (answer.get("ok") is False or answer.get("error") or answer.get("errors")
                                     or answer.get("status") == "error"):
        return f"the body says {text.strip()[:300]}"
    return None


def main():
    url = ce.required_env("CAIRN_WEBHOOK_URL")
    token = os.environ.get("CAIRN_WEBHOOK_TOKEN", "").strip()
    event = ce.read_event()
    ce.deliver("webhook", url, event, accept, headers={"Authorization": f"Bearer {token}"} if token else None)
    print(f"webhook: {event.get('action')} of {event.get('key')} accepted")


if __name__ == "__main__":
    main()
