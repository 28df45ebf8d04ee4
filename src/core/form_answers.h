/*
 * form_answers.h: a stored submission's values as people read them, the
 * same list on the result page, in the desk and in the email action.
 */

#ifndef FORMWORK_FORM_ANSWERS_H
#define FORMWORK_FORM_ANSWERS_H

struct form;
struct kore_json_item;

/*
 * Adds the array "answers" to parent (an object, or NULL for an array of
 * its own) and returns it: one {"label", "value"} object per visible
 * field of form that has a value in data (the stored JSON object of
 * values), in the form's order; an option shows as its label, a ticked
 * checkbox as "Yes", several as a list joined with ", ". When data is
 * unreadable the array stays empty and the problem is logged, naming the
 * submission id. Free a parentless array with kore_json_item_free().
 */
struct kore_json_item	*form_answers_add(struct kore_json_item *parent,
			    const struct form *, const char *data,
			    const char *id);

#endif
