/*
 * commit.h: group commit. Each worker has one writer thread and one
 * syncer thread (Kore tasks), each with its own database connection.
 * Handlers queue submissions and put their request to sleep; the writer
 * commits everything queued so far in one transaction and goes on to the
 * next, while the syncer makes what was committed durable (one fsync for
 * every batch committed since the last) and then wakes the requests,
 * which answer 303 only now that their submission is on disk.
 */

#ifndef FORMWORK_COMMIT_H
#define FORMWORK_COMMIT_H

#include <sys/queue.h>

#include "core/forms.h"
#include "store/store.h"

#define COMMIT_MAX_CLAIMS	8
#define COMMIT_CLAIM_MAX	256
#define COMMIT_MAX_JOBS		FORM_MAX_ACTIONS

struct http_request;

/* One queued submission; it owns every byte the writer reads. */
struct commit_item {
	struct store_submission	 sub;
	struct store_claim	 claims[COMMIT_MAX_CLAIMS];
	struct store_job_spec	 jobs[COMMIT_MAX_JOBS];
	char			 values[COMMIT_MAX_CLAIMS][COMMIT_CLAIM_MAX];
	char			 form[64];
	char			 key[TOKEN_ID_LEN + 1];
	char			 repeat[TOKEN_ID_LEN + 1];	/* "": keyed */
	char			 client[64];
	char			*data;
	char			*subject;		/* or NULL */
	char			 reply_to[256];

	struct http_request	*req;	/* NULL once the request is gone */
	int			 done;
	/* util_mono_us() when queued, taken into a batch, committed, synced */
	u_int64_t		 at[4];
	TAILQ_ENTRY(commit_item) list;		/* the threads' lists */
	TAILQ_ENTRY(commit_item) plist;		/* in flight, event loop */
};

/* Starts this worker's writer and syncer threads. */
void	commit_init(void);

/*
 * Worker shutdown: the writer commits what is queued, the syncer syncs
 * it, each closes its connection and ends; returns once they have (or
 * after a few seconds each).
 */
void	commit_stop(void);

/*
 * 1 when a submission with (form, key) is queued but not yet on disk;
 * key is a submission's form instance key, or for one without a key its
 * repeat digest (store_submission.repeat).
 */
int	commit_in_flight(const char *form, const char *key);

/* A new, empty item; hand it to commit_enqueue(). */
struct commit_item	*commit_item_new(void);

/* Queues item for req and puts req to sleep until it is committed. */
void	commit_enqueue(struct commit_item *, struct http_request *);

/*
 * The request is done with item (it has read the result, or it is being
 * freed before that): the item is freed now or, if a thread still has
 * it, as soon as the syncer has handed it back.
 */
void	commit_item_release(struct commit_item *);

#endif
