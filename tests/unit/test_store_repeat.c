/*
 * test_store_repeat.c: submissions without a form instance key, as the
 * store sees them (src/store/store_sqlite.c, SPEC section 10): a second
 * one with the same repeat digest within STORE_REPEAT_WINDOW_MS is
 * STORE_KEY_USED with the first one's id, in the same batch or a later
 * one, and leaves one row; after the window, or once the first is
 * deleted, it is stored again. Also the subject and Reply-To kept beside
 * the values, and store_repeat_find().
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "store/store.h"
#include "store/store_admin.h"

#include "store_tmp.h"

#define T0	1700000000000ULL

static char	rp_db[64];
static int	rp_seq;

static void
rp_setup(void)
{
	store_tmp_open(rp_db, sizeof(rp_db), "repeat");
}

static void
rp_teardown(void)
{
	store_tmp_remove(rp_db);
}

TestSuite(store_repeat, .init = rp_setup, .fini = rp_teardown);

/* A keyless submission of form "contact" with digest repeat at t. */
static void
rp_sub(struct store_submission *s, char *key, const char *repeat,
    u_int64_t t)
{
	memset(s, 0, sizeof(*s));
	rp_seq++;
	(void)snprintf(s->id, sizeof(s->id), "id%020d", rp_seq);
	(void)snprintf(key, 32, "key%d", rp_seq);
	s->form = "contact";
	s->key = key;
	s->repeat = repeat;
	(void)snprintf(s->hash, sizeof(s->hash), "hash-of-the-values");
	s->data = "{\"name\":\"Ada\"}";
	s->client = "127.0.0.1";
	s->created_ms = t;
	s->result = STORE_ERROR;
}

static void
rp_insert(struct store_submission *s, size_t n)
{
	struct store_submission	*ptrs[8];
	size_t			 i;

	for (i = 0; i < n; i++)
		ptrs[i] = &s[i];
	store_submissions_insert(ptrs, n);
}

static int
rp_stored(const char *id)
{
	struct store_record	rec;
	enum store_result	r;

	r = store_submission_get(id, &rec);
	store_record_cleanup(&rec);
	cr_assert(r == STORE_OK || r == STORE_NOT_FOUND);
	return (r == STORE_OK);
}

Test(store_repeat, a_repeat_in_the_same_batch_is_the_first)
{
	struct store_submission	s[3];
	char			k[3][32];

	rp_sub(&s[0], k[0], "digestA", T0);
	rp_sub(&s[1], k[1], "digestA", T0 + 5);
	rp_sub(&s[2], k[2], "digestB", T0 + 6);
	rp_insert(s, 3);
	cr_assert_eq(s[0].result, STORE_OK);
	cr_assert_eq(s[1].result, STORE_KEY_USED);
	cr_assert_str_eq(s[1].prior_id, s[0].id);
	cr_assert_str_eq(s[1].prior_hash, "hash-of-the-values");
	cr_assert_eq(s[2].result, STORE_OK, "another digest is another one");
	cr_assert(rp_stored(s[0].id));
	cr_assert_not(rp_stored(s[1].id), "the repeat left a row");
	cr_assert(rp_stored(s[2].id));
}

Test(store_repeat, a_repeat_within_the_window_is_the_first_after_that)
{
	struct store_submission	a, b, c;
	char			ka[32], kb[32], kc[32];
	char			id[TOKEN_ID_LEN + 1];
	char			hash[VALIDATE_HASH_LEN + 1];

	rp_sub(&a, ka, "digestA", T0);
	rp_insert(&a, 1);
	cr_assert_eq(a.result, STORE_OK);
	rp_sub(&b, kb, "digestA", T0 + STORE_REPEAT_WINDOW_MS - 1);
	rp_insert(&b, 1);
	cr_assert_eq(b.result, STORE_KEY_USED);
	cr_assert_str_eq(b.prior_id, a.id);

	cr_assert_eq(store_repeat_find("contact", "digestA", T0 + 1000, id,
	    hash), STORE_OK);
	cr_assert_str_eq(id, a.id);
	cr_assert_eq(store_repeat_find("contact", "digestA",
	    T0 + STORE_REPEAT_WINDOW_MS, id, hash), STORE_NOT_FOUND);
	cr_assert_eq(store_repeat_find("signup", "digestA", T0 + 1000, id,
	    hash), STORE_NOT_FOUND, "a digest belongs to its form");

	/* Once the window has passed, the same values are a new one. */
	rp_sub(&c, kc, "digestA", T0 + STORE_REPEAT_WINDOW_MS);
	rp_insert(&c, 1);
	cr_assert_eq(c.result, STORE_OK);
	cr_assert(rp_stored(a.id));
	cr_assert(rp_stored(c.id));
	cr_assert_eq(store_repeat_find("contact", "digestA",
	    T0 + STORE_REPEAT_WINDOW_MS + 1, id, hash), STORE_OK);
	cr_assert_str_eq(id, c.id, "the mark moved to the new one");
}

