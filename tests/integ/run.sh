#!/usr/bin/env bash
# run.sh SO_PATH: Formwork's integration tests against the module SO_PATH.
#
# Builds nothing (the module and ./formworkctl must be built). Six Python
# suites (standard library, plus Debian's python3-aiosmtpd for the second
# and the fifth; all run with /usr/bin/python3):
#   tests/integ/suite.py        pages, submitting, replays, validation, ...
#   tests/integ/suite_queue.py  background actions: SMTP, outbox, webhooks,
#                               retries, the 202 processing page, figures
#   tests/integ/suite_api.py    the JSON API and /metrics
#   tests/integ/suite_desk.py   the admin review desk against its contract
#                               (sign-in, sessions, roles, CSRF, 409/412/428,
#                               markup hooks, pages, CSV, audit) and
#                               formworkctl
#   tests/integ/suite_mail.py   mail and deliveries (SPEC 11): recipients,
#                               Reply-To, templates, header injection,
#                               autoreplies, an SMTP outage and the pages
#                               during it, alert digests, webhook secrets,
#                               the delivery log, "send again"
#   tests/integ/suite_origins.py posting from the owner's own pages: allowed
#                               origins and CORS, keyless posts and their
#                               repeats, _next, JSON mode, spam on every
#                               path, the challenge (a fake siteverify)
# Each makes a run directory under tests/out/ and, through
# tests/integ/harness.py, starts each Kore server it needs there (own
# database, secret, conf, free port), waits for /healthz, drives it over
# HTTP, stops it by its PID and checks its log for "sandbox violation",
# "gone" and sanitizer reports.
# Each suite's own "N passed, N failed" line is shown prefixed with its
# name; the last line, "N passed, N failed", sums them. The exit status is
# non-zero on any failure.
#
# FORMWORK_SAN=1: preload libasan into kore (for the sanitizer build).
# FORMWORK_TEST_PG=1: each server's store is a database of its own in a
# PostgreSQL 15 that each suite starts and stops (tests/integ/pg.py).
# FORMWORK_SUITES="suite.py ...": run these suites only.
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

passed=0
failed=0
status=0
suites=${FORMWORK_SUITES:-suite.py suite_queue.py suite_api.py \
    suite_desk.py suite_mail.py suite_origins.py}
for suite in $suites; do
	out=$(mktemp)
	/usr/bin/python3 -u "tests/integ/$suite" --so "$so" 2>&1 |
		tee "$out" |
		sed -u -E "s/^([0-9]+ passed, [0-9]+ failed)\$/$suite: \\1/"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
	rm -f "$out"
	if [ -z "$line" ]; then
		echo "$suite: ended without a summary line (exit status $rc)"
		failed=$((failed + 1))
		status=1
		continue
	fi
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# A crash after the summary still fails the run.
		echo "$suite: exit status $rc"
		failed=$((failed + 1))
	fi
	[ "$rc" -ne 0 ] && status=1
done
[ "$failed" -ne 0 ] && status=1
echo "$passed passed, $failed failed"
exit $status
