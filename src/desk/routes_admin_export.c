/*
 * routes_admin_export.c: CSV exports of the filtered list (admin).
 *
 *   POST /admin/export            up to FORMWORK_EXPORT_SYNC_MAX rows: the
 *                                 CSV itself; more: 303 to a background
 *                                 export's page
 *   GET  /admin/exports/{id}      202 (refreshing) while it runs, then 200
 *                                 with the download link
 *   GET  /admin/exports/{id}.csv  the file, sent from disk (sendfile)
 *
 * The session, the rows of a direct export and the start of a background
 * one run as the desk's job (desk_job.h: a database thread on PostgreSQL).
 * A background export is a thread of its own with its own connection:
 * Kore's task threads are held for good by the writer and the runners.
 * It writes var/exports/{id}.csv.tmp and renames it when complete, so a
 * download is never a partial file. Columns: id, form, created_at,
 * review, actions, then each field of the form (of every form when the
 * list is not filtered by form).
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "desk/admin_filter.h"
#include "desk/desk_job.h"
#include "desk/admin_view.h"
#include "core/body.h"
#include "core/config.h"
#include "core/csv.h"
#include "core/forms.h"
#include "worker/metrics.h"
#include "web/page.h"
#include "web/routes.h"
#include "store/store_admin.h"
#include "core/util.h"

#define EXPORT_MAX_FIELDS	256
#define EXPORT_FLUSH		(64 * 1024)
#define EXPORT_REFRESH_S	"2"

struct export_run {
	struct store_filter	 sf;
	char			 form[64];
	char			 review[16];
	char			 actions[16];
	char			 words[ADMIN_SEARCH_MAX + 1];
	const char		*fields[EXPORT_MAX_FIELDS];
	size_t			 nfields;
	struct kore_buf		 buf;
	FILE			*fp;		/* background only */
	u_int64_t		 rows;
	u_int64_t		 limit;		/* 0: all */
	int			 over;		/* more rows than limit */
	char			 id[TOKEN_ID_LEN + 1];
};

/* GET /admin/exports/{id}[.csv]: the export named in the path. */
struct exports_job {
	struct desk_job	 d;		/* first */
	char		 id[TOKEN_ID_LEN + 1];
	int		 file;		/* the .csv itself */
};

static void	export_start(struct desk_job *);
static void	exports_read(struct http_request *, struct desk_job *);
static void	exports_run(struct desk_job *);
static void	exports_send(struct http_request *, struct desk_job *);
static struct export_run *export_run_new(const struct admin_filter *);
static void	export_run_free(struct export_run *);
static void	export_header(struct export_run *);
static int	export_row(const struct store_row *, void *);
static void	*export_thread(void *);
static void	export_file_send(struct http_request *, const char *);

static const struct desk_route export_route = {
	HTTP_METHOD_POST, "POST", ROLE_ADMIN, sizeof(struct desk_job), NULL,
	export_start, NULL, NULL
};

static const struct desk_route exports_route = {
	HTTP_METHOD_GET | HTTP_METHOD_HEAD, "GET, HEAD", ROLE_ADMIN,
	sizeof(struct exports_job), exports_read, exports_run, NULL,
	exports_send
};

int
page_admin_export(struct http_request *req)
{
	return (desk_serve(req, &export_route));
}

int
page_admin_exports(struct http_request *req)
{
	return (desk_serve(req, &exports_route));
}

/* The rows, or a background export when there are too many. */
static void
export_start(struct desk_job *j)
{
	struct export_run	*run;
	struct admin_filter	 f;
	pthread_attr_t		 attr;
	pthread_t		 tid;
	char			 err[160], loc[64], what[64];

	if (admin_filter_parse(&j->body, &f, err, sizeof(err)) == -1) {
		desk_reply_error(&j->reply, 400, "Filter not understood", err,
		    "/admin", "Show all submissions");
		return;
	}
	f.sf.after = NULL;		/* an export is never one page */

	run = export_run_new(&f);
	run->limit = config.export_sync_max;
	export_header(run);
	if (store_rows_each(NULL, &run->sf, run->limit + 1, export_row,
	    run) != STORE_OK) {
		export_run_free(run);
		desk_reply_store_failed(&j->reply, STORE_ERROR);
		return;
	}

	if (!run->over) {
		(void)snprintf(what, sizeof(what), "%llu rows",
		    (unsigned long long)run->rows);
		(void)store_audit_add(j->a.user, "export", "csv", "", what,
		    util_now_ms());
		desk_reply_header(&j->reply, "content-type",
		    "text/csv; charset=utf-8; header=present");
		desk_reply_header(&j->reply, "content-disposition",
		    "attachment; filename=\"submissions.csv\"");
		desk_reply_header(&j->reply, "cache-control", "no-store");
		desk_reply_data(&j->reply, 200, run->buf.data,
		    run->buf.offset);
		export_run_free(run);
		return;
	}

	/* Large: start again in the background, writing to a file. */
	kore_buf_reset(&run->buf);
	run->rows = 0;
	run->limit = 0;
	run->over = 0;
	token_id_new(run->id);
	if (store_export_add(run->id, j->a.user, util_now_ms()) != STORE_OK) {
		export_run_free(run);
		desk_reply_store_failed(&j->reply, STORE_ERROR);
		return;
	}
	(void)store_audit_add(j->a.user, "export", run->id, "", "background",
	    util_now_ms());
	(void)snprintf(loc, sizeof(loc), "/admin/exports/%s", run->id);

	(void)pthread_attr_init(&attr);
	(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, export_thread, run) != 0) {
		(void)store_export_finish(NULL, run->id, 0, 0,
		    "could not start a thread", util_now_ms());
		export_run_free(run);
	}
	(void)pthread_attr_destroy(&attr);
	desk_reply_see_other(&j->reply, loc);
}

