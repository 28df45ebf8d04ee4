#!/usr/bin/env bash
# crash.sh SO_PATH: crash safety of the durable queue against the module
# SO_PATH (not part of run.sh: it takes about a minute). See
# tests/integ/crash.py: 1,000 submissions to a slow webhook and a slow SMTP
# server, kill -9 of the Kore parent and workers twice (while submitting and
# while draining), restart on the same database; then every acknowledged
# submission has its job, every job is done and every delivery arrived at
# least once. Ends with "N passed, N failed" (exit non-zero on failure).
set -u
if [ $# -ne 1 ]; then
	echo "usage: $0 SO_PATH" >&2
	exit 2
fi
if [ ! -f "$1" ]; then
	echo "crash.sh: no module at $1 (build it first)"
	echo "0 passed, 1 failed"
	exit 1
fi
so=$(realpath "$1")
cd "$(dirname "$0")/../.." || exit 2
exec /usr/bin/python3 -u tests/integ/crash.py --so "$so"
