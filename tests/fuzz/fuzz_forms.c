/*
 * fuzz_forms.c: libFuzzer target for the form definition loader
 * (form_parse in src/core/forms.c) on arbitrary bytes, through Kore's JSON
 * parser. Definitions are trusted files, but a typo in one must give a
 * message, never a crash at start-up.
 *
 * The path is fixed as conf/forms/x.json, so inputs whose slug is "x" get
 * past the slug check into the field and action rules (the seeds do).
 *
 * Inputs with more than one "{<digit>" are skipped: JSON never writes a
 * digit after '{', so these are regex bounds in a "pattern", and glibc's
 * regcomp copies the expression once per repetition, so nested bounds
 * ("(a{999}){999}") take seconds and gigabytes. That is glibc's cost for a
 * trusted file, not a Formwork bug, and would only make runs flaky.
 */

#include <sys/types.h>

#include <string.h>

#include <kore/kore.h>

#include "core/forms.h"

#include "fuzz.h"

#define FUZZ_PATH	"conf/forms/x.json"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return (0);
}

/* What a form that loaded promises to the rest of the app. */
static void
fuzz_form_check(struct form *f)
{
	struct form_field	*fld;
	size_t			 i, k;

	FUZZ_ASSERT(strcmp(f->slug, "x") == 0, "slug matches the file");
	FUZZ_ASSERT(f->title != NULL && f->success_message != NULL,
	    "required strings");
	FUZZ_ASSERT(f->nfields >= 1, "at least one field");
	FUZZ_ASSERT(strcmp(f->path, FUZZ_PATH) == 0, "path kept");
	for (i = 0; i < f->nfields; i++) {
		fld = &f->fields[i];
		FUZZ_ASSERT(fld->name != NULL && fld->label != NULL,
		    "name and label");
		FUZZ_ASSERT(form_field_find(f, fld->name) == fld,
		    "names are unique");
		FUZZ_ASSERT(form_field_type_name(fld->type) != NULL,
		    "a known type");
		if (fld->type == FIELD_HIDDEN || fld->type == FIELD_CHECKBOX)
			FUZZ_ASSERT(fld->value != NULL, "a default value");
		for (k = 0; k < fld->noptions; k++)
			FUZZ_ASSERT(fld->options[k].value[0] != '\0',
			    "option values are not empty");
	}
	for (i = 0; i < f->nactions; i++) {
		FUZZ_ASSERT(f->actions[i].type != NULL, "action type");
		FUZZ_ASSERT(f->actions[i].max_attempts >= 1 &&
		    f->actions[i].max_attempts <= 50, "max_attempts range");
	}
}

/* Counts '{' followed by a digit (see the top of the file). */
static size_t
fuzz_regex_bounds(const uint8_t *data, size_t size)
{
	size_t		i, n;

	n = 0;
	for (i = 0; i + 1 < size; i++) {
		if (data[i] == '{' && data[i + 1] >= '0' && data[i + 1] <= '9')
			n++;
	}
	return (n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form	*f;
	char		 err[512];

	if (fuzz_regex_bounds(data, size) > 1)
		return (0);
	err[0] = '\0';
	f = form_parse(FUZZ_PATH, (const char *)data, size, err, sizeof(err));
	if (f == NULL) {
		/* Every failure names the file, so start-up says where. */
		FUZZ_ASSERT(strncmp(err, FUZZ_PATH ": ",
		    sizeof(FUZZ_PATH ": ") - 1) == 0, "message names the file");
		return (0);
	}
	fuzz_form_check(f);
	form_free(f);

	return (0);
}
