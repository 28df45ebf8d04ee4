/*
 * ref_form.h: what the POST references of tests/bench share: reading the
 * contact form the way the app's contact form is checked, into the row
 * both insert (values as JSON, a values hash, a 128-bit id, the client,
 * the time). Static functions: each reference includes it once.
 */

#ifndef REF_FORM_H
#define REF_FORM_H

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

/* One contact submission, read: what the references store. */
struct ref_contact {
	struct kore_buf	 data;		/* the values as JSON */
	char		 key[23];
	char		 id[33];
	char		 hash[17];
	char		 client[INET6_ADDRSTRLEN];
	u_int64_t	 created_ms;
};

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

/* The database the reference writes to: REF_DB (a path or a URL). */
static const char *
ref_db(void)
{
	const char	*p;

	if ((p = getenv("REF_DB")) == NULL || *p == '\0')
		fatal("ref: REF_DB is not set");
	return (p);
}

/*
 * Reads req's urlencoded contact form into c (cleaned up with
 * kore_buf_cleanup(&c->data)); 0 when req was answered instead (405,
 * 422).
 */
static int
ref_contact_read(struct http_request *req, struct ref_contact *c)
{
	char			*body, *p, *kv, *eq;
	char			*name, *email, *topic, *message, *key;
	u_int8_t		 rnd[16];
	u_int64_t		 h;
	struct timespec		 ts;
	size_t			 i, len;

	if (req->method != HTTP_METHOD_POST || req->http_body == NULL) {
		ref_answer(req, 405, "POST only\n");
		return (0);
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
		return (0);
	}

	kore_buf_init(&c->data, 256);
	kore_buf_append(&c->data, "{", 1);
	ref_json_string(&c->data, "name", name);
	ref_json_string(&c->data, "email", email);
	ref_json_string(&c->data, "topic", topic ? topic : "");
	ref_json_string(&c->data, "message", message);
	kore_buf_append(&c->data, "}", 1);
	(void)snprintf(c->key, sizeof(c->key), "%s", key);
	kore_free(body);

	/* FNV-1a over the values stands in for the values hash. */
	h = 1469598103934665603ULL;
	for (i = 0; i < c->data.offset; i++)
		h = (h ^ c->data.data[i]) * 1099511628211ULL;
	(void)snprintf(c->hash, sizeof(c->hash), "%016llx",
	    (unsigned long long)h);

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		fatal("ref: getrandom");
	for (i = 0; i < 11; i++)
		(void)snprintf(c->id + i * 2, 3, "%02x", rnd[i]);

	if (req->owner->family == AF_INET)
		(void)inet_ntop(AF_INET, &req->owner->addr.ipv4.sin_addr,
		    c->client, sizeof(c->client));
	else
		(void)snprintf(c->client, sizeof(c->client), "local");
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	c->created_ms = (u_int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return (1);
}

/* The 303 to the new row's result page. */
static void
ref_see_other(struct http_request *req, const struct ref_contact *c)
{
	char	location[64];

	(void)snprintf(location, sizeof(location), "/s/%s", c->id);
	http_response_header(req, "location", location);
	ref_answer(req, 303, "See Other\n");
}

#endif
