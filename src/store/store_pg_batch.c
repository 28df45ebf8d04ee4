/*
 * store_pg_batch.c: the writer's batch on PostgreSQL, one round trip and
 * one commit for every submission in it.
 *
 * The batch is one pipeline ended by one Sync, which PostgreSQL runs as
 * one implicit transaction and answers once the commit is durable
 * (synchronous_commit on): first every plain submission (no repeat
 * mark, no unique values: most of them) in one call of
 * fw_submit_plain(), with the search text the writer made
 * (store_pg_words.c); then one fw_submit() call for each of the others,
 * which may have to undo what they wrote; then one statement adding
 * the batch's counts per review state. Plain rows go first whatever
 * their place in the batch: that order could only decide which of two
 * rows with one key is stored, and a worker never queues two of one key
 * at once (commit_in_flight). One statement for the plain rows because
 * PostgreSQL's cost per statement (its start, a search query's) was a
 * third of its cost per row (tests/bench/README.md, "Issue 15").
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <kore/kore.h>

#include "core/token.h"
#include "store/store_pg.h"

#define STORE_PG_ITEMS		16	/* claims or jobs of one submission */

/* The arrays of fw_submit_plain(), in its order. */
enum plain_col {
	PL_ID, PL_FORM, PL_KEY, PL_HASH, PL_DATA, PL_WORDS, PL_CLIENT,
	PL_SPAM, PL_CREATED, PL_SUBJECT, PL_REPLY_TO, PL_JOB_OF, PL_ACTION,
	PL_KIND, PL_TARGET, PL_MAX, PL_DELIVERY, PL_NCOLS
};

/* Array texts being written, one per column, and how many items each. */
struct plain_arrays {
	struct kore_buf	col[PL_NCOLS];
	size_t		n[PL_NCOLS];
};

static int	store_pg_send_plain(struct store_pg_conn *,
		    struct store_submission **, size_t, struct kore_buf *);
static int	store_pg_send_one(struct store_pg_conn *,
		    const struct store_submission *, struct kore_buf *);
static int	store_pg_send_counts(struct store_pg_conn *,
		    struct store_submission **, size_t, struct kore_buf *);
static void	store_pg_plain_result(struct store_submission **, size_t,
		    const PGresult *);
static void	store_pg_submit_result(struct store_submission *,
		    const PGresult *);
static void	store_pg_item(struct kore_buf *, size_t *, const char *);
static void	store_pg_item_int(struct kore_buf *, size_t *, int64_t);
static void	store_pg_array(struct kore_buf *, const char *const *,
		    size_t);
static void	store_pg_quoted(struct kore_buf *, const char *);
static void	store_pg_delivery_id(char *, size_t);

static int
store_pg_is_plain(const struct store_submission *s)
{
	return (s->repeat == NULL && s->nclaims == 0);
}

/* Nothing to lock ahead: the batch's one round trip does it all. */
enum store_result
store_pg_batch_begin(void)
{
	char		err[256];

	if (store_pg_connect(store_pg_own(), err, sizeof(err)) == -1) {
		kore_log(LOG_ERR, "store: %s", err);
		return (STORE_UNWRITABLE);
	}
	return (STORE_OK);
}

void
store_pg_submissions_insert(struct store_submission **subs, size_t n)
{
	enum store_result	r;
	size_t			i;

	if ((r = store_pg_batch_begin()) == STORE_OK) {
		store_pg_batch_commit(subs, n);
		return;
	}
	for (i = 0; i < n; i++)
		subs[i]->result = r;
}

/*
 * A batch is durable when its commit answers (synchronous_commit on):
 * nothing is left for a sync of its own.
 */
enum store_result
store_pg_batch_sync(struct store_handle *h)
{
	return (STORE_OK);
}

/*
 * Sends the batch's statements in one pipeline and one Sync, then reads
 * their results in the same order. Any failure fails the whole batch
 * (nothing of it was committed, or, if the connection broke after the
 * Sync was sent, it is not known: not acknowledged either way; the
 * senders' keys make their retries safe).
 */
