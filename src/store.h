/*
 * store.h: Formwork's storage interface, in the app's own nouns.
 *
 * store_sqlite.c is the first implementation (one SQLite file in WAL
 * mode); a PostgreSQL one can implement the same calls for several nodes.
 * Each Kore worker opens its own connection, lazily, after fork.
 *
 * Writes go through store_submissions_insert(), which takes a batch: all
 * of it is committed in one transaction (one fsync), each submission with
 * its own outcome, so a caller that gathers concurrent requests gets group
 * commit for free.
 */

#ifndef FORMWORK_STORE_H
#define FORMWORK_STORE_H

#include <sys/types.h>

#include <stddef.h>

#include "token.h"
#include "validate.h"

enum store_result {
	STORE_OK = 0,
	STORE_KEY_USED,		/* this form instance was already stored */
	STORE_UNIQUE_TAKEN,	/* a unique field's value is in use */
	STORE_NOT_FOUND,
	STORE_BUSY,		/* the database stayed locked: retry later */
	STORE_ERROR,
};

struct store_claim {
	const char		*field;
	const char		*value;		/* normalised (lowercase) */
};

/* A submission to insert; the store fills in the outcome fields. */
struct store_submission {
	char			 id[TOKEN_ID_LEN + 1];
	const char		*form;
	const char		*key;
	char			 hash[VALIDATE_HASH_LEN + 1];
	const char		*data;		/* JSON object of the values */
	const char		*client;
	int			 spam;
	u_int64_t		 created_ms;
	struct store_claim	*claims;
	size_t			 nclaims;

	enum store_result	 result;
	char			 prior_id[TOKEN_ID_LEN + 1];	/* KEY_USED */
	char			 prior_hash[VALIDATE_HASH_LEN + 1];
	const char		*taken_field;		/* UNIQUE_TAKEN */
};

/* A stored submission, as the result page needs it. */
struct store_record {
	char			 id[TOKEN_ID_LEN + 1];
	char			 form[64];
	char			*data;		/* kore_free it */
	int			 spam;
	int			 version;
	u_int64_t		 created_ms;
};

/*
 * Creates the database file if needed and brings its schema up to date.
 * Called once by the parent before the workers start; it closes the
 * connection again so none is shared across fork.
 */
int	store_init(const char *path, char *err, size_t errlen);

/* Remembers the path the workers' connections open. */
void	store_configure(const char *path);

/*
 * Per worker, at start: opens its two connections (event loop and writer
 * thread) before any client can use up the worker's file descriptors.
 * A connection that fails here is retried on first use.
 */
void	store_worker_open(void);
void	store_close(void);

/* 1 when the store answers a trivial query. */
int	store_ping(void);

/* Inserts n submissions in one transaction; sets each one's result. */
void	store_submissions_insert(struct store_submission **, size_t n);

/* Looks up the submission stored for a form instance. */
enum store_result	store_key_find(const char *form, const char *key,
			    char id[TOKEN_ID_LEN + 1],
			    char hash[VALIDATE_HASH_LEN + 1]);

/* STORE_UNIQUE_TAKEN when value is already claimed for form.field. */
enum store_result	store_unique_check(const char *form,
			    const char *field, const char *value);

/* Number of submissions from client since since_ms (for rate limits). */
enum store_result	store_client_count(const char *client,
			    u_int64_t since_ms, u_int64_t *count);

enum store_result	store_submission_get(const char *id,
			    struct store_record *);
void			store_record_cleanup(struct store_record *);

#endif
