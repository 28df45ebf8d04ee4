/*
 * test_config.c: tests for the settings' parsers (src/core/config.c) that
 * take a retry schedule: seconds with up to three decimals, within 10 ms
 * and a week, and the default schedule that spans a day (SPEC 11).
 */

#include <sys/types.h>

#include <string.h>

#include <criterion/criterion.h>

#include "core/config.h"

#include "table.h"

static const struct {
	const char	*s;
	long long	 ms;	/* -1: refused */
} ct_delays[] = {
	{ "5", 5000 },
	{ "0.25", 250 },
	{ "0.01", 10 },
	{ "604800", 604800000LL },
	{ "1.5", 1500 },
	{ "0.001", -1 },
	{ "0.009", -1 },
	{ "604800.001", -1 },
	{ "0", -1 },
	{ "", -1 },
	{ ".5", -1 },
	{ "5.", -1 },
	{ "1.2345", -1 },
	{ "-1", -1 },
	{ "1e3", -1 },
	{ "5s", -1 },
	{ "99999999999999999999", -1 },
};

TABLE_TEST(config, delay_parse, ct_delays);

ParameterizedTest(size_t *i, config, delay_parse)
{
	u_int64_t	ms;
	int		rc;

	ms = 0;
	rc = config_delay_parse(ct_delays[*i].s, strlen(ct_delays[*i].s), &ms);
	if (ct_delays[*i].ms == -1) {
		cr_assert_eq(rc, -1, "row %zu: '%s' accepted as %llu", *i,
		    ct_delays[*i].s, (unsigned long long)ms);
	} else {
		cr_assert_eq(rc, 0, "row %zu: '%s' refused", *i,
		    ct_delays[*i].s);
		cr_assert_eq(ms, (u_int64_t)ct_delays[*i].ms, "row %zu", *i);
	}
}

Test(config, default_schedule_spans_a_day)
{
	const u_int64_t	*s;
	u_int64_t	 sum;
	size_t		 n, i;

	s = config_retry(&n);
	cr_assert_eq(n, 8);
	cr_expect_eq(s[0], 5000);
	cr_expect_eq(s[n - 1], 36000 * 1000);
	for (sum = 0, i = 0; i < n; i++)
		sum += s[i];
	cr_expect_geq(sum, 86400 * 1000ULL);
}
