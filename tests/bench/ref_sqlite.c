/*
 * ref_sqlite.c: the POST ceiling for tests/bench. A minimal Kore handler
 * that does what a form POST needs the ordinary way, and nothing more:
 *
 *   POST /f/contact  parses the urlencoded contact fields (name, email,
 *                    topic, message, _key), checks them the way the
 *                    contact form does (required, lengths, '@', topic
 *                    choice), inserts one row into SQLite with a prepared
 *                    statement in its own transaction (autocommit) on a
 *                    database in WAL mode with synchronous=NORMAL, and
 *                    answers 303 to /s/<id>. 422 for an invalid form.
 *   GET /healthz     "ok\n" (readiness check of the harness)
 *
 * The table is the app's own `submissions` (same columns and indexes as
 * migration 1 in src/store/store_sqlite.c), so a database pre-filled for the
 * app serves this handler too. The database is REF_DB (created if
 * missing); one connection per worker, opened on first use after fork.
 *
 * Built by tests/bench/run.sh with a plain cc command, like the app's
 * Makefile: cc $(KORE_FEATURES) -fPIC -shared ... -lsqlite3
 */

#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/seccomp.h>
#include <sqlite3.h>

int	ref_post(struct http_request *);
int	ref_healthz(struct http_request *);
void	kore_parent_configure(int, char **);
void	kore_seccomp_hook(void);

/* SQLite in WAL mode: the system calls the app allows (src/web/app.c). */
static struct sock_filter filter_sqlite[] = {
	KORE_SYSCALL_ALLOW(newfstatat),
	KORE_SYSCALL_ALLOW(pread64),
	KORE_SYSCALL_ALLOW(pwrite64),
	KORE_SYSCALL_ALLOW(fdatasync),
	KORE_SYSCALL_ALLOW(fsync),
	KORE_SYSCALL_ALLOW(ftruncate),
	KORE_SYSCALL_ALLOW(fchown),
	KORE_SYSCALL_ALLOW(unlink),
};

static const char *ref_schema =
	"CREATE TABLE IF NOT EXISTS submissions ("
	"  id          TEXT PRIMARY KEY,"
	"  form        TEXT NOT NULL,"
	"  submit_key  TEXT NOT NULL,"
	"  values_hash TEXT NOT NULL,"
	"  data        TEXT NOT NULL,"
	"  client      TEXT NOT NULL DEFAULT '',"
	"  spam        INTEGER NOT NULL DEFAULT 0,"
	"  review      TEXT NOT NULL DEFAULT 'new',"
	"  version     INTEGER NOT NULL DEFAULT 1,"
	"  created_at  INTEGER NOT NULL,"
	"  UNIQUE (form, submit_key)"
	");"
	"CREATE INDEX IF NOT EXISTS submissions_created "
	"  ON submissions (created_at, id);"
	"CREATE INDEX IF NOT EXISTS submissions_client "
	"  ON submissions (client, created_at);";

static const char *ref_insert =
	"INSERT INTO submissions (id, form, submit_key, values_hash, data, "
	"client, spam, review, created_at) "
	"VALUES (?1, 'contact', ?2, ?3, ?4, ?5, 0, 'new', ?6)";

static sqlite3		*db;
static sqlite3_stmt	*ins;

void
kore_seccomp_hook(void)
{
	kore_seccomp_filter("sqlite", filter_sqlite,
	    KORE_FILTER_LEN(filter_sqlite));
}

static const char *
ref_db_path(void)
{
	const char	*p;

	if ((p = getenv("REF_DB")) == NULL || *p == '\0')
		fatal("ref_sqlite: REF_DB is not set");
	return (p);
}

/* Parent: create the table once, in WAL mode; then close again. */
void
kore_parent_configure(int argc, char **argv)
{
	sqlite3		*d;
	char		*msg = NULL;

	if (sqlite3_open(ref_db_path(), &d) != SQLITE_OK ||
	    sqlite3_exec(d, "PRAGMA journal_mode=WAL", NULL, NULL, &msg) !=
	    SQLITE_OK ||
	    sqlite3_exec(d, ref_schema, NULL, NULL, &msg) != SQLITE_OK)
		fatal("ref_sqlite: %s", msg ? msg : sqlite3_errmsg(d));
	sqlite3_close(d);
}