/* Event loop: the export's id, and whether the file itself is asked. */
static void
exports_read(struct http_request *req, struct desk_job *j)
{
	struct exports_job	*ej = (struct exports_job *)j;
	const char		*p;

	p = req->path + strlen("/admin/exports/");
	(void)snprintf(ej->id, sizeof(ej->id), "%.*s", TOKEN_ID_LEN, p);
	ej->file = strcmp(p + strlen(ej->id), ".csv") == 0;
}

static void
exports_run(struct desk_job *j)
{
	struct exports_job	*ej = (struct exports_job *)j;
	struct kore_json_item	*ctx;
	enum store_result	 sr;
	char			 state[16], error[256];
	u_int64_t		 rows;

	if (!token_id_valid(ej->id) ||
	    (sr = store_export_get(ej->id, state, &rows, error)) ==
	    STORE_NOT_FOUND) {
		desk_reply_error(&j->reply, 404, "Not found", "There is no "
		    "export at this address.", "/admin",
		    "Back to the submissions");
		return;
	}
	if (sr != STORE_OK) {
		desk_reply_store_failed(&j->reply, sr);
		return;
	}
	if (ej->file && strcmp(state, "done") == 0) {
		desk_reply_own(&j->reply);	/* exports_send() */
		return;
	}

	ctx = page_ctx_new();
	admin_ctx_add(ctx, &j->a);
	kore_json_create_string(ctx, "id", ej->id);
	kore_json_create_integer_u64(ctx, "rows", rows);
	kore_json_create_literal(ctx, strcmp(state, "running") == 0 ?
	    "running" : strcmp(state, "done") == 0 ? "done" : "failed",
	    KORE_JSON_TRUE);
	kore_json_create_string(ctx, "error", error);
	if (strcmp(state, "running") == 0) {
		desk_reply_header(&j->reply, "refresh", EXPORT_REFRESH_S);
		desk_reply_header(&j->reply, "retry-after", EXPORT_REFRESH_S);
		desk_reply_page(&j->reply, 202, "Export running",
		    "admin_export", ctx);
	} else {
		desk_reply_page(&j->reply, 200, "Export", "admin_export", ctx);
	}
}

/* Event loop: a finished export's file. */
static void
exports_send(struct http_request *req, struct desk_job *j)
{
	export_file_send(req, ((struct exports_job *)j)->id);
}

/* Copies the filter (its strings die with the request's job). */
static struct export_run *
export_run_new(const struct admin_filter *f)
{
	struct export_run	*run;
	struct form		*form;
	size_t			 i, k;

	run = kore_calloc(1, sizeof(*run));
	run->sf = f->sf;
	if (f->sf.form != NULL) {
		(void)snprintf(run->form, sizeof(run->form), "%s", f->sf.form);
		run->sf.form = run->form;
	}
	if (f->sf.review != NULL) {
		(void)snprintf(run->review, sizeof(run->review), "%s",
		    f->sf.review);
		run->sf.review = run->review;
	}
	if (f->sf.actions != NULL) {
		(void)snprintf(run->actions, sizeof(run->actions), "%s",
		    f->sf.actions);
		run->sf.actions = run->actions;
	}
	if (f->sf.words != NULL) {
		(void)snprintf(run->words, sizeof(run->words), "%s",
		    f->sf.words);
		run->sf.words = run->words;
	}

	/* The forms never change while Formwork runs: point into them. */
	TAILQ_FOREACH(form, forms_loaded(), list) {
		if (run->sf.form != NULL &&
		    strcmp(form->slug, run->sf.form) != 0)
			continue;
		for (i = 0; i < form->nfields; i++) {
			for (k = 0; k < run->nfields; k++) {
				if (strcmp(run->fields[k],
				    form->fields[i].name) == 0)
					break;
			}
			if (k == run->nfields && k < EXPORT_MAX_FIELDS)
				run->fields[run->nfields++] =
				    form->fields[i].name;
		}
	}
	kore_buf_init(&run->buf, EXPORT_FLUSH + 4096);
	return (run);
}

static void
export_run_free(struct export_run *run)
{
	kore_buf_cleanup(&run->buf);
	kore_free(run);
}

