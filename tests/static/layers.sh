#!/usr/bin/env bash
# layers.sh: the layer rule of src/. Each folder is a layer, lowest first:
# core < store < worker < queue < web < desk. A file may include headers
# of its own layer or a lower one, never a higher one, so there are no
# import loops and no upward calls (with -Werror and
# -Wmissing-prototypes a function is only called through its header).
# ctl/ stands apart: it links core and store only, so it includes only
# those (and its own headers).
#
# Checks every #include "..." in src/*/*.[ch]; one that names no layer
# folder (includes name their folder, "store/store.h") is a finding too.
# Prints each finding as file:line: message; exits 1 on any, else 0.
set -u
cd "$(dirname "$0")/../.." || exit 2

awk '
BEGIN {
	order = "core store worker queue web desk"
	n = split(order, names, " ")
	for (i = 1; i <= n; i++)
		rank[names[i]] = i
	found = 0
}
FNR == 1 {
	from = FILENAME
	sub(/^src\//, "", from)
	sub(/\/.*/, "", from)
}
/^[ \t]*#[ \t]*include[ \t]*"/ {
	inc = $0
	sub(/^[^"]*"/, "", inc)
	sub(/".*/, "", inc)
	to = inc
	if (from == "ctl" && inc ~ /^ctl\//)
		next
	if (sub(/\/.*/, "", to) == 0 || !(to in rank)) {
		msg = "includes \"" inc "\", which names no layer folder"
	} else if (from == "ctl") {
		if (to == "core" || to == "store")
			next
		msg = "includes " inc ": ctl/ may include only core/ and store/"
	} else if (!(from in rank)) {
		msg = "src/" from "/ is no layer: add it to tests/static/layers.sh"
	} else if (rank[to] > rank[from]) {
		msg = "includes " inc ": " to "/ is above " from "/ (" \
		    "core < store < worker < queue < web < desk)"
	} else {
		next
	}
	printf "%s:%d: %s\n", FILENAME, FNR, msg
	found++
}
END {
	exit (found > 0)
}' src/*/*.[ch]
