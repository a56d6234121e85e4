#!/bin/sh
# post-backup-example.sh: an example `after` hook for Cairn.
#
# Prints where the backup went and how it ended, reading the JSON event from stdin with jq
# (the same values are in CAIRN_ARTIFACT_URL and CAIRN_STATUS; the event also has `details`).
#
# Inputs
#   stdin              the JSON event (docs/hooks.md), read with jq
#   CAIRN_* variables  set by Cairn; CAIRN_ARTIFACT_URL is shown for comparison
#
# Exit codes
#   0   done
#   1   jq is not installed or the event is not valid JSON
#
# Configuration:
#   hooks:
#     after: [post-backup-example.sh]
set -eu

if ! command -v jq >/dev/null 2>&1; then
    echo "post-backup: jq is not installed (apt-get install jq)" >&2
    exit 1
fi

# Read stdin once; jq then answers several questions about the same document.
event=$(cat)
field() { printf '%s\n' "$event" | jq -r "$1"; }

status=$(field '.status')
artifact=$(field '.artifact_url // "none"')
component=$(field '.component // "<run level>"')
backup_id=$(field '.backup_id // "none"')

echo "post-backup: $component backup $backup_id finished with status $status"
echo "post-backup: artifact $artifact"
echo "post-backup: CAIRN_ARTIFACT_URL=${CAIRN_ARTIFACT_URL:-}"
echo "post-backup: details $(field '.details | tojson')"