static void
export_header(struct export_run *run)
{
	size_t		i;

	csv_cell(&run->buf, "id", 1);
	csv_cell(&run->buf, "form", 0);
	csv_cell(&run->buf, "created_at", 0);
	csv_cell(&run->buf, "review", 0);
	csv_cell(&run->buf, "actions", 0);
	for (i = 0; i < run->nfields; i++)
		csv_cell(&run->buf, run->fields[i], 0);
	csv_row_end(&run->buf);
}

static int
export_row(const struct store_row *row, void *arg)
{
	struct export_run	*run = arg;
	struct kore_json	 j;
	struct kore_buf		 v;
	struct tm		 tm;
	time_t			 t;
	char			 when[32];
	size_t			 i;

	if (run->limit != 0 && run->rows == run->limit) {
		run->over = 1;
		return (0);
	}
	t = (time_t)(row->created_ms / 1000);
	(void)gmtime_r(&t, &tm);
	(void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	csv_cell_ours(&run->buf, row->id, 1);
	csv_cell_ours(&run->buf, row->form, 0);
	csv_cell_ours(&run->buf, when, 0);
	csv_cell_ours(&run->buf, row->review, 0);
	csv_cell_ours(&run->buf, row->actions, 0);

	kore_json_init(&j, row->data, strlen(row->data));
	kore_buf_init(&v, 256);
	(void)kore_json_parse(&j);
	for (i = 0; i < run->nfields; i++) {
		kore_buf_reset(&v);
		if (j.root != NULL)
			(void)admin_view_value(j.root, run->fields[i], &v);
		csv_cell(&run->buf, kore_buf_stringify(&v, NULL), 0);
	}
	kore_buf_cleanup(&v);
	kore_json_cleanup(&j);
	csv_row_end(&run->buf);
	run->rows++;

	if (run->fp != NULL && run->buf.offset >= EXPORT_FLUSH) {
		if (fwrite(run->buf.data, 1, run->buf.offset, run->fp) !=
		    run->buf.offset)
			return (0);
		kore_buf_reset(&run->buf);
	}
	return (1);
}

static void *
export_thread(void *arg)
{
	struct export_run	*run = arg;
	struct store_handle	*h;
	char			 tmp[600], path[512], err[768];
	int			 ok;

	(void)snprintf(path, sizeof(path), "%s/%s.csv", config.exports_dir,
	    run->id);
	(void)snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	err[0] = '\0';
	h = store_handle_new();
	ok = 0;
	if ((run->fp = fopen(tmp, "w")) == NULL) {
		(void)snprintf(err, sizeof(err), "cannot write %s: %s", tmp,
		    strerror(errno));
	} else {
		export_header(run);
		if (store_rows_each(h, &run->sf, 0, export_row, run) !=
		    STORE_OK)
			(void)snprintf(err, sizeof(err), "reading failed");
		else if (fwrite(run->buf.data, 1, run->buf.offset, run->fp) !=
		    run->buf.offset || fflush(run->fp) != 0 ||
		    fsync(fileno(run->fp)) != 0)
			(void)snprintf(err, sizeof(err), "writing failed: %s",
			    strerror(errno));
		else
			ok = 1;
		if (fclose(run->fp) != 0 && ok) {
			(void)snprintf(err, sizeof(err), "writing failed");
			ok = 0;
		}
		if (ok && rename(tmp, path) == -1) {
			(void)snprintf(err, sizeof(err), "cannot rename: %s",
			    strerror(errno));
			ok = 0;
		}
		if (!ok)
			(void)unlink(tmp);
	}
	(void)store_export_finish(h, run->id, ok, run->rows, err,
	    util_now_ms());
	store_handle_free(h);
	export_run_free(run);
	return (NULL);
}

/* The finished file, from disk. */
static void
export_file_send(struct http_request *req, const char *id)
{
	struct kore_fileref	*ref;
	struct stat		 st;
	char			 path[512], disp[96];
	int			 fd;

	(void)snprintf(path, sizeof(path), "%s/%s.csv", config.exports_dir,
	    id);
	if ((ref = kore_fileref_get(path, 0)) == NULL) {
		if ((fd = open(path, O_RDONLY | O_NOFOLLOW)) == -1 ||
		    fstat(fd, &st) == -1) {
			if (fd != -1)
				(void)close(fd);
			page_error(req, 410, "Export gone", "This export's "
			    "file is no longer on the server. Export again.",
			    "/admin", "Back to the submissions");
			return;
		}
		/* kore_fileref_create() takes the descriptor. */
		ref = kore_fileref_create(req->owner->owner->server, path, fd,
		    st.st_size, &st.st_mtim);
		if (ref == NULL) {
			form_store_failed(req, STORE_ERROR);
			return;
		}
	}
	(void)snprintf(disp, sizeof(disp), "attachment; "
	    "filename=\"submissions-%s.csv\"", id);
	http_response_header(req, "content-type",
	    "text/csv; charset=utf-8; header=present");
	http_response_header(req, "content-disposition", disp);
	http_response_header(req, "cache-control", "no-store");
	page_security_headers(req);
	metrics_request(req, 200);
	http_response_fileref(req, 200, ref);
}
