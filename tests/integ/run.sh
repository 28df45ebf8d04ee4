#!/usr/bin/env bash
# run.sh SO_PATH: Formwork's integration tests against the module SO_PATH.
#
# Builds nothing. The Python suite (tests/integ/suite.py, standard library
# only, Debian's /usr/bin/python3) makes a run directory under tests/out/,
# starts each Kore server it needs there (own database, secret, conf, free
# port), waits for /healthz, drives it over HTTP, stops it by its PID and
# checks its log for "sandbox violation", "gone" and sanitizer reports.
# It ends with "N passed, N failed" and exits non-zero on any failure.
#
# FORMWORK_SAN=1: preload libasan into kore (for the sanitizer build).
# FORMWORK_SECCOMP_TRACING=1: run Kore with seccomp_tracing yes.
set -u
if [ $# -ne 1 ]; then
	echo "usage: $0 SO_PATH" >&2
	exit 2
fi
if [ ! -f "$1" ]; then
	echo "run.sh: no module at $1 (build it first)"
	echo "0 passed, 1 failed"
	exit 1
fi
so=$(realpath "$1")
cd "$(dirname "$0")/../.." || exit 2
exec /usr/bin/python3 tests/integ/suite.py --so "$so"
