/*
 * test_metrics.c: the durable-write figures of /metrics
 * (src/worker/metrics.c): which bucket a submission's time falls in, and
 * that tallies added from several threads' batches sum in the text.
 */

#include <sys/types.h>

#include <string.h>

#include <criterion/criterion.h>

#include <kore/kore.h>

#include "worker/metrics.h"
#include "store_tmp.h"

static char	db_path[64];

static void
setup(void)
{
	char	err[256];

	cr_assert_eq(metrics_init(err, sizeof(err)), 0, "%s", err);
	store_tmp_open(db_path, sizeof(db_path), "metrics");
}

static void
teardown(void)
{
	store_tmp_remove(db_path);
}

/* One submission whose phases sum to total_us (all of it in "write"). */
static void
tally_one(struct metrics_commit_tally *t, u_int64_t total_us)
{
	u_int64_t	us[METRICS_COMMIT_PHASES] = { 0 };

	us[METRICS_COMMIT_WRITE] = total_us;
	metrics_commit_tally(t, us);
}

/* The whole of /metrics' text. */
static char *
text(void)
{
	struct kore_buf	*b;
	char		*s;

	b = kore_buf_alloc(4096);
	metrics_text(b);
	s = kore_strdup(kore_buf_stringify(b, NULL));
	kore_buf_free(b);
	return (s);
}

static void
assert_line(const char *all, const char *line)
{
	char	want[256];

	(void)snprintf(want, sizeof(want), "\n%s\n", line);
	cr_assert_not_null(strstr(all, want), "no line '%s' in:\n%s", line,
	    all);
}

TestSuite(metrics, .init = setup, .fini = teardown);

Test(metrics, a_bucket_bound_is_inclusive)
{
	struct metrics_commit_tally	t;

	memset(&t, 0, sizeof(t));
	tally_one(&t, 1000);		/* exactly 1 ms: le="0.001" */
	tally_one(&t, 1001);		/* just over: le="0.0025" */
	tally_one(&t, 2500000);		/* the last bound */
	tally_one(&t, 2500001);		/* beyond every bound: +Inf */
	cr_assert_eq(t.le[0], 1);
	cr_assert_eq(t.le[1], 1);
	cr_assert_eq(t.le[METRICS_COMMIT_BUCKETS - 1], 1);
	cr_assert_eq(t.le[METRICS_COMMIT_BUCKETS], 1);
	cr_assert_eq(t.count, 4);
	cr_assert_eq(t.sum_us, 1000 + 1001 + 2500000 + 2500001);
	cr_assert_eq(t.phase_us[METRICS_COMMIT_WRITE], t.sum_us);
	cr_assert_eq(t.phase_us[METRICS_COMMIT_WAIT], 0);
}

Test(metrics, tallies_add_up_in_the_text)
{
	struct metrics_commit_tally	a, b;
	u_int64_t			us[METRICS_COMMIT_PHASES];
	char				*s;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	us[METRICS_COMMIT_WAIT] = 300;
	us[METRICS_COMMIT_WRITE] = 700;
	us[METRICS_COMMIT_SYNC] = 1500;
	us[METRICS_COMMIT_ANSWER] = 500;
	metrics_commit_tally(&a, us);		/* 3 ms */
	tally_one(&b, 800);			/* 0.8 ms */
	tally_one(&b, 40000);			/* 40 ms */
	metrics_commit_add(&a);
	metrics_commit_add(&b);
	metrics_commit_batch(2);
	metrics_commit_batch(1);

	s = text();
	assert_line(s, "formwork_commit_batches_total 2");
	assert_line(s, "formwork_commit_batched_total 3");
	assert_line(s, "formwork_commit_phase_seconds_total{phase=\"wait\"} "
	    "0.000300");
	assert_line(s, "formwork_commit_phase_seconds_total{phase=\"write\"} "
	    "0.041500");
	assert_line(s, "formwork_commit_phase_seconds_total{phase=\"sync\"} "
	    "0.001500");
	assert_line(s, "formwork_commit_phase_seconds_total{phase=\"answer\"} "
	    "0.000500");
	assert_line(s, "formwork_commit_seconds_bucket{le=\"0.001\"} 1");
	assert_line(s, "formwork_commit_seconds_bucket{le=\"0.0025\"} 1");
	assert_line(s, "formwork_commit_seconds_bucket{le=\"0.005\"} 2");
	assert_line(s, "formwork_commit_seconds_bucket{le=\"0.025\"} 2");
	assert_line(s, "formwork_commit_seconds_bucket{le=\"0.05\"} 3");
	assert_line(s, "formwork_commit_seconds_bucket{le=\"+Inf\"} 3");
	assert_line(s, "formwork_commit_seconds_sum 0.043800");
	assert_line(s, "formwork_commit_seconds_count 3");
	kore_free(s);
}