void
store_pg_batch_commit(struct store_submission **subs, size_t n)
{
	struct store_pg_conn	*c = store_pg_own();
	struct kore_buf		 buf;
	enum store_result	 fail;
	PGresult		*res;
	size_t			 i, nplain, sent, got;
	int			 ok, synced;

	if (n == 0)
		return;
	kore_buf_init(&buf, 1024);
	/* The statements are prepared outside the pipeline. */
	if ((fail = store_pg_prepare(c, PG_SUBMIT_PLAIN)) != STORE_OK ||
	    (fail = store_pg_prepare(c, PG_SUBMIT)) != STORE_OK ||
	    (fail = store_pg_prepare(c, PG_COUNTS_ADD)) != STORE_OK)
		goto failed;
	fail = STORE_ERROR;
	if (!PQenterPipelineMode(c->conn)) {
		fail = store_pg_failure(c, NULL, __func__);
		goto failed;
	}
	nplain = 0;
	for (i = 0; i < n; i++)
		nplain += store_pg_is_plain(subs[i]);
	ok = nplain == 0 || store_pg_send_plain(c, subs, n, &buf);
	sent = nplain > 0;
	for (i = 0; i < n && ok; i++) {
		if (!store_pg_is_plain(subs[i])) {
			ok = store_pg_send_one(c, subs[i], &buf);
			sent++;
		}
	}
	if (ok)
		ok = store_pg_send_counts(c, subs, n, &buf);
	if (!ok || !PQpipelineSync(c->conn)) {
		fail = store_pg_failure(c, NULL, __func__);
		(void)PQexitPipelineMode(c->conn);
		goto failed;
	}

	/*
	 * Each statement's result, then NULL; the counts'; then the Sync's.
	 * got counts the statements answered: the plain call's first (if
	 * one was sent), then the others' in the batch's order.
	 */
	got = 0;
	i = 0;
	synced = 0;
	ok = 1;
	while (!synced) {
		if ((res = PQgetResult(c->conn)) == NULL) {
			if (PQstatus(c->conn) != CONNECTION_OK) {
				ok = 0;
				break;
			}
			continue;
		}
		switch (PQresultStatus(res)) {
		case PGRES_TUPLES_OK:
			if (got == 0 && nplain > 0) {
				store_pg_plain_result(subs, n, res);
			} else if (got < sent) {
				while (store_pg_is_plain(subs[i]))
					i++;
				store_pg_submit_result(subs[i++], res);
			}
			got++;
			break;
		case PGRES_PIPELINE_SYNC:
			synced = 1;
			break;
		case PGRES_PIPELINE_ABORTED:
			ok = 0;
			break;
		default:
			if (ok)
				fail = store_pg_failure(c, res, __func__);
			ok = 0;
			break;
		}
		PQclear(res);
	}
	if (c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK)
		(void)PQexitPipelineMode(c->conn);
	else
		store_pg_drop(c);
	if (!synced) {
		fail = STORE_UNWRITABLE;
		goto failed;
	}
	if (ok && got == sent + 1) {
		kore_buf_cleanup(&buf);
		return;
	}

failed:
	kore_buf_cleanup(&buf);
	for (i = 0; i < n; i++)
		subs[i]->result = fail;
}

/*
 * fw_submit_plain() with the batch's plain submissions, as arrays; each
 * job names its submission by its place among them (from 1).
 */
static int
store_pg_send_plain(struct store_pg_conn *c, struct store_submission **subs,
    size_t n, struct kore_buf *words)
{
	struct plain_arrays		 a;
	struct store_pg_params		 p;
	const struct store_submission	*s;
	const struct store_job_spec	*j;
	char				 delivery[TOKEN_ID_LEN + 5], name[16];
	size_t				 i, k, row;
	int				 ok;

	for (i = 0; i < PL_NCOLS; i++) {
		kore_buf_init(&a.col[i], i == PL_DATA ? 4096 : 256);
		kore_buf_append(&a.col[i], "{", 1);
		a.n[i] = 0;
	}
	row = 0;
	for (i = 0; i < n; i++) {
		if (!store_pg_is_plain(s = subs[i]))
			continue;
		row++;
		store_pg_item(&a.col[PL_ID], &a.n[PL_ID], s->id);
		store_pg_item(&a.col[PL_FORM], &a.n[PL_FORM], s->form);
		store_pg_item(&a.col[PL_KEY], &a.n[PL_KEY], s->key);
		store_pg_item(&a.col[PL_HASH], &a.n[PL_HASH], s->hash);
		store_pg_item(&a.col[PL_DATA], &a.n[PL_DATA], s->data);
		kore_buf_reset(words);
		store_pg_item(&a.col[PL_WORDS], &a.n[PL_WORDS],
		    store_pg_words(s->data, words) == 0 ?
		    kore_buf_stringify(words, NULL) : NULL);
		store_pg_item(&a.col[PL_CLIENT], &a.n[PL_CLIENT], s->client);
		store_pg_item_int(&a.col[PL_SPAM], &a.n[PL_SPAM], s->spam);
		store_pg_item_int(&a.col[PL_CREATED], &a.n[PL_CREATED],
		    (int64_t)s->created_ms);
		store_pg_item(&a.col[PL_SUBJECT], &a.n[PL_SUBJECT], s->subject);
		store_pg_item(&a.col[PL_REPLY_TO], &a.n[PL_REPLY_TO],
		    s->reply_to);
		for (k = 0; k < s->njobs; k++) {
			j = &s->jobs[k];
			store_pg_delivery_id(delivery, sizeof(delivery));
			store_pg_item_int(&a.col[PL_JOB_OF], &a.n[PL_JOB_OF],
			    (int64_t)row);
			store_pg_item_int(&a.col[PL_ACTION], &a.n[PL_ACTION],
			    j->action);
			store_pg_item(&a.col[PL_KIND], &a.n[PL_KIND], j->kind);
			store_pg_item(&a.col[PL_TARGET], &a.n[PL_TARGET],
			    j->target);
			store_pg_item_int(&a.col[PL_MAX], &a.n[PL_MAX],
			    j->max_attempts);
			store_pg_item(&a.col[PL_DELIVERY], &a.n[PL_DELIVERY],
			    delivery);
		}
	}

	memset(&p, 0, sizeof(p));
	for (i = 0; i < PL_NCOLS; i++) {
		kore_buf_append(&a.col[i], "}", 2);	/* with its NUL */
		store_pg_text(&p, (const char *)a.col[i].data);
	}
	(void)snprintf(name, sizeof(name), "s%d", (int)PG_SUBMIT_PLAIN);
	ok = PQsendQueryPrepared(c->conn, name, p.n, p.v, NULL, NULL, 0);
	for (i = 0; i < PL_NCOLS; i++)
		kore_buf_cleanup(&a.col[i]);
	return (ok);
}