Test(store_repeat, the_first_deleted_the_next_is_stored)
{
	struct store_submission	a, b;
	char			ka[32], kb[32];

	rp_sub(&a, ka, "digestA", T0);
	rp_insert(&a, 1);
	cr_assert_eq(a.result, STORE_OK);
	cr_assert_eq(store_submission_delete(a.id, "tester", T0 + 1),
	    STORE_OK);
	rp_sub(&b, kb, "digestA", T0 + 2);
	rp_insert(&b, 1);
	cr_assert_eq(b.result, STORE_OK);
	cr_assert(rp_stored(b.id));
}

Test(store_repeat, a_repeat_undoes_its_unique_claims_and_jobs)
{
	struct store_submission	a, b;
	struct store_claim	claim = { "email", "ada@example.com" };
	struct store_job_spec	job = { "email", "owner@example.com", 0, 5 };
	struct store_job_status	js[4];
	char			ka[32], kb[32];
	size_t			n;

	rp_sub(&a, ka, "digestA", T0);
	rp_insert(&a, 1);
	cr_assert_eq(a.result, STORE_OK);
	rp_sub(&b, kb, "digestA", T0 + 1);
	b.claims = &claim;
	b.nclaims = 1;
	b.jobs = &job;
	b.njobs = 1;
	rp_insert(&b, 1);
	cr_assert_eq(b.result, STORE_KEY_USED);
	cr_assert_eq(store_unique_check("contact", "email", "ada@example.com"),
	    STORE_OK, "the repeat's claim was kept");
	cr_assert_eq(store_job_statuses(b.id, js, 4, &n), STORE_OK);
	cr_assert_eq(n, 0, "the repeat's job was kept");
}

Test(store_repeat, subject_and_reply_to_are_kept_beside_the_values)
{
	struct store_submission	a, b;
	struct store_record	rec;
	char			ka[32], kb[32];

	rp_sub(&a, ka, NULL, T0);
	a.subject = "Hello from the site";
	a.reply_to = "ada@example.com";
	rp_sub(&b, kb, NULL, T0 + 1);
	rp_insert(&a, 1);
	rp_insert(&b, 1);
	cr_assert_eq(a.result, STORE_OK);
	cr_assert_eq(b.result, STORE_OK);

	cr_assert_eq(store_submission_get(a.id, &rec), STORE_OK);
	cr_assert_str_eq(rec.subject, "Hello from the site");
	cr_assert_str_eq(rec.reply_to, "ada@example.com");
	cr_assert_str_eq(rec.data, "{\"name\":\"Ada\"}");
	store_record_cleanup(&rec);
	cr_assert_eq(store_submission_get(b.id, &rec), STORE_OK);
	cr_assert_null(rec.subject);
	cr_assert_str_eq(rec.reply_to, "");
	store_record_cleanup(&rec);
}

/*
 * The counts per review state the desk shows are added once per batch
 * (migration 6): what a batch undid (a repeat) or never wrote (a used
 * key) is not counted, a spam one is counted as spam, and a later batch
 * adds to them.
 */
Test(store_repeat, the_counts_hold_what_each_batch_stored)
{
	struct store_submission	s[4], t;
	char			k[4][32], kt[32];
	u_int64_t		counts[STORE_REVIEW_STATES];

	rp_sub(&s[0], k[0], "digestA", T0);
	rp_sub(&s[1], k[1], "digestA", T0 + 1);		/* its repeat */
	rp_sub(&s[2], k[2], NULL, T0 + 2);
	rp_sub(&s[3], k[3], NULL, T0 + 3);
	s[3].spam = 1;
	rp_insert(s, 4);
	cr_assert_eq(s[1].result, STORE_KEY_USED);

	rp_sub(&t, kt, NULL, T0 + 4);
	t.key = s[2].key;					/* a used key */
	rp_insert(&t, 1);
	cr_assert_eq(t.result, STORE_KEY_USED);

	cr_assert_eq(store_review_counts("contact", counts), STORE_OK);
	cr_assert_eq(counts[0], 2, "new: %llu", (unsigned long long)counts[0]);
	cr_assert_eq(counts[3], 1, "spam: %llu",
	    (unsigned long long)counts[3]);

	rp_sub(&t, kt, NULL, T0 + 5);
	rp_insert(&t, 1);
	cr_assert_eq(t.result, STORE_OK);
	cr_assert_eq(store_review_counts(NULL, counts), STORE_OK);
	cr_assert_eq(counts[0], 3, "new, all forms: %llu",
	    (unsigned long long)counts[0]);
}
