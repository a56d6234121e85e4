#!/bin/sh
# pre-backup-example.sh: an example `before` hook for Cairn.
#
# Logs the event it received, then decides whether the component may be backed up now:
# skip it quietly when a skip flag file exists, abort it when a required path is missing,
# otherwise leave an "in progress" marker (removed by finally-cleanup-example.sh) and go ahead.
#
# Inputs
#   stdin              the JSON event (docs/hooks.md); logged as is
#   CAIRN_* variables  set by Cairn: phase, pipeline, run id, component, environment...
#   CAIRN_SKIP_FLAG    optional; Cairn passes it only if listed in the hook's pass_env.
#                      When the file it names exists, the component is skipped.
#   $1                 optional; a path that must exist (a mount point, a socket, a data dir)
#
# Exit codes
#   0   go ahead with the backup
#   75  skip this component for this run, without alerting (the skip flag exists)
#   1   abort this component: it is not backed up and its on_error hooks run
#
# Configuration:
#   hooks:
#     before: [{ path: pre-backup-example.sh, args: [/var/lib/redis], pass_env: [CAIRN_SKIP_FLAG] }]
set -eu

# Everything printed goes to Cairn's run log, one line at a time.
echo "pre-backup: phase=$CAIRN_HOOK_PHASE pipeline=$CAIRN_PIPELINE run=$CAIRN_RUN_ID"
echo "pre-backup: component=${CAIRN_COMPONENT:-<run level>} step=${CAIRN_STEP:-<none>} environment=$CAIRN_ENVIRONMENT status=$CAIRN_STATUS"
echo "pre-backup: event $(cat)"

if [ -n "${CAIRN_SKIP_FLAG:-}" ] && [ -e "$CAIRN_SKIP_FLAG" ]; then
    echo "pre-backup: $CAIRN_SKIP_FLAG exists, skipping ${CAIRN_COMPONENT:-this run}"
    exit 75
fi

if [ $# -ge 1 ] && [ ! -e "$1" ]; then
    # stderr is logged too, marked as such; the message explains the abort.
    echo "pre-backup: $1 does not exist, refusing to back up ${CAIRN_COMPONENT:-anything}" >&2
    exit 1
fi

# The run id comes from Cairn, but a file name is built from it, so keep only safe characters.
marker="${TMPDIR:-/tmp}/cairn-$(printf '%s' "$CAIRN_RUN_ID" | tr -c 'A-Za-z0-9._-' '_').in-progress"
: > "$marker"
echo "pre-backup: created $marker"
