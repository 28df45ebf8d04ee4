/*
 * password.h: admin passwords, hashed with argon2id (libsodium's
 * crypto_pwhash_str) at the "interactive" limits or above. Shared by the
 * server (login) and formworkctl (user add, user passwd).
 */

#ifndef FORMWORK_PASSWORD_H
#define FORMWORK_PASSWORD_H

#include <stddef.h>

#define PASSWORD_MIN		10
#define PASSWORD_MAX		1024
#define PASSWORD_HASH_MAX	128	/* crypto_pwhash_STRBYTES */

/* Hashes pw into out; -1 when out of memory. */
int	password_hash(const char *pw, char out[PASSWORD_HASH_MAX]);

/* 1 when pw matches hash (in constant time), else 0. */
int	password_verify(const char *hash, const char *pw);

/* 1 when hash was made with lower limits than password_hash() uses now. */
int	password_needs_rehash(const char *hash);

/* A hash of a random password, to verify against for unknown users. */
const char	*password_decoy(void);

#endif
