/*
 * test_token.c: tests for random ids and the signed form token
 * (src/core/token.c): ids are 22 base64url characters and unique, and a form
 * token only checks out for the form instance and secret it was made for,
 * within its age and at most a minute in the future.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "core/token.h"
#include "core/util.h"

#define TK_SLUG		"contact"
#define TK_KEY		"q1w2e3r4t5y6u7i8o9p0aB"
#define TK_T0		1767225600000ULL	/* 2026-01-01T00:00:00Z */
#define TK_HOUR		3600000ULL

static const u_int8_t	tk_secret[] =
    "unit-test secret: thirty-two bytes or more, please";

static void
tk_setup(void)
{
	cr_assert_neq(sodium_init(), -1);
	token_secret_set(tk_secret, sizeof(tk_secret) - 1);
}

TestSuite(token, .init = tk_setup);

static int
tk_b64url_char(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_');
}

/* Checks tok for the default slug/key at now with an hour's max age. */
static enum token_check
tk_check(const char *tok, u_int64_t now)
{
	u_int64_t	issued;

	issued = 0;
	return (token_csrf_check(tok, TK_SLUG, TK_KEY, now, TK_HOUR,
	    &issued));
}

/* ---- ids --------------------------------------------------------------- */

Test(token, id_is_22_base64url_characters)
{
	char	id[TOKEN_ID_LEN + 1];
	size_t	i;

	memset(id, 'Z', sizeof(id));
	token_id_new(id);
	cr_assert_eq(strlen(id), TOKEN_ID_LEN);
	cr_assert_eq(TOKEN_ID_LEN, 22);
	for (i = 0; i < TOKEN_ID_LEN; i++)
		cr_assert(tk_b64url_char(id[i]), "bad char '%c' in %s", id[i],
		    id);
	cr_assert_eq(token_id_valid(id), 1, "%s", id);
}

Test(token, id_valid_accepts_any_base64url_of_22)
{
	cr_assert_eq(token_id_valid("AAAAAAAAAAAAAAAAAAAAAA"), 1);
	cr_assert_eq(token_id_valid("abcdefghijklmnopqrstuv"), 1);
	cr_assert_eq(token_id_valid("0123456789-_ABCDEFxyz9"), 1);
}

