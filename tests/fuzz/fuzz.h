/*
 * fuzz.h: what the libFuzzer targets in tests/fuzz/ share. A broken
 * invariant aborts, so libFuzzer saves the input as a crash like any
 * sanitizer report.
 */

#ifndef FORMWORK_FUZZ_H
#define FORMWORK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ASSERT(cond, what) do {					\
	if (!(cond)) {							\
		(void)fprintf(stderr, "%s:%d: invariant broken: %s "	\
		    "(%s)\n", __FILE__, __LINE__, (what), #cond);	\
		abort();						\
	}								\
} while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

#endif
