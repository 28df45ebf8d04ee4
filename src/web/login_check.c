/*
 * login_check.c: the password-checking thread (see login_check.h), on a
 * thread_queue.h queue of its own.
 */

#include <sys/types.h>

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>
#include <sodium.h>

#include "web/login_check.h"
#include "web/thread_queue.h"

static struct thread_queue	check_queue;

static void	login_check_thread(struct kore_task *);
static void	login_check_free(struct thread_job *);

void
login_check_init(void)
{
	thread_queue_start(&check_queue, "password checker", 1,
	    login_check_thread);
}

void
login_check_stop(void)
{
	thread_queue_stop(&check_queue);
}

struct login_check *
login_check_new(void)
{
	struct login_check	*c;

	c = kore_calloc(1, sizeof(*c));
	c->job.free = login_check_free;
	return (c);
}

void
login_check_enqueue(struct login_check *c, struct http_request *req)
{
	thread_queue_add(&check_queue, &c->job, req);
}

void
login_check_release(struct login_check *c)
{
	if (c != NULL)
		thread_job_release(&c->job);
}

static void
login_check_free(struct thread_job *job)
{
	struct login_check	*c = (struct login_check *)job;

	sodium_memzero(c->password, sizeof(c->password));
	kore_free(c);
}

/*
 * The thread: checks one password at a time, in arrival order, until the
 * worker stops and none is left.
 */
static void
login_check_thread(struct kore_task *t)
{
	struct login_check	*c;

	while ((c = (struct login_check *)thread_queue_next(&check_queue)) !=
	    NULL) {
		c->ok = password_verify(c->pwhash, c->password);
		c->rehash[0] = '\0';
		if (c->ok && password_needs_rehash(c->pwhash) &&
		    password_hash(c->password, c->rehash) == -1)
			c->rehash[0] = '\0';
		sodium_memzero(c->password, sizeof(c->password));
		thread_queue_finish(&check_queue, t, &c->job);
	}
}
