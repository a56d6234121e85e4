#!/usr/bin/env python3
"""escalate-pagerduty.py: opens and resolves PagerDuty alerts for Cairn incidents (Events API v2).

The incident key (cairn/<environment>/<component>/<condition>) is the dedup_key, so a condition
that stays bad is one alert, and the resolve on recovery closes exactly that alert. Trigger and
escalate send event_action "trigger" (an escalate updates the open alert: same dedup_key, the
secondary contact added to custom_details); resolve sends event_action "resolve".

Inputs
  stdin                  the escalation event (docs/escalation.md)
  PAGERDUTY_ROUTING_KEY  the integration key of the service, a secret: give it to this hook only,
                         with pass_env: [PAGERDUTY_ROUTING_KEY]
  PAGERDUTY_EVENTS_URL   default https://events.pagerduty.com/v2/enqueue

Success is a 2xx answer whose JSON says "status": "success" (PagerDuty answers 202); anything
else is reported. Retries: 429, 5xx and network errors only, Retry-After honoured, 10 s per
request, within CAIRN_HOOK_TIMEOUT. Logs go into custom_details only when escalation.send_logs
is true.

Exit codes: 0 accepted, 1 not delivered (Cairn records it as a warning), 2 routing key unset.

Configuration:
  escalation:
    hooks: [{ path: escalate-pagerduty.py, pass_env: [PAGERDUTY_ROUTING_KEY] }]

Python 3 standard library only.
"""
import json
import os
import sys

sys.dont_write_bytecode = True  # hooks/ stays free of __pycache__
import cairn_escalation as ce  # noqa: E402

DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"
SEVERITIES = {"critical", "error", "warning", "info"}


def body(event, routing_key):
    key = event.get("key")
    if event.get("action") == "resolve":
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": key}
    contacts = event.get("contacts") or {}
    summary = ("ESCALATED: " if event.get("action") == "escalate" else "") + str(event.get("summary"))
    severity = event.get("severity") if event.get("severity") in SEVERITIES else "error"
    details = {
        "incident_key": key, "evidence": event.get("evidence"), "run_id": event.get("run_id"),
        "log_file": event.get("log_file"), "occurrences": event.get("occurrences"),
        "opened_at": event.get("opened_at"), "escalated_at": event.get("escalated_at"),
        "issue_type": contacts.get("issue_type"), "primary_contact": contacts.get("primary"),
        "secondary_contact": contacts.get("secondary"), "notify": contacts.get("notify"),
        **ce.extras(event),
    }
    return {
        "routing_key": routing_key, "event_action": "trigger", "dedup_key": key, "client": "Cairn",
        "payload": {
            "summary": summary[:1024], "source": f"{event.get('host')}/cairn", "severity": severity,
            "timestamp": event.get("time"), "component": event.get("component"),
            "group": event.get("environment"), "class": event.get("condition"), "custom_details": details,
        },
    }


def accept(status, text):
    try:
        answer = json.loads(text)
    except ValueError:
        return f"the body is not JSON: {text.strip()[:200]!r}"
    if 200 <= status < 300 and isinstance(answer, dict) and answer.get("status") == "success":
        return None
    return f"the body says {text.strip()[:300]}"


def main():
    routing_key = ce.required_env("PAGERDUTY_ROUTING_KEY")
    url = os.environ.get("PAGERDUTY_EVENTS_URL", "").strip() or DEFAULT_URL
    event = ce.read_event()
    ce.deliver("PagerDuty", url, body(event, routing_key), accept)
    print(f"PagerDuty: {event.get('action')} of {event.get('key')} accepted")


if __name__ == "__main__":
    main()
