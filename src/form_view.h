/*
 * form_view.h: builds the template contexts of the form page (fresh, or
 * again with the submitted values and messages) and of the result page.
 */

#ifndef FORMWORK_FORM_VIEW_H
#define FORMWORK_FORM_VIEW_H

struct form;
struct form_input;
struct kore_json_item;
struct store_record;

/*
 * Context for templates/form.html. in may be NULL (a fresh form); key and
 * csrf are the form instance's hidden values.
 */
struct kore_json_item	*form_view_form(struct form *,
			    const struct form_input *, const char *key,
			    const char *csrf);

/* Context for templates/result.html, from the stored JSON values. */
struct kore_json_item	*form_view_result(struct form *,
			    const struct store_record *);

#endif
