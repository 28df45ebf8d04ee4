/*
 * admin_view.c: see admin_view.h.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include "desk/admin_view.h"
#include "core/forms.h"
#include "store/store_admin.h"

#define ADMIN_SUMMARY_MAX	120

static void	admin_view_summary(const char *, struct kore_buf *);

void
admin_view_row(struct kore_json_item *arr, const struct store_row *row)
{
	struct kore_json_item	*o;
	struct kore_buf		 sum;
	struct form		*form;
	char			 when[64];

	o = kore_json_create_object(arr, NULL);
	kore_json_create_string(o, "id", row->id);
	form = forms_find(forms_loaded(), row->form);
	kore_json_create_string(o, "form", row->form);
	kore_json_create_string(o, "form_title", form ? form->title :
	    row->form);
	admin_view_when(row->created_ms, when, sizeof(when));
	kore_json_create_string(o, "received", when);
	kore_json_create_string(o, "review", row->review);
	kore_json_create_string(o, "actions", row->actions);
	kore_buf_init(&sum, ADMIN_SUMMARY_MAX + 8);
	admin_view_summary(row->data, &sum);
	kore_json_create_string(o, "summary", kore_buf_stringify(&sum, NULL));
	kore_buf_cleanup(&sum);
}

void
admin_view_when(u_int64_t ms, char *out, size_t len)
{
	struct tm	tm;
	time_t		t;

	t = (time_t)(ms / 1000);
	(void)gmtime_r(&t, &tm);
	(void)strftime(out, len, "%Y-%m-%d %H:%M UTC", &tm);
}

int
admin_view_value(const struct kore_json_item *values, const char *name,
    struct kore_buf *out)
{
	const struct kore_json_item	*v, *it;
	size_t				 start;

	TAILQ_FOREACH(v, &values->data.items, list) {
		if (strcmp(v->name, name) == 0)
			break;
	}
	if (v == NULL)
		return (0);
	if (v->type == KORE_JSON_TYPE_STRING) {
		kore_buf_appendf(out, "%s", v->data.string);
	} else if (v->type == KORE_JSON_TYPE_ARRAY) {
		start = out->offset;
		TAILQ_FOREACH(it, &v->data.items, list) {
			if (it->type == KORE_JSON_TYPE_STRING)
				kore_buf_appendf(out, "%s%s",
				    out->offset > start ? ", " : "",
				    it->data.string);
		}
	}
	return (1);
}

/*
 * The first values, " · "-separated, cut at ADMIN_SUMMARY_MAX bytes on a
 * UTF-8 character boundary.
 */
static void
admin_view_summary(const char *data, struct kore_buf *out)
{
	struct kore_json	 j;
	struct kore_json_item	*it;
	size_t			 cut;

	kore_json_init(&j, data, strlen(data));
	if (!kore_json_parse(&j)) {
		kore_json_cleanup(&j);
		return;
	}
	TAILQ_FOREACH(it, &j.root->data.items, list) {
		if (it->type != KORE_JSON_TYPE_STRING ||
		    it->data.string[0] == '\0')
			continue;
		kore_buf_appendf(out, "%s%s", out->offset ? " \xc2\xb7 " : "",
		    it->data.string);
		if (out->offset > ADMIN_SUMMARY_MAX)
			break;
	}
	kore_json_cleanup(&j);
	if (out->offset > ADMIN_SUMMARY_MAX) {
		cut = ADMIN_SUMMARY_MAX;
		while (cut > 0 && (out->data[cut] & 0xc0) == 0x80)
			cut--;
		out->offset = cut;
		kore_buf_appendf(out, "\xe2\x80\xa6");
	}
}
