/*
 * form_answers.c: turns a stored submission's JSON values into the list
 * of labels and values people read (see form_answers.h). It only reads
 * the form and the data; no store types and no Kore server, so the
 * queue's email action and the web pages share it without either
 * including the other.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <string.h>

#include <kore/kore.h>

#include "core/form_answers.h"
#include "core/forms.h"

static const char	*form_answers_option_label(const struct form_field *,
			    const char *);

struct kore_json_item *
form_answers_add(struct kore_json_item *parent, const struct form *form,
    const char *data, const char *id)
{
	struct kore_json	 j;
	struct kore_json_item	*answers, *a, *v, *it;
	const struct form_field	*fld;
	struct kore_buf		 buf;
	size_t			 i, len;
	char			*s;

	answers = kore_json_create_array(parent, "answers");
	kore_json_init(&j, data, strlen(data));
	if (!kore_json_parse(&j)) {
		kore_log(LOG_ERR, "%s: %s: stored data unreadable: %s",
		    __func__, id, kore_json_strerror(&j));
		kore_json_cleanup(&j);
		return (answers);
	}

	kore_buf_init(&buf, 128);
	for (i = 0; i < form->nfields; i++) {
		fld = &form->fields[i];
		if (fld->type == FIELD_HIDDEN)
			continue;
		kore_buf_reset(&buf);
		v = NULL;
		TAILQ_FOREACH(it, &j.root->data.items, list) {
			if (strcmp(it->name, fld->name) == 0) {
				v = it;
				break;
			}
		}
		if (v == NULL)
			continue;
		if (v->type == KORE_JSON_TYPE_STRING) {
			if (fld->type == FIELD_CHECKBOX)
				kore_buf_appendf(&buf, "Yes");
			else
				kore_buf_appendf(&buf, "%s",
				    form_answers_option_label(fld,
				    v->data.string));
		} else if (v->type == KORE_JSON_TYPE_ARRAY) {
			TAILQ_FOREACH(it, &v->data.items, list) {
				if (it->type != KORE_JSON_TYPE_STRING)
					continue;
				kore_buf_appendf(&buf, "%s%s",
				    buf.offset ? ", " : "",
				    form_answers_option_label(fld,
				    it->data.string));
			}
		}
		if (buf.offset == 0)
			continue;
		a = kore_json_create_object(answers, NULL);
		kore_json_create_string(a, "label", fld->label);
		s = kore_buf_stringify(&buf, &len);
		kore_json_create_string(a, "value", s);
	}
	kore_buf_cleanup(&buf);
	kore_json_cleanup(&j);
	return (answers);
}

/* An option's label for its value (the value itself if none matches). */
static const char *
form_answers_option_label(const struct form_field *fld, const char *value)
{
	size_t		i;

	for (i = 0; i < fld->noptions; i++) {
		if (strcmp(fld->options[i].value, value) == 0)
			return (fld->options[i].label);
	}
	return (value);
}
