#!/usr/bin/env python3
"""notify-log.py: an example hook for Cairn, usable in any phase.

Appends the JSON event Cairn sends on stdin to a file, as one line (JSON Lines), so a
dashboard, a log shipper or `jq -s` can follow every hook event of every run.

Inputs
  argv[1]  the file to append to (created if missing)
  stdin    the JSON event (docs/hooks.md)

Exit codes
  0  appended
  1  the event was not valid JSON, or the file could not be written
  2  no file given

Configuration:
  hooks:
    finally: [{ path: notify-log.py, args: [/var/log/cairn/hook-events.jsonl] }]

Python 3 standard library only.
"""
import fcntl
import json
import sys


def main(argv):
    if len(argv) != 2:
        print("usage: notify-log.py FILE (the JSON event comes on stdin)", file=sys.stderr)
        return 2
    try:
        event = json.load(sys.stdin)
    except ValueError as error:
        print(f"notify-log: the event on stdin is not JSON: {error}", file=sys.stderr)
        return 1
    line = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    try:
        with open(argv[1], "a", encoding="utf-8") as log:
            # Components can be backed up in parallel; the lock keeps their lines whole.
            fcntl.flock(log, fcntl.LOCK_EX)
            log.write(line)
    except OSError as error:
        print(f"notify-log: cannot append to {argv[1]}: {error}", file=sys.stderr)
        return 1
    print(f"notify-log: appended {event.get('phase', '?')} event of run {event.get('run_id', '?')} to {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