static int
ref_db_open(void)
{
	if (db != NULL)
		return (1);
	if (sqlite3_open(ref_db_path(), &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL; "
	    "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, ref_insert, -1, &ins, NULL) != SQLITE_OK) {
		kore_log(LOG_ERR, "ref_sqlite: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		db = NULL;
		return (0);
	}
	return (1);
}

static int
ref_hex(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* In place: '+' is a space, %XX a byte. */
static void
ref_urldecode(char *s)
{
	char	*o = s;
	int	 h, l;

	for (; *s != '\0'; s++) {
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%' && (h = ref_hex(s[1])) >= 0 &&
		    (l = ref_hex(s[2])) >= 0) {
			*o++ = (char)(h * 16 + l);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

static void
ref_json_string(struct kore_buf *b, const char *name, const char *v)
{
	kore_buf_appendf(b, "%s\"%s\":\"", b->offset > 1 ? "," : "", name);
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			kore_buf_appendf(b, "\\%c", *v);
		else if ((unsigned char)*v < 0x20)
			kore_buf_appendf(b, "\\u%04x", (unsigned char)*v);
		else
			kore_buf_append(b, v, 1);
	}
	kore_buf_append(b, "\"", 1);
}

static void
ref_answer(struct http_request *req, int status, const char *text)
{
	http_response_header(req, "content-type", "text/plain; charset=utf-8");
	http_response(req, status, text, strlen(text));
}

int
ref_post(struct http_request *req)
{
	struct kore_buf		 data;
	char			*body, *p, *kv, *eq;
	char			*name, *email, *topic, *message, *key;
	char			 id[33], hash[17], client[INET6_ADDRSTRLEN];
	char			 location[64];
	u_int8_t		 rnd[16];
	u_int64_t		 h;
	struct timespec		 ts;
	size_t			 i, len;
	int			 rc;

	if (req->method != HTTP_METHOD_POST || req->http_body == NULL) {
		ref_answer(req, 405, "POST only\n");
		return (KORE_RESULT_OK);
	}

	/* The body as a C string, split on '&' and '='. */
	len = req->http_body->length;
	body = kore_malloc(len + 1);
	memcpy(body, req->http_body->data, len);
	body[len] = '\0';
	name = email = topic = message = key = NULL;
	for (p = body; (kv = strsep(&p, "&")) != NULL;) {
		if ((eq = strchr(kv, '=')) == NULL)
			continue;
		*eq++ = '\0';
		ref_urldecode(eq);
		if (strcmp(kv, "name") == 0)
			name = eq;
		else if (strcmp(kv, "email") == 0)
			email = eq;
		else if (strcmp(kv, "topic") == 0)
			topic = eq;
		else if (strcmp(kv, "message") == 0)
			message = eq;
		else if (strcmp(kv, "_key") == 0)
			key = eq;
	}

	/* The contact form's rules (lengths in bytes: ASCII here). */
	if (name == NULL || *name == '\0' || strlen(name) > 100 ||
	    email == NULL || strchr(email, '@') == NULL ||
	    message == NULL || strlen(message) < 10 ||
	    strlen(message) > 5000 || key == NULL || strlen(key) != 22 ||
	    (topic != NULL && *topic != '\0' && strcmp(topic, "general") != 0 &&
	    strcmp(topic, "support") != 0 && strcmp(topic, "sales") != 0)) {
		kore_free(body);
		ref_answer(req, 422, "invalid form\n");
		return (KORE_RESULT_OK);
	}

	kore_buf_init(&data, 256);
	kore_buf_append(&data, "{", 1);
	ref_json_string(&data, "name", name);
	ref_json_string(&data, "email", email);
	ref_json_string(&data, "topic", topic ? topic : "");
	ref_json_string(&data, "message", message);
	kore_buf_append(&data, "}", 1);

	/* FNV-1a over the values stands in for the values hash. */
	h = 1469598103934665603ULL;
	for (i = 0; i < data.offset; i++)
		h = (h ^ data.data[i]) * 1099511628211ULL;
	(void)snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)h);

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		fatal("ref_sqlite: getrandom");
	for (i = 0; i < 11; i++)
		(void)snprintf(id + i * 2, 3, "%02x", rnd[i]);

	if (req->owner->family == AF_INET)
		(void)inet_ntop(AF_INET, &req->owner->addr.ipv4.sin_addr,
		    client, sizeof(client));
	else
		(void)snprintf(client, sizeof(client), "local");
	(void)clock_gettime(CLOCK_REALTIME, &ts);

	rc = SQLITE_ERROR;
	if (ref_db_open()) {
		sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, (const char *)data.data,
		    (int)data.offset, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, client, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 6, (sqlite3_int64)ts.tv_sec * 1000 +
		    ts.tv_nsec / 1000000);
		rc = sqlite3_step(ins);
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
		if (rc != SQLITE_DONE)
			kore_log(LOG_ERR, "ref_sqlite: insert: %s",
			    sqlite3_errmsg(db));
	}
	kore_buf_cleanup(&data);
	kore_free(body);

	if (rc != SQLITE_DONE) {
		ref_answer(req, 500, "insert failed\n");
		return (KORE_RESULT_OK);
	}
	(void)snprintf(location, sizeof(location), "/s/%s", id);
	http_response_header(req, "location", location);
	ref_answer(req, 303, "See Other\n");
	return (KORE_RESULT_OK);
}

int
ref_healthz(struct http_request *req)
{
	ref_answer(req, 200, "ok\n");
	return (KORE_RESULT_OK);
}
