/*
 * mail_templates.c: the mail actions' templates (see actions.h). The
 * parent compiles, once at start-up, every templates/mail/NAME.txt and
 * NAME.html a form names and every action's subject, so a mistake stops
 * start-up naming the form file and the action; the workers inherit the
 * compiled set. Rendering may add to the set (a partial's indented copy,
 * tmpl.c), and runners are threads: one renders at a time.
 */

#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>

#include "queue/actions.h"
#include "core/config.h"
#include "core/forms.h"
#include "core/tmpl.h"

static struct tmpl_set	*mail_set;
static pthread_mutex_t	 mail_lock = PTHREAD_MUTEX_INITIALIZER;

static int	mail_template_read(const struct form *, size_t, const char *,
		    const char *, int, char *, size_t);
static void	mail_subject_name(const struct form *, size_t, char *,
		    size_t);

int
mail_templates_load(char *err, size_t errlen)
{
	struct form		*f;
	struct form_action	*a;
	char			 name[128], msg[512];
	size_t			 i;

	mail_set = tmpl_set_new();
	TAILQ_FOREACH(f, forms_loaded(), list) {
		for (i = 0; i < f->nactions; i++) {
			a = &f->actions[i];
			if (a->subject != NULL) {
				mail_subject_name(f, i, name, sizeof(name));
				if (tmpl_set_add(mail_set, name, a->subject,
				    strlen(a->subject), msg, sizeof(msg)) ==
				    -1) {
					(void)snprintf(err, errlen, "%s: "
					    "actions[%zu]: 'subject' is not a "
					    "valid template: line %s", f->path,
					    i, strchr(msg, ':') ?
					    strchr(msg, ':') + 1 : msg);
					return (-1);
				}
			}
			if (a->template == NULL)
				continue;
			if (mail_template_read(f, i, a->template, "txt", 1,
			    err, errlen) == -1 ||
			    mail_template_read(f, i, a->template, "html", 0,
			    err, errlen) == -1)
				return (-1);
		}
	}
	return (0);
}

/*
 * Compiles templates/mail/NAME.ext under "NAME.ext", once. A missing
 * file is an error when required (the text part), else it just has no
 * HTML part.
 */
static int
mail_template_read(const struct form *f, size_t i, const char *tname,
    const char *ext, int required, char *err, size_t errlen)
{
	char		 path[512], name[80], msg[768];

	(void)snprintf(name, sizeof(name), "%s.%s", tname, ext);
	if (tmpl_set_has(mail_set, name))
		return (0);
	(void)snprintf(path, sizeof(path), "%s/mail/%s", config.templates_dir,
	    name);
	if (!required && access(path, F_OK) == -1 && errno == ENOENT)
		return (0);
	if (tmpl_set_add_file(mail_set, name, path, msg, sizeof(msg)) == 0)
		return (0);
	(void)snprintf(err, errlen, "%s: actions[%zu]: template '%s': %s",
	    f->path, i, tname, msg);
	return (-1);
}

static void
mail_subject_name(const struct form *f, size_t i, char *out, size_t len)
{
	(void)snprintf(out, len, "subject/%s/%zu", f->slug, i);
}

int
mail_subject(const struct form *f, size_t i, struct kore_json_item *ctx,
    struct kore_buf *out)
{
	char		name[128];
	int		rc;

	if (f->actions[i].subject == NULL)
		return (0);
	mail_subject_name(f, i, name, sizeof(name));
	pthread_mutex_lock(&mail_lock);
	rc = tmpl_render_text(mail_set, name, ctx, out);
	pthread_mutex_unlock(&mail_lock);
	return (rc == 0);
}

int
mail_body(const char *tname, struct kore_json_item *ctx,
    struct kore_buf *text, struct kore_buf *html)
{
	char		name[80];
	int		has_html;

	pthread_mutex_lock(&mail_lock);
	(void)snprintf(name, sizeof(name), "%s.txt", tname);
	(void)tmpl_render_text(mail_set, name, ctx, text);
	(void)snprintf(name, sizeof(name), "%s.html", tname);
	has_html = tmpl_render(mail_set, name, ctx, html) == 0;
	pthread_mutex_unlock(&mail_lock);
	return (has_html);
}