/*
 * fw_submit() with s's 19 values; its arrays' texts are written into
 * buf, side by side, each NUL-terminated.
 */
static int
store_pg_send_one(struct store_pg_conn *c, const struct store_submission *s,
    struct kore_buf *buf)
{
	struct store_pg_params	 p;
	const char	*fields[STORE_PG_ITEMS], *values[STORE_PG_ITEMS];
	const char	*kinds[STORE_PG_ITEMS], *targets[STORE_PG_ITEMS];
	const char	*actions[STORE_PG_ITEMS], *maxes[STORE_PG_ITEMS];
	const char	*deliveries[STORE_PG_ITEMS];
	const char	*const *lists[7] = {	/* fw_submit()'s order */
		fields, values, actions, kinds, targets, maxes, deliveries
	};
	char		 delivery[STORE_PG_ITEMS][TOKEN_ID_LEN + 5];
	char		 action[STORE_PG_ITEMS][12], max[STORE_PG_ITEMS][12];
	char		 name[16];
	size_t		 i, off[7], nc, nj;

	nc = s->nclaims < STORE_PG_ITEMS ? s->nclaims : STORE_PG_ITEMS;
	nj = s->njobs < STORE_PG_ITEMS ? s->njobs : STORE_PG_ITEMS;
	for (i = 0; i < nc; i++) {
		fields[i] = s->claims[i].field;
		values[i] = s->claims[i].value;
	}
	for (i = 0; i < nj; i++) {
		store_pg_delivery_id(delivery[i], sizeof(delivery[i]));
		deliveries[i] = delivery[i];
		kinds[i] = s->jobs[i].kind;
		targets[i] = s->jobs[i].target;
		(void)snprintf(action[i], sizeof(action[i]), "%d",
		    s->jobs[i].action);
		(void)snprintf(max[i], sizeof(max[i]), "%d",
		    s->jobs[i].max_attempts);
		actions[i] = action[i];
		maxes[i] = max[i];
	}
	kore_buf_reset(buf);
	for (i = 0; i < 7; i++) {
		off[i] = buf->offset;
		store_pg_array(buf, lists[i], i < 2 ? nc : nj);
	}

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, s->id);
	store_pg_text(&p, s->form);
	store_pg_text(&p, s->key);
	store_pg_text(&p, s->hash);
	store_pg_text(&p, s->data);
	store_pg_text(&p, s->client);
	store_pg_int(&p, s->spam);
	store_pg_int(&p, (int64_t)s->created_ms);
	store_pg_text(&p, s->subject);
	store_pg_text(&p, s->reply_to);
	store_pg_text(&p, s->repeat);
	store_pg_int(&p, STORE_REPEAT_WINDOW_MS);
	/* Only now: buf's data may have moved while it grew. */
	for (i = 0; i < 7; i++)
		store_pg_text(&p, (const char *)buf->data + off[i]);
	(void)snprintf(name, sizeof(name), "s%d", (int)PG_SUBMIT);
	return (PQsendQueryPrepared(c->conn, name, p.n, p.v, NULL, NULL, 0));
}

/*
 * The batch's counts per review state: one statement over every id (the
 * rows that were not stored are not there to count).
 */
