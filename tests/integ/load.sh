#!/usr/bin/env bash
# load.sh SO_PATH: Formwork's load checks against the module SO_PATH (not
# part of run.sh). See tests/integ/load.py: (a) 1,000 concurrent POSTs of
# one form instance store exactly one submission; (b) 10,000 distinct
# POSTs through wrk (tests/integ/load_post.lua) store exactly 10,000 rows,
# all answered 303. Prints requests/s, latency percentiles and status
# counts, and ends with "N passed, N failed" (exit non-zero on failure).
set -u
if [ $# -ne 1 ]; then
	echo "usage: $0 SO_PATH" >&2
	exit 2
fi
if [ ! -f "$1" ]; then
	echo "load.sh: no module at $1 (build it first)"
	echo "0 passed, 1 failed"
	exit 1
fi
command -v wrk >/dev/null || { echo "load.sh: wrk is not installed"; echo "0 passed, 1 failed"; exit 1; }
so=$(realpath "$1")
cd "$(dirname "$0")/../.." || exit 2
exec /usr/bin/python3 tests/integ/load.py --so "$so"
