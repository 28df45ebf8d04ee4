#!/usr/bin/env bash
# run.sh SO_PATH: Formwork's deployment tests against the module SO_PATH.
#
# Builds nothing (the module and ./formworkctl must be built). Runs
# tests/deploy/suite_deploy.py: Debian's nginx with conf/nginx/formwork.conf
# and a self-signed certificate in front of a real Formwork, driven by curl
# and by headless Chromium (browser.mjs, playwright-core, installed here
# with npm when missing); and conf/systemd/formwork.service checked with
# systemd-analyze verify and security (the exposure score is printed).
# Every server it starts (Kore, nginx) runs under tests/out/ on free
# loopback ports and is stopped by its PID; each one's log check counts as
# a test. Screenshots: tests/out/deploy/. Ends with "N passed, N failed"
# and a non-zero exit status on any failure.
set -u
if [ $# -ne 1 ]; then
	echo "usage: $0 SO_PATH" >&2
	exit 2
fi
fail() {
	echo "deploy tests: $1"
	echo "0 passed, 1 failed"
	exit 1
}
[ -f "$1" ] || fail "no module at $1 (build it first)"
so=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 2

[ -x ./formworkctl ] || fail "no ./formworkctl (build it first)"
for cmd in nginx openssl curl sqlite3 systemd-analyze systemd-sysusers node; do
	command -v "$cmd" >/dev/null || fail "$cmd is not installed (make deps)"
done
[ -x /usr/bin/chromium ] || fail "no /usr/bin/chromium (make deps)"
if [ ! -d "$here/node_modules/playwright-core" ]; then
	(cd "$here" && npm install --no-audit --no-fund) || fail "npm install failed"
fi

exec /usr/bin/python3 -u "$here/suite_deploy.py" --so "$so"