Test(token, id_valid_rejects_wrong_length)
{
	cr_assert_eq(token_id_valid("AAAAAAAAAAAAAAAAAAAAA"), 0);	/* 21 */
	cr_assert_eq(token_id_valid("AAAAAAAAAAAAAAAAAAAAAAA"), 0);	/* 23 */
	cr_assert_eq(token_id_valid(""), 0);
	cr_assert_eq(token_id_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAA"), 0);
}

Test(token, id_valid_rejects_standard_base64_and_other_chars)
{
	cr_assert_eq(token_id_valid("AAAAAAAAAAAAAAAAAAAAA+"), 0);
	cr_assert_eq(token_id_valid("AAAAAAAAAAAAAAAAAAAAA/"), 0);
	cr_assert_eq(token_id_valid("AAAAAAAAAAAAAAAAAAAA=="), 0);
	cr_assert_eq(token_id_valid("AAAAAAAAAA AAAAAAAAAAA"), 0);
	cr_assert_eq(token_id_valid("AAAAAAAAAA.AAAAAAAAAAA"), 0);
	cr_assert_eq(token_id_valid("AAAAAAAAAA\xc3\xa9" "AAAAAAAAAA"), 0);
}

static int
tk_cmp(const void *a, const void *b)
{
	return (strcmp((const char *)a, (const char *)b));
}

Test(token, thousand_ids_are_distinct)
{
	char	(*ids)[TOKEN_ID_LEN + 1];
	size_t	i;

	ids = calloc(1000, sizeof(*ids));
	cr_assert_not_null(ids);
	for (i = 0; i < 1000; i++) {
		token_id_new(ids[i]);
		cr_assert_eq(token_id_valid(ids[i]), 1, "%s", ids[i]);
	}
	qsort(ids, 1000, sizeof(*ids), tk_cmp);
	for (i = 1; i < 1000; i++)
		cr_assert_str_neq(ids[i - 1], ids[i], "duplicate id");
	free(ids);
}

/* The time an id was made, from its first 6 bytes. */
static u_int64_t
tk_id_time(const char *id)
{
	u_int8_t	raw[16];
	size_t		len, i;
	u_int64_t	t;

	cr_assert_eq(sodium_base642bin(raw, sizeof(raw), id, strlen(id), NULL,
	    &len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	cr_assert_eq(len, 16);
	for (t = 0, i = 0; i < 6; i++)
		t = (t << 8) | raw[i];
	return (t);
}

Test(token, id_starts_with_the_time_it_was_made)
{
	char		id[TOKEN_ID_LEN + 1];
	u_int64_t	before, after, t;

	before = util_now_ms();
	token_id_new(id);
	after = util_now_ms();
	t = tk_id_time(id);
	cr_assert(t >= before && t <= after, "%llu not in [%llu, %llu]",
	    (unsigned long long)t, (unsigned long long)before,
	    (unsigned long long)after);
}

Test(token, ids_of_one_moment_differ_in_80_random_bits)
{
	char	a[TOKEN_ID_LEN + 1], b[TOKEN_ID_LEN + 1];
	int	tries;

	/* Two ids of the same millisecond share 8 characters, not more. */
	for (tries = 0; tries < 100; tries++) {
		token_id_new(a);
		token_id_new(b);
		if (tk_id_time(a) == tk_id_time(b))
			break;
	}
	cr_assert_lt(tries, 100, "never two ids in one millisecond");
	cr_assert_eq(memcmp(a, b, 8), 0, "%s %s", a, b);
	cr_assert_neq(strcmp(a + 8, b + 8), 0, "%s %s", a, b);
}

/*
 * Ids come from a pool of random bytes: a child process must never hand
 * out the bytes its parent will (Kore forks its workers from the parent).
 */
Test(token, forked_processes_make_different_ids)
{
	char	first[TOKEN_ID_LEN + 1], mine[TOKEN_ID_LEN + 1];
	char	child[TOKEN_ID_LEN + 1];
	int	fds[2], status;
	pid_t	pid;

	token_id_new(first);		/* the pool is full now */
	cr_assert_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		token_id_new(child);
		_exit(write(fds[1], child, TOKEN_ID_LEN) == TOKEN_ID_LEN ?
		    0 : 1);
	}
	cr_assert_gt(pid, 0);
	token_id_new(mine);
	memset(child, 0, sizeof(child));
	cr_assert_eq(read(fds[0], child, TOKEN_ID_LEN), TOKEN_ID_LEN);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(status, 0);
	(void)close(fds[0]);
	(void)close(fds[1]);
	/* Same moment perhaps, never the same random part. */
	cr_assert_str_neq(child + 8, mine + 8, "%s %s", child, mine);
	cr_assert_str_neq(child + 8, first + 8, "%s %s", child, first);
}

/* ---- form tokens ------------------------------------------------------- */

/*
 * The token's format, pinned: hex issue time, ".", base64url of
 * HMAC-SHA-512-256 keyed with BLAKE2b(secret, "formwork-csrf-v1") over
 * the length-prefixed slug and key and the issue time, computed here from
 * scratch. Tokens issued by one version (or node) stay valid on another.
 */
Test(token, csrf_is_the_documented_hmac)
{
	crypto_auth_hmacsha512256_state	st;
	u_int8_t	key[crypto_auth_KEYBYTES], mac[crypto_auth_BYTES];
	char		b64[64], want[TOKEN_CSRF_MAX], got[TOKEN_CSRF_MAX];
	u_int64_t	t = TK_T0;
	u_int32_t	n;
	int		i;

	crypto_generichash(key, sizeof(key), tk_secret, sizeof(tk_secret) - 1,
	    (const u_int8_t *)"formwork-csrf-v1", 16);
	crypto_auth_hmacsha512256_init(&st, key, sizeof(key));
	n = (u_int32_t)strlen(TK_SLUG);
	crypto_auth_hmacsha512256_update(&st, (u_int8_t *)&n, sizeof(n));
	crypto_auth_hmacsha512256_update(&st, (const u_int8_t *)TK_SLUG, n);
	n = (u_int32_t)strlen(TK_KEY);
	crypto_auth_hmacsha512256_update(&st, (u_int8_t *)&n, sizeof(n));
	crypto_auth_hmacsha512256_update(&st, (const u_int8_t *)TK_KEY, n);
	crypto_auth_hmacsha512256_update(&st, (u_int8_t *)&t, sizeof(t));
	crypto_auth_hmacsha512256_final(&st, mac);
	sodium_bin2base64(b64, sizeof(b64), mac, sizeof(mac),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	(void)snprintf(want, sizeof(want), "%llx.%s",
	    (unsigned long long)t, b64);
	/* Twice: each token starts from the same keyed state. */
	for (i = 0; i < 2; i++) {
		token_csrf_new(TK_SLUG, TK_KEY, t, got);
		cr_assert_str_eq(got, want);
	}
}

Test(token, csrf_round_trip_returns_issue_time)
{
	char		tok[TOKEN_CSRF_MAX];
	u_int64_t	issued;

	token_csrf_new(TK_SLUG, TK_KEY, TK_T0, tok);
	cr_assert_lt(strlen(tok), TOKEN_CSRF_MAX);
	issued = 0;
	cr_assert_eq(token_csrf_check(tok, TK_SLUG, TK_KEY, TK_T0 + 5000,
	    TK_HOUR, &issued), TOKEN_VALID, "%s", tok);
	cr_assert_eq(issued, TK_T0);
}

Test(token, csrf_valid_at_the_moment_it_was_issued)
{
	char		tok[TOKEN_CSRF_MAX];

	token_csrf_new(TK_SLUG, TK_KEY, TK_T0, tok);
	cr_assert_eq(tk_check(tok, TK_T0), TOKEN_VALID);
}

Test(token, csrf_is_deterministic_and_text_safe)
{
	char	t1[TOKEN_CSRF_MAX], t2[TOKEN_CSRF_MAX];
	size_t	i;

	token_csrf_new(TK_SLUG, TK_KEY, TK_T0, t1);
	token_csrf_new(TK_SLUG, TK_KEY, TK_T0, t2);
	cr_assert_str_eq(t1, t2);
	/* It goes into an HTML attribute and a form body unescaped. */
	for (i = 0; t1[i] != '\0'; i++)
		cr_assert(tk_b64url_char(t1[i]) || t1[i] == '.', "%s", t1);
	token_csrf_new(TK_SLUG, TK_KEY, TK_T0 + 1, t2);
	cr_assert_str_neq(t1, t2);
}

Test(token, csrf_for_another_slug_is_forged)
{
	char		tok[TOKEN_CSRF_MAX];
	u_int64_t	issued;

	token_csrf_new("signup", TK_KEY, TK_T0, tok);
	cr_assert_eq(tk_check(tok, TK_T0 + 1000), TOKEN_FORGED);
	cr_assert_eq(token_csrf_check(tok, "signup", TK_KEY, TK_T0 + 1000,
	    TK_HOUR, &issued), TOKEN_VALID);
}

Test(token, csrf_for_another_key_is_forged)
{
	char	tok[TOKEN_CSRF_MAX];

	token_csrf_new(TK_SLUG, "AAAAAAAAAAAAAAAAAAAAAA", TK_T0, tok);
	cr_assert_eq(tk_check(tok, TK_T0 + 1000), TOKEN_FORGED);
}

Test(token, csrf_slug_and_key_boundary_is_signed)
{
	char		tok[TOKEN_CSRF_MAX];
	u_int64_t	issued;

	/* "ab" + "c" must not check out as "a" + "bc". */
	token_csrf_new("ab", "c", TK_T0, tok);
	cr_assert_eq(token_csrf_check(tok, "a", "bc", TK_T0, TK_HOUR,
	    &issued), TOKEN_FORGED);
	cr_assert_eq(token_csrf_check(tok, "ab", "c", TK_T0, TK_HOUR,
	    &issued), TOKEN_VALID);
}

Test(token, csrf_with_tampered_mac_is_forged)
{
	char	tok[TOKEN_CSRF_MAX], bad[TOKEN_CSRF_MAX];
	char	*mac;
	size_t	i, n;

	token_csrf_new(TK_SLUG, TK_KEY, TK_T0, tok);
	mac = strchr(tok, '.');
	cr_assert_not_null(mac);
	mac++;
	n = strlen(mac);
	/* Each position, changed to another base64url character. */
	for (i = 0; i < n; i++) {
		memcpy(bad, tok, sizeof(bad));
		bad[mac - tok + i] = mac[i] == 'A' ? 'B' : 'A';
		cr_assert_eq(tk_check(bad, TK_T0 + 1000), TOKEN_FORGED,
		    "MAC char %zu changed: %s", i, bad);
	}
}

Test(token, csrf_with_tampered_timestamp_is_forged)
{
	char	tok[TOKEN_CSRF_MAX], bad[TOKEN_CSRF_MAX];
	char	*dot;

	token_csrf_new(TK_SLUG, TK_KEY, TK_T0, tok);
	dot = strchr(tok, '.');
	cr_assert_not_null(dot);
	/* Claim the form was served 10 s later (a faster-looking fill). */
	(void)snprintf(bad, sizeof(bad), "%llx%s",
	    (unsigned long long)(TK_T0 + 10000), dot);
	cr_assert_eq(tk_check(bad, TK_T0 + 20000), TOKEN_FORGED, "%s", bad);
	/* Or earlier. */
	(void)snprintf(bad, sizeof(bad), "%llx%s",
	    (unsigned long long)(TK_T0 - 10000), dot);
	cr_assert_eq(tk_check(bad, TK_T0 + 20000), TOKEN_FORGED, "%s", bad);
}

Test(token, csrf_missing_when_null_or_empty)
{
	cr_assert_eq(tk_check(NULL, TK_T0), TOKEN_MISSING);
	cr_assert_eq(tk_check("", TK_T0), TOKEN_MISSING);
}

Test(token, csrf_malformed_is_forged)
{
	char	tok[TOKEN_CSRF_MAX], bad[TOKEN_CSRF_MAX * 2];
	char	*dot;

	token_csrf_new(TK_SLUG, TK_KEY, TK_T0, tok);
	dot = strchr(tok, '.');

	cr_assert_eq(tk_check("x", TK_T0), TOKEN_FORGED);
	cr_assert_eq(tk_check(".", TK_T0), TOKEN_FORGED);
	cr_assert_eq(tk_check(dot + 1, TK_T0), TOKEN_FORGED);	/* no dot */
	cr_assert_eq(tk_check(dot, TK_T0), TOKEN_FORGED);	/* no time */
	(void)snprintf(bad, sizeof(bad), "%s", tok);
	bad[strlen(bad) - 1] = '\0';				/* short MAC */
	cr_assert_eq(tk_check(bad, TK_T0), TOKEN_FORGED);
	(void)snprintf(bad, sizeof(bad), "%sA", tok);		/* long MAC */
	cr_assert_eq(tk_check(bad, TK_T0), TOKEN_FORGED);
	(void)snprintf(bad, sizeof(bad), "zz%s", dot);		/* not hex */
	cr_assert_eq(tk_check(bad, TK_T0), TOKEN_FORGED);
	(void)snprintf(bad, sizeof(bad), "00000000000000000%s", dot);
	cr_assert_eq(tk_check(bad, TK_T0), TOKEN_FORGED);	/* 17 digits */
	(void)snprintf(bad, sizeof(bad), "%s", tok);
	bad[dot - tok + 5] = '+';				/* not url */
	cr_assert_eq(tk_check(bad, TK_T0), TOKEN_FORGED);
}

Test(token, csrf_without_key_is_forged)
{
	char		tok[TOKEN_CSRF_MAX];
	u_int64_t	issued;

	token_csrf_new(TK_SLUG, TK_KEY, TK_T0, tok);
	cr_assert_eq(token_csrf_check(tok, TK_SLUG, NULL, TK_T0, TK_HOUR,
	    &issued), TOKEN_FORGED);
}

Test(token, csrf_older_than_max_age_expired)
{
	char	tok[TOKEN_CSRF_MAX];

	token_csrf_new(TK_SLUG, TK_KEY, TK_T0, tok);
	cr_assert_eq(tk_check(tok, TK_T0 + TK_HOUR), TOKEN_VALID,
	    "exactly the max age is still fine");
	cr_assert_eq(tk_check(tok, TK_T0 + TK_HOUR + 1), TOKEN_EXPIRED);
	cr_assert_eq(tk_check(tok, TK_T0 + 48 * TK_HOUR), TOKEN_EXPIRED);
}

Test(token, csrf_from_the_near_future_tolerated)
{
	char		tok[TOKEN_CSRF_MAX];
	u_int64_t	issued;

	/* Another node's clock may run up to a minute ahead. */
	token_csrf_new(TK_SLUG, TK_KEY, TK_T0 + 60000, tok);
	issued = 0;
	cr_assert_eq(token_csrf_check(tok, TK_SLUG, TK_KEY, TK_T0, TK_HOUR,
	    &issued), TOKEN_VALID);
	cr_assert_eq(issued, TK_T0 + 60000);
}

Test(token, csrf_more_than_a_minute_in_the_future_forged)
{
	char	tok[TOKEN_CSRF_MAX];

	token_csrf_new(TK_SLUG, TK_KEY, TK_T0 + 60001, tok);
	cr_assert_eq(tk_check(tok, TK_T0), TOKEN_FORGED);
	token_csrf_new(TK_SLUG, TK_KEY, TK_T0 + 24 * TK_HOUR, tok);
	cr_assert_eq(tk_check(tok, TK_T0), TOKEN_FORGED);
}

Test(token, csrf_made_under_another_secret_forged)
{
	static const u_int8_t	other[] =
	    "another secret, also thirty-two bytes long at least";
	char			tok[TOKEN_CSRF_MAX];

	token_secret_set(other, sizeof(other) - 1);
	token_csrf_new(TK_SLUG, TK_KEY, TK_T0, tok);
	token_secret_set(tk_secret, sizeof(tk_secret) - 1);
	cr_assert_eq(tk_check(tok, TK_T0), TOKEN_FORGED);
	/* And it still checks out under the secret that made it. */
	token_secret_set(other, sizeof(other) - 1);
	cr_assert_eq(tk_check(tok, TK_T0), TOKEN_VALID);
	token_secret_set(tk_secret, sizeof(tk_secret) - 1);
}

Test(token, csrf_secret_differing_in_last_byte_forged)
{
	u_int8_t	s2[sizeof(tk_secret)];
	char		tok[TOKEN_CSRF_MAX];

	memcpy(s2, tk_secret, sizeof(s2));
	s2[sizeof(tk_secret) - 2] ^= 1;
	token_secret_set(s2, sizeof(tk_secret) - 1);
	token_csrf_new(TK_SLUG, TK_KEY, TK_T0, tok);
	token_secret_set(tk_secret, sizeof(tk_secret) - 1);
	cr_assert_eq(tk_check(tok, TK_T0), TOKEN_FORGED);
}
