/*
 * token.h: unguessable identifiers and the signed form token.
 *
 * Ids and submission keys are 128 bits written as unpadded base64url (22
 * characters): the time they were made (48 bits of milliseconds, as in a
 * UUIDv7), then 80 random bits from libsodium. Still unguessable, and
 * ids made together sort together: the store's indexes on them take a
 * batch's new rows at a page or two instead of one random page per row,
 * which is most of what a commit writes (and checkpoints) otherwise. The form token (_csrf) binds a form
 * instance (slug + _key) to the time it was served, signed with the
 * server's secret (HMAC-SHA-512-256, crypto_auth), so no server state is
 * needed to check it and the minimum fill time can be measured.
 */

#ifndef FORMWORK_TOKEN_H
#define FORMWORK_TOKEN_H

#include <sys/types.h>

#include <stddef.h>

#define TOKEN_ID_LEN		22	/* base64url of 16 bytes */
#define TOKEN_CSRF_MAX		96

enum token_check {
	TOKEN_VALID = 0,
	TOKEN_MISSING,
	TOKEN_FORGED,		/* bad format or signature */
	TOKEN_EXPIRED,
};

/* Installs the signing secret (at least 32 bytes). */
void	token_secret_set(const u_int8_t *, size_t);

/* Writes a fresh id into out (TOKEN_ID_LEN + 1 bytes). */
void	token_id_new(char out[TOKEN_ID_LEN + 1]);

/* Returns 1 when s looks like an id token_id_new() could have made. */
int	token_id_valid(const char *s);

/* Signs (slug, key, issued_ms) into out. */
void	token_csrf_new(const char *slug, const char *key, u_int64_t issued_ms,
	    char out[TOKEN_CSRF_MAX]);

/*
 * Checks a token for (slug, key) at time now_ms; a token older than
 * max_age_ms has expired. On TOKEN_VALID, *issued_ms tells when the form
 * was served.
 */
enum token_check	token_csrf_check(const char *token, const char *slug,
			    const char *key, u_int64_t now_ms,
			    u_int64_t max_age_ms, u_int64_t *issued_ms);

#endif
