/*
 * test_password.c: tests for admin password hashes (src/core/password.c):
 * argon2id strings that verify only the right password, and a decoy
 * that verifies nothing a user could type.
 */

#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "core/password.h"

static void
pw_setup(void)
{
	cr_assert_neq(sodium_init(), -1);
}

Test(password, hash_is_argon2id_and_verifies, .init = pw_setup)
{
	char	h[PASSWORD_HASH_MAX];

	cr_assert_eq(password_hash("correct horse battery", h), 0);
	cr_assert(strncmp(h, "$argon2id$", 10) == 0, "got %s", h);
	cr_assert(password_verify(h, "correct horse battery"));
	cr_assert_not(password_verify(h, "correct horse batterY"));
	cr_assert_not(password_verify(h, ""));
	cr_assert_not(password_needs_rehash(h));
}

Test(password, same_password_hashes_differently, .init = pw_setup)
{
	char	a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];

	cr_assert_eq(password_hash("same password here", a), 0);
	cr_assert_eq(password_hash("same password here", b), 0);
	cr_assert_str_neq(a, b);	/* salted */
}

Test(password, weaker_hash_needs_rehash, .init = pw_setup)
{
	char	h[crypto_pwhash_STRBYTES];

	cr_assert_eq(crypto_pwhash_str(h, "old password", 12,
	    crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN), 0);
	cr_assert(password_verify(h, "old password"));
	cr_assert(password_needs_rehash(h));
}

Test(password, garbage_hash_verifies_nothing, .init = pw_setup)
{
	cr_assert_not(password_verify("", "x"));
	cr_assert_not(password_verify("$argon2id$v=19$m=1,t=1,p=1$xx$yy",
	    "x"));
}

Test(password, decoy_is_a_real_hash_of_nothing_typed, .init = pw_setup)
{
	const char	*d = password_decoy();

	cr_assert(strncmp(d, "$argon2id$", 10) == 0);
	cr_assert_str_eq(d, password_decoy());	/* made once */
	cr_assert_not(password_verify(d, ""));
	cr_assert_not(password_verify(d, "password1234"));
}
