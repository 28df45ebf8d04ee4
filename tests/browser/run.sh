#!/usr/bin/env bash
# run.sh SO_PATH: Formwork's browser tests against the module SO_PATH.
#
# Starts serve.py (a Formwork server via tests/integ/server.py, with an SMTP
# sink that takes 3 s per message), runs every tests/browser/*.test.mjs
# with node --test (playwright-core driving Debian's /usr/bin/chromium,
# headless): flow (PRG), queue (the 202 page), quality (vnu + axe on every
# kind of page, the desk's included) and desk (the review desk; users are
# made with ./formworkctl) and origins (a static page on another loopback
# origin posting to Formwork: a plain form, fetch() through CORS, the same
# page on an unlisted origin, a form's challenge), then stops the servers
# by their PID; the Kore log check counts as one more test. Installs the npm packages first if
# they are missing.
# Screenshots: tests/out/browser/. Ends with "N passed, N failed" and a
# non-zero exit status on any failure.
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
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 2

fail() {
	echo "browser tests: $1"
	echo "0 passed, 1 failed"
	exit 1
}
[ -x /usr/bin/chromium ] || fail "no /usr/bin/chromium (apt-get install -y chromium)"
command -v node >/dev/null || fail "node is not installed"
if [ ! -d "$here/node_modules/playwright-core" ] ||
    [ ! -d "$here/node_modules/axe-core" ] ||
    [ ! -d "$here/node_modules/vnu-jar" ]; then
	(cd "$here" && npm install --no-audit --no-fund) || fail "npm install failed"
fi

work=$(mktemp -d)
state="$work/state.json"
/usr/bin/python3 -u "$here/serve.py" --so "$so" --state "$state" --delay 3 &
spid=$!
stop_servers() {
	if kill -0 "$spid" 2>/dev/null; then
		kill -TERM "$spid"
	fi
	wait "$spid"
}
for _ in $(seq 1 200); do
	[ -s "$state" ] && break
	kill -0 "$spid" 2>/dev/null || break
	sleep 0.1
done
if [ ! -s "$state" ]; then
	stop_servers
	rm -rf "$work"
	fail "the servers did not start"
fi
base=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["base"])' "$state")
db=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dir"] + "/formwork.db")' "$state")
owner=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["owner"])' "$state")
stranger=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stranger"])' "$state")

mkdir -p tests/out/browser
FORMWORK_TEST_BASE="$base" FORMWORK_TEST_DB="$db" FORMWORK_BROWSER_OUT="$PWD/tests/out/browser" \
	FORMWORK_TEST_OWNER="$owner" FORMWORK_TEST_STRANGER="$stranger" \
	node --test --test-reporter=tap "$here"/*.test.mjs 2>&1 | tee "$work/tap.txt"
nrc=${PIPESTATUS[0]}
stop_servers
src=$?

pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$work/tap.txt" | tail -n 1)
failn=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$work/tap.txt" | tail -n 1)
rm -rf "$work"
if [ -z "$pass" ] || [ -z "$failn" ]; then
	pass=${pass:-0}
	failn=$((${failn:-0} + 1))
	echo "browser tests: node --test printed no summary (exit status $nrc)"
elif [ "$nrc" -ne 0 ] && [ "$failn" -eq 0 ]; then
	failn=1
	echo "browser tests: node --test exit status $nrc"
fi
if [ "$src" -eq 0 ]; then
	pass=$((pass + 1))
	echo "ok    log check of the Formwork server"
else
	failn=$((failn + 1))
	echo "FAIL  log check of the Formwork server (or it did not stop cleanly)"
fi
echo "$pass passed, $failn failed"
[ "$failn" -eq 0 ]
