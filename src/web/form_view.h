/*
 * form_view.h: builds the template contexts of the form page (fresh, or
 * again with the submitted values and messages) and of the result page.
 */

#ifndef FORMWORK_FORM_VIEW_H
#define FORMWORK_FORM_VIEW_H

#include <sys/types.h>

#include <stddef.h>

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

/*
 * Adds the actions' progress to a result context: "jobs" (each with what
 * it is and where it stands), "pending" and "failed" (those that failed
 * for good), as of now_ms.
 */
struct store_job_status;
void	form_view_jobs(struct kore_json_item *,
	    const struct store_job_status *, size_t, u_int64_t now_ms);

#endif
