#!/usr/bin/env bash
# crash.sh SO_PATH: crash safety of the durable queue against the module
# SO_PATH (not part of run.sh: it takes about a minute). See
# tests/integ/crash.py: 1,000 submissions to a slow webhook and a slow SMTP
# server, kill -9 of the Kore parent and workers twice (while submitting and
# while draining), restart on the same database; then every acknowledged
# submission has its job, every job is done and every delivery arrived at
# least once. Then tests/integ/stop.py: SIGTERM under load answers every
# request sent before it and loses nothing (a few seconds), and
# tests/integ/operate.py: backup under load, restore, check, and a full
# disk (503s, then 303s again once space is freed; about 45 s), and
# tests/integ/sandbox.py: a worker stopped and continued keeps its threads,
# and one whose writer thread the sandbox kills is replaced (about 10 s).
# Ends with "N passed, N failed" summed over all four (exit non-zero on
# failure).
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
passed=0
failed=0
status=0
for t in crash.py stop.py operate.py sandbox.py; do
	out=$(mktemp)
	/usr/bin/python3 -u "tests/integ/$t" --so "$so" 2>&1 | tee "$out"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
	rm -f "$out"
	if [ -z "$line" ]; then
		echo "$t: ended without a summary line"
		failed=$((failed + 1))
		status=1
		continue
	fi
	passed=$((passed + ${line%% passed*}))
	f=${line#*passed, }
	failed=$((failed + ${f%% failed*}))
done
echo "$passed passed, $failed failed"
exit $status
