#!/usr/bin/env python3
"""escalate-slack.py: posts Cairn incidents to a Slack channel through an incoming webhook.

One message when an incident triggers, one when it is escalated to the secondary contact, and a
follow-up "RESOLVED" message when it resolves (an incoming webhook cannot edit what it posted).
Each message has `text` (the notification and fallback) and `blocks` (the formatted version).

Inputs
  stdin               the escalation event (docs/escalation.md)
  SLACK_WEBHOOK_URL   https://hooks.slack.com/services/T…/B…/…, a secret: give it to this hook
                      only, with pass_env: [SLACK_WEBHOOK_URL]

Success is HTTP 200 with the body "ok"; anything else is reported. Retries: 429, 5xx and
network errors only, Retry-After honoured, 10 s per request, within CAIRN_HOOK_TIMEOUT.
Logs are sent only when escalation.send_logs is true (the event then carries log_tail).

Exit codes: 0 posted, 1 not delivered (Cairn records it as a warning), 2 SLACK_WEBHOOK_URL unset.

Configuration:
  escalation:
    hooks: [{ path: escalate-slack.py, pass_env: [SLACK_WEBHOOK_URL] }]

Python 3 standard library only.
"""
import sys

sys.dont_write_bytecode = True  # hooks/ stays free of __pycache__
import cairn_escalation as ce  # noqa: E402

ICONS = {"trigger": ":rotating_light:", "escalate": ":arrow_double_up:", "resolve": ":white_check_mark:"}


def message(event):
    action = event.get("action", "trigger")
    contacts = event.get("contacts") or {}
    text = f"{ICONS.get(action, '')} {ce.headline(event)}".strip()
    who = ", ".join(contacts.get("notify") or []) or "-"
    fields = [
        ("Environment", event.get("environment")), ("Component", event.get("component")),
        ("Condition", event.get("condition")), ("Severity", event.get("severity")),
        ("Contacts", who), ("Run", event.get("run_id") or "-"),
    ]
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text[:2900]}*"}},  # Slack's limit is 3000
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in fields]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"incident `{event.get('key')}` on {event.get('host')}"}]},
    ]
    tail = ce.extras(event).get("log_tail")
    if tail:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "```" + "\n".join(tail)[-2800:] + "```"}})
    return {"text": text, "blocks": blocks}


def accept(status, body):
    if status == 200 and body.strip() == "ok":
        return None
    return f"the body is {body.strip()[:200]!r}, not 'ok'"


def main():
    url = ce.required_env("SLACK_WEBHOOK_URL")
    event = ce.read_event()
    ce.deliver("Slack", url, message(event), accept)
    print(f"Slack: posted {event.get('action')} of {event.get('key')}")


if __name__ == "__main__":
    main()
