/*
 * token.c: unguessable ids and signed form tokens, from libsodium.
 *
 * Holds the signing key in a static buffer (set once by the parent before
 * the workers fork). Never logs a token or the key.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "token.h"
#include "util.h"

#define TOKEN_MAC_B64	43	/* base64url of a 32-byte MAC, unpadded */
#define TOKEN_ID_TIME_BYTES	6

static u_int8_t	token_key[crypto_auth_KEYBYTES];

static void	token_csrf_mac(const char *, const char *, u_int64_t,
		    u_int8_t [crypto_auth_BYTES]);

void
token_secret_set(const u_int8_t *secret, size_t len)
{
	/* Derive a fixed-size key whatever the length of the secret. */
	crypto_generichash(token_key, sizeof(token_key), secret, len,
	    (const u_int8_t *)"formwork-csrf-v1", 16);
}

void
token_id_new(char out[TOKEN_ID_LEN + 1])
{
	u_int8_t	raw[16];
	u_int64_t	now;
	int		i;

	/* 48 bits of milliseconds, big-endian, then 80 random bits. */
	now = util_now_ms();
	for (i = TOKEN_ID_TIME_BYTES - 1; i >= 0; i--) {
		raw[i] = now & 0xff;
		now >>= 8;
	}
	randombytes_buf(raw + TOKEN_ID_TIME_BYTES,
	    sizeof(raw) - TOKEN_ID_TIME_BYTES);
	sodium_bin2base64(out, TOKEN_ID_LEN + 1, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
token_id_valid(const char *s)
{
	size_t		i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= TOKEN_ID_LEN)
			return (0);
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return (0);
	}
	return (i == TOKEN_ID_LEN);
}

void
token_csrf_new(const char *slug, const char *key, u_int64_t issued_ms,
    char out[TOKEN_CSRF_MAX])
{
	u_int8_t	mac[crypto_auth_BYTES];
	char		b64[TOKEN_MAC_B64 + 1];

	token_csrf_mac(slug, key, issued_ms, mac);
	sodium_bin2base64(b64, sizeof(b64), mac, sizeof(mac),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	(void)snprintf(out, TOKEN_CSRF_MAX, "%llx.%s",
	    (unsigned long long)issued_ms, b64);
}

enum token_check
token_csrf_check(const char *token, const char *slug, const char *key,
    u_int64_t now_ms, u_int64_t max_age_ms, u_int64_t *issued_ms)
{
	u_int8_t		 want[crypto_auth_BYTES], got[crypto_auth_BYTES];
	unsigned long long	 ts;
	const char		*dot;
	char			*end;
	size_t			 glen;

	if (token == NULL || *token == '\0')
		return (TOKEN_MISSING);
	if (key == NULL || (dot = strchr(token, '.')) == NULL ||
	    dot - token > 16 || strlen(dot + 1) != TOKEN_MAC_B64)
		return (TOKEN_FORGED);
	/* Exactly one spelling: lowercase hex digits, nothing else. */
	if (dot == token || (*token == '0' && dot - token > 1) ||
	    strspn(token, "0123456789abcdef") != (size_t)(dot - token))
		return (TOKEN_FORGED);
	ts = strtoull(token, &end, 16);
	if (end != dot)
		return (TOKEN_FORGED);
	if (sodium_base642bin(got, sizeof(got), dot + 1, TOKEN_MAC_B64, NULL,
	    &glen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    glen != sizeof(got))
		return (TOKEN_FORGED);

	token_csrf_mac(slug, key, ts, want);
	if (sodium_memcmp(want, got, sizeof(want)) != 0)
		return (TOKEN_FORGED);

	/* A minute of clock skew between nodes is tolerated. */
	if (ts > now_ms + 60000)
		return (TOKEN_FORGED);
	if (now_ms > ts && now_ms - ts > max_age_ms)
		return (TOKEN_EXPIRED);
	*issued_ms = ts;
	return (TOKEN_VALID);
}

/* MAC over length-prefixed slug and key and the issue time. */
static void
token_csrf_mac(const char *slug, const char *key, u_int64_t issued_ms,
    u_int8_t mac[crypto_auth_BYTES])
{
	crypto_auth_hmacsha512256_state	st;
	u_int32_t			n;

	crypto_auth_hmacsha512256_init(&st, token_key, sizeof(token_key));
	n = (u_int32_t)strlen(slug);
	crypto_auth_hmacsha512256_update(&st, (u_int8_t *)&n, sizeof(n));
	crypto_auth_hmacsha512256_update(&st, (const u_int8_t *)slug, n);
	n = (u_int32_t)strlen(key);
	crypto_auth_hmacsha512256_update(&st, (u_int8_t *)&n, sizeof(n));
	crypto_auth_hmacsha512256_update(&st, (const u_int8_t *)key, n);
	crypto_auth_hmacsha512256_update(&st, (u_int8_t *)&issued_ms,
	    sizeof(issued_ms));
	crypto_auth_hmacsha512256_final(&st, mac);
}
