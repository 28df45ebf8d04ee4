/*
 * token.c: unguessable ids and signed form tokens, from libsodium.
 *
 * Holds the signing key in a static buffer (set once by the parent before
 * the workers fork). Never logs a token or the key.
 */

#include <sys/types.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/token.h"
#include "core/util.h"

#define TOKEN_MAC_B64	43	/* base64url of a 32-byte MAC, unpadded */
#define TOKEN_ID_TIME_BYTES	6

/* HMAC state with the key absorbed: each MAC starts from a copy. */
static crypto_auth_hmacsha512256_state	token_keyed;

/*
 * Random bytes for ids, drawn from libsodium a page at a time, so an id
 * costs no system call (each randombytes_buf() is a getrandom()). Shared
 * by the threads under a lock; a forked child starts with an empty pool
 * (never the parent's bytes), like OpenBSD's arc4random.
 */
static struct {
	pthread_mutex_t	lock;
	size_t		left;
	u_int8_t	buf[4096];
} token_pool = { PTHREAD_MUTEX_INITIALIZER, 0, { 0 } };
static pthread_once_t	token_pool_once = PTHREAD_ONCE_INIT;

static void	token_csrf_mac(const char *, const char *, u_int64_t,
		    u_int8_t [crypto_auth_BYTES]);
static void	token_random(u_int8_t *, size_t);
static void	token_pool_atfork(void);
static void	token_pool_lock(void);
static void	token_pool_unlock(void);
static void	token_pool_forget(void);

void
token_secret_set(const u_int8_t *secret, size_t len)
{
	u_int8_t	key[crypto_auth_KEYBYTES];

	/* Derive a fixed-size key whatever the length of the secret. */
	crypto_generichash(key, sizeof(key), secret, len,
	    (const u_int8_t *)"formwork-csrf-v1", 16);
	crypto_auth_hmacsha512256_init(&token_keyed, key, sizeof(key));
	sodium_memzero(key, sizeof(key));
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
	token_random(raw + TOKEN_ID_TIME_BYTES,
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

	st = token_keyed;
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

static void
token_random(u_int8_t *out, size_t len)
{
	u_int8_t	*p;

	(void)pthread_once(&token_pool_once, token_pool_atfork);
	token_pool_lock();
	if (token_pool.left < len) {
		randombytes_buf(token_pool.buf, sizeof(token_pool.buf));
		token_pool.left = sizeof(token_pool.buf);
	}
	p = token_pool.buf + sizeof(token_pool.buf) - token_pool.left;
	memcpy(out, p, len);
	/* Used bytes do not stay behind. */
	sodium_memzero(p, len);
	token_pool.left -= len;
	token_pool_unlock();
}

static void
token_pool_atfork(void)
{
	(void)pthread_atfork(token_pool_lock, token_pool_unlock,
	    token_pool_forget);
}

static void
token_pool_lock(void)
{
	(void)pthread_mutex_lock(&token_pool.lock);
}

static void
token_pool_unlock(void)
{
	(void)pthread_mutex_unlock(&token_pool.lock);
}

/* In a forked child (holding the lock): the parent's bytes are not ours. */
static void
token_pool_forget(void)
{
	sodium_memzero(token_pool.buf, sizeof(token_pool.buf));
	token_pool.left = 0;
	token_pool_unlock();
}