static int
store_pg_send_counts(struct store_pg_conn *c, struct store_submission **subs,
    size_t n, struct kore_buf *buf)
{
	struct store_pg_params	 p;
	char			 name[16];
	size_t			 i, count;

	kore_buf_reset(buf);
	kore_buf_append(buf, "{", 1);
	count = 0;
	for (i = 0; i < n; i++)
		store_pg_item(buf, &count, subs[i]->id);
	kore_buf_append(buf, "}", 2);
	memset(&p, 0, sizeof(p));
	store_pg_text(&p, (const char *)buf->data);
	(void)snprintf(name, sizeof(name), "s%d", (int)PG_COUNTS_ADD);
	return (PQsendQueryPrepared(c->conn, name, p.n, p.v, NULL, NULL, 0));
}

/*
 * fw_submit_plain()'s answer: a row for each plain submission that was
 * not stored (its place among them, from 1, and its key's holder); the
 * others were.
 */
static void
store_pg_plain_result(struct store_submission **subs, size_t n,
    const PGresult *res)
{
	struct store_submission	*s;
	int64_t			 o;
	size_t			 i, row;
	int			 r;

	for (i = 0; i < n; i++) {
		if (store_pg_is_plain(subs[i]))
			subs[i]->result = STORE_OK;
	}
	for (r = 0; r < PQntuples(res); r++) {
		o = store_pg_num(res, r, 0);
		s = NULL;
		for (i = 0, row = 0; i < n && s == NULL; i++) {
			if (store_pg_is_plain(subs[i]) && ++row == (size_t)o)
				s = subs[i];
		}
		if (s == NULL) {
			kore_log(LOG_ERR, "store: fw_submit_plain named row "
			    "%" PRId64 " of %zu", o, row);
			continue;
		}
		if (PQgetisnull(res, r, 1)) {
			/* Its key's holder was deleted meanwhile. */
			s->result = STORE_ERROR;
			continue;
		}
		store_pg_copy(res, r, 1, s->prior_id, sizeof(s->prior_id));
		store_pg_copy(res, r, 2, s->prior_hash, sizeof(s->prior_hash));
		s->result = STORE_KEY_USED;
	}
}

static void
store_pg_submit_result(struct store_submission *s, const PGresult *res)
{
	const char	*what;
	int		 taken;

	what = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
	if (strcmp(what, "ok") == 0) {
		s->result = STORE_OK;
	} else if (strcmp(what, "key_used") == 0 && !PQgetisnull(res, 0, 1)) {
		store_pg_copy(res, 0, 1, s->prior_id, sizeof(s->prior_id));
		store_pg_copy(res, 0, 2, s->prior_hash, sizeof(s->prior_hash));
		s->result = STORE_KEY_USED;
	} else if (strcmp(what, "unique_taken") == 0 &&
	    (taken = (int)store_pg_num(res, 0, 3)) >= 0 &&
	    (size_t)taken < s->nclaims) {
		s->taken_field = s->claims[taken].field;
		s->result = STORE_UNIQUE_TAKEN;
	} else {
		kore_log(LOG_ERR, "store: fw_submit said '%s'", what);
		s->result = STORE_ERROR;
	}
}

/* The webhook-id receivers de-duplicate on: stable per job. */
static void
store_pg_delivery_id(char *out, size_t len)
{
	(void)snprintf(out, len, "msg_");
	token_id_new(out + 4);
}

/* Appends one item to an array's text being written (NULL: SQL NULL). */
static void
store_pg_item(struct kore_buf *buf, size_t *count, const char *v)
{
	if ((*count)++ > 0)
		kore_buf_append(buf, ",", 1);
	if (v == NULL)
		kore_buf_append(buf, "NULL", 4);
	else
		store_pg_quoted(buf, v);
}

static void
store_pg_item_int(struct kore_buf *buf, size_t *count, int64_t v)
{
	if ((*count)++ > 0)
		kore_buf_append(buf, ",", 1);
	kore_buf_appendf(buf, "%" PRId64, v);
}

/*
 * Appends {"a","b",...} (PostgreSQL's array text) and a NUL.
 */
static void
store_pg_array(struct kore_buf *buf, const char *const *v, size_t n)
{
	size_t		i, count;

	kore_buf_append(buf, "{", 1);
	count = 0;
	for (i = 0; i < n; i++)
		store_pg_item(buf, &count, v[i]);
	kore_buf_append(buf, "}", 2);	/* with its NUL */
}

/* "v", with " and \ escaped, in runs between them. */
static void
store_pg_quoted(struct kore_buf *buf, const char *v)
{
	size_t		run;

	kore_buf_append(buf, "\"", 1);
	while (*v != '\0') {
		run = strcspn(v, "\"\\");
		kore_buf_append(buf, v, run);
		v += run;
		if (*v != '\0') {
			kore_buf_append(buf, "\\", 1);
			kore_buf_append(buf, v, 1);
			v++;
		}
	}
	kore_buf_append(buf, "\"", 1);
}
