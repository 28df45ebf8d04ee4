#!/usr/bin/env bash
# run.sh: static analysis of src/ with cppcheck (2.10) and clang-tidy (14),
# and the layer rule of src/'s folders (tests/static/layers.sh).
#
# Each tool is one check: it passes when it reports nothing. Findings are
# printed as file:line: message [check]; full output is kept in
# tests/out/static/. Ends with "N passed, N failed"; the exit status is
# non-zero on any failure. Builds nothing and writes only tests/out/static/.
#
# cppcheck: --enable=warning,performance,portability with the Kore feature
# flags the Makefile builds with, --library=posix (so it knows open/close,
# opendir/closedir, ... for its leak and misuse checks) and --inline-suppr
# (a "// cppcheck-suppress id" comment in src/ silences one line).
# It is given Kore's headers and, from the system headers, only
# <sys/queue.h>: kore.h declares its structs with TAILQ_HEAD/TAILQ_ENTRY,
# which cppcheck cannot parse without the macros ("syntax error" at
# kore.h:277), while handing it all of /usr/include makes it slow and
# noisy. Corrections to posix.cfg, each needed with the configuration
# above (neither is Kore-header noise: no Kore-header finding needed
# suppressing with cppcheck 2.10):
#   readdirCalled       suppressed: posix.cfg advises readdir_r, which
#                       glibc deprecated in 2.24 (readdir(3): "use
#                       readdir"); readdir is safe when a DIR is not shared
#                       between threads, and Kore workers are processes.
#   posix-fixes.cfg     (tests/static/) redefines mmap() so that fd -1 is
#                       valid, as MAP_ANONYMOUS needs (src/worker/metrics.c);
#                       posix.cfg says fd >= 0 (invalidFunctionArg).
#
# clang-tidy: the checks and why each is on or off are in
# tests/static/.clang-tidy. Files are analysed one per process: clang-tidy
# 14 analysing several files in one process reports false
# "uninitialized va_list" (clang-analyzer-valist.Uninitialized) in every
# file after the first. Compile flags are the Makefile's (CFLAGS_APP
# without -O2/-fPIC/-Werror), so clang's own warnings count too.
#
# layers: no file includes a header of a higher layer (core < store <
# worker < queue < web < desk; ctl/ only core/ and store/); the rule and
# its reasons are in tests/static/layers.sh.
#
# Environment: STATIC_JOBS=N parallel cppcheck and clang-tidy processes
# (default nproc).
set -u
cd "$(dirname "$0")/../.." || exit 2

out=tests/out/static
jobs=${STATIC_JOBS:-$(nproc 2>/dev/null || echo 2)}
kore_features=$(cat /usr/share/kore/features 2>/dev/null)
passed=0
failed=0
mkdir -p "$out/include/sys" || exit 1

# Where glibc keeps sys/queue.h (multiarch or not).
queue_h=""
for d in "/usr/include/$(gcc -print-multiarch 2>/dev/null)" /usr/include; do
	if [ -f "$d/sys/queue.h" ]; then
		queue_h=$d/sys/queue.h
		break
	fi
done

# ---- cppcheck --------------------------------------------------------------
start=$(date +%s)
if ! command -v cppcheck >/dev/null; then
	echo "cppcheck: not installed (apt-get install cppcheck)"
	failed=$((failed + 1))
elif [ -z "$queue_h" ]; then
	echo "cppcheck: no sys/queue.h found (apt-get install libc6-dev)"
	failed=$((failed + 1))
else
	ln -sf "$queue_h" "$out/include/sys/queue.h"
	# shellcheck disable=SC2086
	cppcheck -j "$jobs" --enable=warning,performance,portability \
		--error-exitcode=1 --inline-suppr -q \
		-D__linux__ $kore_features --library=posix \
		--library=tests/static/posix-fixes.cfg --suppress=readdirCalled \
		-I src -I /usr/share/kore/include -I "$out/include" \
		--template='{file}:{line}: {severity}: {message} [{id}]' \
		src/ >"$out/cppcheck.log" 2>&1
	rc=$?
	n=$(grep -c '^[^ ].*:[0-9]*: ' "$out/cppcheck.log")
	if [ "$rc" -eq 0 ] && [ "$n" -eq 0 ]; then
		echo "cppcheck: 0 findings ($(( $(date +%s) - start )) s)"
		passed=$((passed + 1))
	else
		sed 's/^/  /' "$out/cppcheck.log"
		echo "cppcheck: $n findings, rc $rc" \
			"($(( $(date +%s) - start )) s)"
		failed=$((failed + 1))
	fi
fi

# ---- clang-tidy ------------------------------------------------------------
# The module's sources: every layer but ctl/ (built apart, README).
server_sources() { printf '%s\n' src/*/*.c | grep -v '^src/ctl/'; }
start=$(date +%s)
if ! command -v clang-tidy >/dev/null; then
	echo "clang-tidy: not installed (apt-get install clang-tidy)"
	failed=$((failed + 1))
else
	rm -f "$out"/tidy_*.log
	flags="-std=gnu11 -D_GNU_SOURCE -g $kore_features -Isrc -Wall -Wextra \
		-Wmissing-prototypes -Wstrict-prototypes -Wshadow -Wpointer-arith \
		-Wcast-qual -Wsign-compare -Wno-unused-parameter"
	export out flags
	# shellcheck disable=SC2016
	server_sources | xargs -P "$jobs" -n 1 sh -c '
		log=$out/tidy_$(basename "$1" .c).log
		clang-tidy --quiet --config-file=tests/static/.clang-tidy "$1" \
			-- $flags >"$log" 2>&1
		echo "exit status $?" >>"$log"' _
	# "warning:" and "error:" lines; warnings-as-errors turns both into
	# error: lines, and a file that does not compile gives error: too.
	cat "$out"/tidy_*.log |
		grep -E '^[^ ].*:[0-9]+:[0-9]+: (warning|error):' |
		sed -e "s|^$PWD/||" | sort -u >"$out/clang-tidy.txt"
	n=$(wc -l <"$out/clang-tidy.txt")
	nrc=$(grep -L '^exit status 0$' "$out"/tidy_*.log | wc -l)
	if [ "$n" -eq 0 ] && [ "$nrc" -eq 0 ]; then
		echo "clang-tidy: 0 findings in $(server_sources | wc -l) files" \
			"($(( $(date +%s) - start )) s)"
		passed=$((passed + 1))
	else
		sed 's/^/  /' "$out/clang-tidy.txt"
		echo "clang-tidy: $n findings in $nrc files" \
			"($(( $(date +%s) - start )) s; logs in $out/tidy_*.log)"
		failed=$((failed + 1))
	fi
fi

# ---- layers ----------------------------------------------------------------
if bash tests/static/layers.sh >"$out/layers.txt" 2>&1; then
	echo "layers: 0 findings in $(printf '%s\n' src/*/*.[ch] | wc -l) files"
	passed=$((passed + 1))
else
	sed 's/^/  /' "$out/layers.txt"
	echo "layers: $(wc -l <"$out/layers.txt") findings"
	failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
