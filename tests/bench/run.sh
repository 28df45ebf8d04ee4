#!/usr/bin/env bash
# run.sh [SO_PATH]: Formwork's benchmark (`make bench`; not part of
# `make test`). SO_PATH defaults to ./formwork.so (the -O2 build).
#
# Installs what is missing (wrk, gnuplot-nox, gunicorn, python3-flask,
# sqlite3, libsqlite3-dev, and make, g++ and python3 for the Node peer's
# native module; Debian, as root), builds the two Kore references of
# tests/bench/ with a plain cc command (Kore's feature flags, -fPIC
# -shared) into a work directory, installs the Node peer there (npm ci,
# when Node 20 and npm are installed), and runs
# tests/bench/bench.py, which starts the app and the references on
# loopback, drives them with wrk and writes
#   tests/bench/results/<date>-<commit>.md and .csv,
#   tests/bench/results/latest.csv, tests/bench/results/history.svg
#
# QUICK=1: one run per figure, short durations, results in the work
# directory only (not in tests/bench/results). BENCH_WORK=DIR: the work
# directory (default: a new one under $TMPDIR or /tmp; servers' logs and
# configurations stay there, large databases are removed at the end).
# PERF=1: also profile the app's workers with perf (get_form,
# get_result_304, post_submit) and put the top symbols in the Markdown.
# BENCH_COMMIT=REV: the commit the module was built from, when it is not
# the work tree's HEAD (e.g. a build from `git archive REV`).
# Finer knobs (see bench.py): BENCH_RUNS, BENCH_DURATION, BENCH_CONNS,
# BENCH_DB_SIZES, BENCH_SOAK, BENCH_SIGNUPS, BENCH_ONLY, BENCH_BUILD_NOTE,
# and for the admin desk step (formworkctl generate, then /admin timed):
# BENCH_ADMIN_ROWS (1000000; 20000 with QUICK=1), BENCH_ADMIN_SAMPLES,
# BENCH_ADMIN_PAGE, BENCH_ADMIN_CONNS, BENCH_CTL (formworkctl to use;
# default: next to SO_PATH, else ./formworkctl).
set -u
cd "$(dirname "$0")/../.." || exit 2
so=${1:-./formwork.so}
if [ ! -f "$so" ]; then
	echo "run.sh: no module at $so (run make build first)" >&2
	exit 1
fi
so=$(realpath "$so")

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
[ -x /usr/bin/gunicorn ] || need+=(gunicorn)
/usr/bin/python3 -c 'import flask' 2>/dev/null || need+=(python3-flask)
command -v sqlite3 >/dev/null || need+=(sqlite3)
[ -f /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
[ -f /usr/include/postgresql/libpq-fe.h ] || need+=(libpq-dev)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
command -v kore >/dev/null || need+=(kore)
command -v cc >/dev/null || need+=(gcc)
command -v stdbuf >/dev/null || need+=(coreutils)
# The Node peer's better-sqlite3 is compiled from source (node-gyp).
command -v make >/dev/null || need+=(make)
command -v g++ >/dev/null || need+=(g++)
[ -x /usr/bin/python3 ] || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
	echo "run.sh: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -qq "${need[@]}"; then
		apt-get update -qq && apt-get install -y -qq "${need[@]}" ||
		    { echo "run.sh: cannot install ${need[*]}" >&2; exit 1; }
	fi
fi

work=${BENCH_WORK:-${TMPDIR:-/tmp}/formwork-bench-$(date +%Y%m%d-%H%M%S)-$$}
mkdir -p "$work/ref" || exit 1

# The references, built like the app's Makefile builds the module.
KORE_FEATURES=$(cat /usr/share/kore/features)
CFLAGS_REF="-std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wno-unused-parameter -Werror"
# shellcheck disable=SC2086
cc $CFLAGS_REF $KORE_FEATURES -fPIC -shared -o "$work/ref/ref_static.so" \
    tests/bench/ref_static.c || exit 1
# shellcheck disable=SC2086
cc $CFLAGS_REF $KORE_FEATURES -fPIC -shared -o "$work/ref/ref_sqlite.so" \
    tests/bench/ref_sqlite.c -lsqlite3 || exit 1
# shellcheck disable=SC2086
cc $CFLAGS_REF $KORE_FEATURES -fPIC -shared -o "$work/ref/ref_pg.so" \
    tests/bench/ref_pg.c -lpq || exit 1

# The Node peer (tests/bench/peers/node): Node 20 or later with npm, as
# installed on the machine (Debian 12's own nodejs is 18, too old: the
# peer is then left out and the Markdown says so). npm ci takes the
# locked packages from the npm registry only: better-sqlite3 is built
# from source against the installed Node's headers (nodedir), so
# nothing is downloaded from anywhere else.
nodedir=$(dirname "$(dirname "$(command -v node 2>/dev/null || echo /usr/bin/node)")")
if command -v npm >/dev/null &&
    node -e 'process.exit(parseInt(process.versions.node) < 20 ? 1 : 0)' \
    2>/dev/null && [ -f "$nodedir/include/node/node.h" ]; then
	mkdir -p "$work/node-peer"
	cp tests/bench/peers/node/package.json \
	    tests/bench/peers/node/package-lock.json \
	    tests/bench/peers/node/node_contact.js "$work/node-peer/"
	if (cd "$work/node-peer" && npm_config_nodedir="$nodedir" \
	    npm_config_build_from_source=true npm ci --no-audit --no-fund \
	    --loglevel=error >npm.log 2>&1); then
		export BENCH_NODE_DIR="$work/node-peer"
	else
		echo "run.sh: the Node peer did not install (see" \
		    "$work/node-peer/npm.log); running without it" >&2
	fi
else
	echo "run.sh: no Node 20 with npm and headers; no Node peer" >&2
fi

args=(--so "$so" --work "$work" --refdir "$work/ref")
[ "${QUICK:-0}" = 1 ] && args+=(--quick)
[ "${PERF:-0}" = 1 ] && export BENCH_PERF=1
PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 tests/bench/bench.py "${args[@]}"
rc=$?
# Pre-filled databases and their copies are large; logs stay.
find "$work" -name '*.db*' -size +20M -delete 2>/dev/null
echo "work directory: $work"
exit $rc
