#!/bin/sh
# finally-cleanup-example.sh: an example `finally` hook for Cairn.
#
# Removes the "in progress" marker that pre-backup-example.sh leaves. `finally` hooks run
# whatever happened: after success, after a failure, after a skip, and after Ctrl-C or SIGTERM,
# so cleanup like this is never skipped. It logs how the run ended to show that.
#
# Inputs
#   stdin              the JSON event (docs/hooks.md); not needed here
#   CAIRN_RUN_ID       names the marker: $TMPDIR/cairn-<run id>.in-progress (TMPDIR defaults to /tmp)
#   CAIRN_STATUS       success, partial, failure or skipped
#   CAIRN_ERROR        the error message after a failure, empty otherwise
#
# Exit codes
#   0   cleaned up, or there was nothing to clean
#   1   the marker exists but could not be removed
#
# Configuration:
#   hooks:
#     finally: [finally-cleanup-example.sh]
set -eu

echo "finally: run $CAIRN_RUN_ID of $CAIRN_PIPELINE ended with status $CAIRN_STATUS"
if [ -n "${CAIRN_ERROR:-}" ]; then
    echo "finally: error was: $CAIRN_ERROR"
fi

# Same name as pre-backup-example.sh builds.
marker="${TMPDIR:-/tmp}/cairn-$(printf '%s' "$CAIRN_RUN_ID" | tr -c 'A-Za-z0-9._-' '_').in-progress"
if [ -e "$marker" ]; then
    rm -f "$marker"
    echo "finally: removed $marker"
else
    echo "finally: no marker to remove"
fi
