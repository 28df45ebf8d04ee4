/*
 * test_form_answers.c: tests for src/core/form_answers.c, the list of
 * labels and values that the result page, the desk and the email action
 * show for a stored submission. One form with a field of each shape;
 * each case is the stored values and the list a reader should see.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include <kore/kore.h>

#include "core/form_answers.h"
#include "core/forms.h"

#define FA_FORM								\
	"{\"slug\": \"t\", \"title\": \"T\", \"success_message\": \"Ok\","	\
	" \"fields\": ["							\
	"{\"name\": \"name\", \"type\": \"text\", \"label\": \"Name\"},"	\
	"{\"name\": \"plan\", \"type\": \"radio\", \"label\": \"Plan\","	\
	" \"options\": [{\"value\": \"pro\", \"label\": \"Pro plan\"}]},"	\
	"{\"name\": \"terms\", \"type\": \"checkbox\", \"label\": \"Terms\"},"	\
	"{\"name\": \"days\", \"type\": \"checkbox\", \"label\": \"Days\","	\
	" \"options\": [{\"value\": \"mo\", \"label\": \"Monday\"},"	\
	" {\"value\": \"tu\", \"label\": \"Tuesday\"}]},"			\
	"{\"name\": \"src\", \"type\": \"hidden\", \"label\": \"Src\","	\
	" \"value\": \"x\"}]}"

struct fa_case {
	const char	*what;
	const char	*data;
	const char	*want;	/* "label=value;" per answer, in order */
};

static const struct fa_case fa_cases[] = {
	{ "a text value shows as written",
	  "{\"name\": \"Ada\"}", "Name=Ada;" },
	{ "an option shows as its label",
	  "{\"plan\": \"pro\"}", "Plan=Pro plan;" },
	{ "a value that is no option shows as it is",
	  "{\"plan\": \"gold\"}", "Plan=gold;" },
	{ "a ticked checkbox shows as Yes",
	  "{\"terms\": \"on\"}", "Terms=Yes;" },
	{ "several options join with a comma, in the stored order",
	  "{\"days\": [\"tu\", \"mo\"]}", "Days=Tuesday, Monday;" },
	{ "fields come in the form's order, whatever the stored order",
	  "{\"plan\": \"pro\", \"name\": \"Ada\"}", "Name=Ada;Plan=Pro plan;" },
	{ "hidden fields, missing and empty values are left out",
	  "{\"src\": \"x\", \"days\": []}", "" },
	{ "unreadable data gives an empty list",
	  "{\"name\": ", "" },
};

Test(form_answers, every_shape_of_value_reads_as_a_person_expects)
{
	struct kore_json_item	*answers, *a, *label, *value;
	struct form		*form;
	char			 err[256], got[512];
	size_t			 i, off;

	form = form_parse("conf/forms/t.json", FA_FORM, strlen(FA_FORM),
	    err, sizeof(err));
	cr_assert_not_null(form, "%s", err);
	for (i = 0; i < sizeof(fa_cases) / sizeof(fa_cases[0]); i++) {
		answers = form_answers_add(NULL, form, fa_cases[i].data, "id1");
		got[0] = '\0';
		off = 0;
		TAILQ_FOREACH(a, &answers->data.items, list) {
			label = kore_json_find_string(a, "label");
			value = kore_json_find_string(a, "value");
			cr_assert(label != NULL && value != NULL);
			off += (size_t)snprintf(got + off, sizeof(got) - off,
			    "%s=%s;", label->data.string, value->data.string);
			cr_assert_lt(off, sizeof(got));
		}
		cr_expect_str_eq(got, fa_cases[i].want, "%s: got \"%s\"",
		    fa_cases[i].what, got);
		kore_json_item_free(answers);
	}
	form_free(form);
}

Test(form_answers, the_list_goes_into_its_parent_as_answers)
{
	struct kore_json_item	*ctx, *answers;
	struct form		*form;
	char			 err[256];

	form = form_parse("conf/forms/t.json", FA_FORM, strlen(FA_FORM),
	    err, sizeof(err));
	cr_assert_not_null(form, "%s", err);
	ctx = kore_json_create_object(NULL, NULL);
	answers = form_answers_add(ctx, form, "{\"name\": \"Ada\"}", "id1");
	cr_assert_eq(kore_json_find_array(ctx, "answers"), answers);
	kore_json_item_free(ctx);
	form_free(form);
}
