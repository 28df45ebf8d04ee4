/*
 * password.c: argon2id password hashes (libsodium). The limits can only
 * rise; a login with a hash made under lower ones stores a new hash.
 */

#include <string.h>

#include <sodium.h>

#include "core/password.h"

#define PASSWORD_OPSLIMIT	crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PASSWORD_MEMLIMIT	crypto_pwhash_MEMLIMIT_INTERACTIVE

int
password_hash(const char *pw, char out[PASSWORD_HASH_MAX])
{
	return (crypto_pwhash_str(out, pw, strlen(pw), PASSWORD_OPSLIMIT,
	    PASSWORD_MEMLIMIT) == 0 ? 0 : -1);
}

int
password_verify(const char *hash, const char *pw)
{
	return (crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0);
}

int
password_needs_rehash(const char *hash)
{
	return (crypto_pwhash_str_needs_rehash(hash, PASSWORD_OPSLIMIT,
	    PASSWORD_MEMLIMIT) != 0);
}

/*
 * Verifying a login for a name that does not exist costs as much as for
 * one that does, so the answer's timing does not tell which names exist.
 */
const char *
password_decoy(void)
{
	static char	decoy[PASSWORD_HASH_MAX];
	unsigned char	raw[24];
	char		pw[49];

	if (decoy[0] == '\0') {
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(pw, sizeof(pw), raw, sizeof(raw));
		if (password_hash(pw, decoy) == -1)
			decoy[0] = '\0';
	}
	return (decoy);
}
