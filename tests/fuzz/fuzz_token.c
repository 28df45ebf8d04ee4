/*
 * fuzz_token.c: libFuzzer target for the form token and id checks
 * (src/core/token.c): token_csrf_check() and token_id_valid() on arbitrary
 * strings, which is what a visitor's _csrf and _key fields are.
 *
 * Input: 1 flag byte, 8 bytes of issue time (little endian), then up to
 * three NUL-separated strings: a token pattern, the slug and the key
 * (defaults "contact" and a fixed id when absent).
 *
 * Random bytes never carry a valid MAC, so the target also signs a real
 * token for (slug, key, time) and builds the candidate from the pattern,
 * replacing "$T" with the whole real token, "$S" with its hex time and
 * "$M" with its MAC. Checked: the real token is accepted at its issue
 * time, expires after max_age and is refused from the future; and any
 * candidate that is accepted is spelled exactly like the real one (the
 * "exactly one spelling" comment in token_csrf_check).
 */

#include <sys/types.h>

#include <string.h>

#include <sodium.h>

#include "core/token.h"

#include "fuzz.h"

#define FUZZ_STR_MAX	256
#define FUZZ_MAX_AGE	(24ULL * 3600 * 1000)
#define FUZZ_DEF_KEY	"AbCdEfGhIjKlMnOpQrStUv"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const u_int8_t	secret[] =
	    "fuzzing secret, at least thirty-two bytes long";

	if (sodium_init() == -1)
		abort();
	token_secret_set(secret, sizeof(secret) - 1);
	return (0);
}

/* Copies the next NUL-terminated piece of [*p, end) into out. */
static int
fuzz_next(const uint8_t **p, const uint8_t *end, char *out, size_t outlen)
{
	const uint8_t	*nul;
	size_t		 n;

	if (*p >= end)
		return (0);
	nul = memchr(*p, '\0', (size_t)(end - *p));
	n = nul != NULL ? (size_t)(nul - *p) : (size_t)(end - *p);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p = nul != NULL ? nul + 1 : end;
	return (1);
}

static void
fuzz_id_check(const char *s)
{
	size_t		i;

	if (!token_id_valid(s))
		return;
	FUZZ_ASSERT(strlen(s) == TOKEN_ID_LEN, "an id is 22 characters");
	for (i = 0; s[i] != '\0'; i++)
		FUZZ_ASSERT(strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", s[i]) != NULL,
		    "an id is base64url");
}

/* Expands $T, $S and $M of pat with the parts of the real token. */
static void
fuzz_expand(const char *pat, const char *real, char *out, size_t outlen)
{
	const char	*dot, *rep;
	size_t		 n, rlen;

	dot = strchr(real, '.');
	n = 0;
	while (*pat != '\0' && n + 1 < outlen) {
		rep = NULL;
		if (pat[0] == '$' && pat[1] == 'T') {
			rep = real;
			rlen = strlen(real);
		} else if (pat[0] == '$' && pat[1] == 'S') {
			rep = real;
			rlen = (size_t)(dot - real);
		} else if (pat[0] == '$' && pat[1] == 'M') {
			rep = dot + 1;
			rlen = strlen(dot + 1);
		}
		if (rep == NULL) {
			out[n++] = *pat++;
			continue;
		}
		if (rlen > outlen - 1 - n)
			rlen = outlen - 1 - n;
		memcpy(out + n, rep, rlen);
		n += rlen;
		pat += 2;
	}
	out[n] = '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t		*p, *end;
	char			 pat[FUZZ_STR_MAX], slug[FUZZ_STR_MAX];
	char			 key[FUZZ_STR_MAX], real[TOKEN_CSRF_MAX];
	char			 cand[FUZZ_STR_MAX * 2];
	enum token_check	 tc;
	u_int64_t		 ts, now, issued;
	uint8_t			 flags;

	if (size < 9)
		return (0);
	flags = data[0];
	memcpy(&ts, data + 1, sizeof(ts));
	/* Milliseconds since 1970, well clear of wrapping in now + skew. */
	ts &= (1ULL << 52) - 1;
	p = data + 9;
	end = data + size;
	pat[0] = '\0';
	(void)fuzz_next(&p, end, pat, sizeof(pat));
	if (!fuzz_next(&p, end, slug, sizeof(slug)))
		(void)strcpy(slug, "contact");
	if (!fuzz_next(&p, end, key, sizeof(key)))
		(void)strcpy(key, FUZZ_DEF_KEY);

	fuzz_id_check(pat);
	fuzz_id_check(key);

	/* The raw pattern as a token, at a time picked by the flags. */
	now = (flags & 1) ? ts : ts + FUZZ_MAX_AGE;
	issued = 0;
	tc = token_csrf_check(pat, slug, key, now, FUZZ_MAX_AGE, &issued);
	FUZZ_ASSERT(tc <= TOKEN_EXPIRED, "a known result");
	FUZZ_ASSERT(tc != TOKEN_MISSING || pat[0] == '\0',
	    "MISSING only for an empty token");
	tc = token_csrf_check(pat, slug, (flags & 2) ? NULL : key, now,
	    FUZZ_MAX_AGE, &issued);
	FUZZ_ASSERT(tc <= TOKEN_EXPIRED, "a known result without a key");

	/* A real token: accepted, expires, refused from the future. */
	token_csrf_new(slug, key, ts, real);
	issued = 0;
	tc = token_csrf_check(real, slug, key, ts, FUZZ_MAX_AGE, &issued);
	FUZZ_ASSERT(tc == TOKEN_VALID && issued == ts, "a real token is valid");
	tc = token_csrf_check(real, slug, key, ts + FUZZ_MAX_AGE + 1,
	    FUZZ_MAX_AGE, &issued);
	FUZZ_ASSERT(tc == TOKEN_EXPIRED, "an old token expires");
	if (ts > 60001) {
		tc = token_csrf_check(real, slug, key, ts - 60001,
		    FUZZ_MAX_AGE, &issued);
		FUZZ_ASSERT(tc == TOKEN_FORGED, "a token from the future");
	}

	/* Variations of the real token: only its exact spelling passes. */
	fuzz_expand(pat, real, cand, sizeof(cand));
	tc = token_csrf_check(cand, slug, key, ts, FUZZ_MAX_AGE, &issued);
	if (tc == TOKEN_VALID)
		FUZZ_ASSERT(strcmp(cand, real) == 0,
		    "one spelling per token (an accepted variant)");

	return (0);
}
