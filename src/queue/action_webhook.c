/*
 * action_webhook.c: the webhook action, as the Standard Webhooks
 * specification describes it: a POST of the submission as JSON with
 * webhook-id (stable per delivery, for the receiver's de-duplication),
 * webhook-timestamp and webhook-signature ("v1," + base64 of
 * HMAC-SHA256 over "id.timestamp.body", keyed with the whsec_ secret).
 * Each endpoint may have its own secrets (the action's secret_env names
 * the variable), else FORMWORK_WEBHOOK_SECRET's; while a secret is being
 * rotated the variable holds several, separated by spaces, and the
 * request carries one signature per secret, space-separated, so that a
 * receiver that knows either verifies it.
 *
 * It refuses to connect to loopback, private and link-local addresses
 * unless the operator allows it (a form's URL must not become a way into
 * the site's own network), checking the address libcurl actually
 * resolved, right before it connects.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <kore/kore.h>
#include <sodium.h>

#include "queue/actions.h"
#include "core/config.h"
#include "core/forms.h"
#include "core/json_out.h"
#include "store/store.h"
#include "core/util.h"

#define WEBHOOK_RETRY_AFTER_MAX	3600	/* seconds we honour at most */
#define WEBHOOK_KEYS_MAX	8	/* secrets at once, while rotating */

struct webhook_key {
	u_int8_t	key[64];
	size_t		len;
};

/* The secrets of one action (action NULL: FORMWORK_WEBHOOK_SECRET's). */
struct webhook_keys {
	const struct form_action	*action;
	struct webhook_key		 keys[WEBHOOK_KEYS_MAX];
	size_t				 n;
};

/* Made by the parent at start-up, read-only in the workers. */
static struct webhook_keys	 webhook_global;
static struct webhook_keys	*webhook_sets;
static size_t			 webhook_nsets;

struct webhook_call {
	u_int64_t	retry_after_ms;
	int		refused;
	char		refused_addr[INET6_ADDRSTRLEN];
	char		*body;		/* the answer's first bytes */
	size_t		 bodylen;
	size_t		 bodymax;
};

static int		webhook_keys_parse(const char *, const char *,
			    struct webhook_keys *, char *, size_t);
static const struct webhook_keys *webhook_keys_of(const struct form_action *);
static void		webhook_values(const char *, struct kore_buf *);
static int		webhook_post(const struct action_run *,
			    struct action_result *);
static int		webhook_address_private(const struct sockaddr *);
static curl_socket_t	webhook_open_socket(void *, curlsocktype,
			    struct curl_sockaddr *);
static size_t		webhook_header(char *, size_t, size_t, void *);
static size_t		webhook_answer(char *, size_t, size_t, void *);

/*
 * Reads every webhook action's secrets (its secret_env, else the global
 * FORMWORK_WEBHOOK_SECRET); a webhook without any, or a secret that is
 * not whsec_ + base64 of 16 to 64 bytes, stops start-up.
 */
int
action_webhook_init(char *err, size_t errlen)
{
	struct form		*f;
	struct form_action	*a;
	const char		*v;
	char			 where[600];
	size_t			 i;

	if (config.webhook_secret != NULL &&
	    webhook_keys_parse("FORMWORK_WEBHOOK_SECRET",
	    config.webhook_secret, &webhook_global, err, errlen) == -1)
		return (-1);

	TAILQ_FOREACH(f, forms_loaded(), list) {
		for (i = 0; i < f->nactions; i++) {
			a = &f->actions[i];
			if (strcmp(a->type, "webhook") != 0)
				continue;
			if (a->secret_env == NULL) {
				if (webhook_global.n > 0)
					continue;
				(void)snprintf(err, errlen, "%s: has a webhook "
				    "action, so FORMWORK_WEBHOOK_SECRET must be "
				    "set, or the action's secret_env (whsec_ + "
				    "base64 of random bytes, e.g. \"whsec_$(head "
				    "-c 24 /dev/urandom | base64)\")", f->path);
				return (-1);
			}
			(void)snprintf(where, sizeof(where), "%s: actions[%zu]: "
			    "secret_env %s", f->path, i, a->secret_env);
			if ((v = getenv(a->secret_env)) == NULL || *v == '\0') {
				(void)snprintf(err, errlen, "%s is not set",
				    where);
				return (-1);
			}
			webhook_sets = kore_realloc(webhook_sets,
			    (webhook_nsets + 1) * sizeof(*webhook_sets));
			memset(&webhook_sets[webhook_nsets], 0,
			    sizeof(*webhook_sets));
			webhook_sets[webhook_nsets].action = a;
			if (webhook_keys_parse(where, v,
			    &webhook_sets[webhook_nsets++], err, errlen) == -1)
				return (-1);
		}
	}
	return (0);
}

/* One whsec_ secret, or several separated by spaces, into out. */
static int
webhook_keys_parse(const char *where, const char *v, struct webhook_keys *out,
    char *err, size_t errlen)
{
	struct webhook_key	*k;
	const char		*p;
	size_t			 n;

	out->n = 0;
	for (p = v + strspn(v, " "); *p != '\0'; p += n + strspn(p + n, " ")) {
		n = strcspn(p, " ");
		if (out->n == WEBHOOK_KEYS_MAX) {
			(void)snprintf(err, errlen, "%s: at most %d secrets at "
			    "once", where, WEBHOOK_KEYS_MAX);
			return (-1);
		}
		k = &out->keys[out->n];
		if (n < 6 || strncmp(p, "whsec_", 6) != 0 ||
		    sodium_base642bin(k->key, sizeof(k->key), p + 6, n - 6,
		    NULL, &k->len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    k->len < 16) {
			(void)snprintf(err, errlen, "%s: each secret must be "
			    "'whsec_' and standard base64 of 16 to 64 bytes "
			    "(several: separated by spaces)", where);
			return (-1);
		}
		out->n++;
	}
	if (out->n == 0) {
		(void)snprintf(err, errlen, "%s holds no secret", where);
		return (-1);
	}
	return (0);
}

static const struct webhook_keys *
webhook_keys_of(const struct form_action *a)
{
	size_t		i;

	for (i = 0; i < webhook_nsets; i++) {
		if (webhook_sets[i].action == a)
			return (&webhook_sets[i]);
	}
	return (&webhook_global);
}

/*
 * An endpoint that answered 410 Gone is disabled for every form (and every
 * node sharing the store): its jobs fail at once instead of calling it.
 */
void
action_webhook_run(const struct action_run *run, struct action_result *res)
{
	int		disabled;

	if (store_endpoint_is_disabled(run->store, run->job->target,
	    &disabled) != STORE_OK) {
		res->outcome = ACTION_RETRY;
		(void)snprintf(res->error, sizeof(res->error),
		    "the store could not be read");
	} else if (disabled) {
		res->outcome = ACTION_FAILED;
		(void)snprintf(res->error, sizeof(res->error), "%.200s is "
		    "disabled: it answered 410 Gone", run->job->target);
	} else if (webhook_post(run, res)) {
		(void)store_endpoint_disable(run->store, run->job->target,
		    res->error, util_now_ms());
	}
}

/* The delivery itself; returns 1 when the receiver answered 410 Gone. */
static int
webhook_post(const struct action_run *run, struct action_result *res)
{
	CURL			*curl;
	struct curl_slist	*hdrs;
	struct webhook_call	 call;
	struct kore_buf		 body, signed_part, sigs;
	const struct webhook_keys *keys;
	crypto_auth_hmacsha256_state st;
	u_int8_t		 mac[crypto_auth_hmacsha256_BYTES];
	char			 sig[sodium_base64_ENCODED_LEN(
				     crypto_auth_hmacsha256_BYTES,
				     sodium_base64_VARIANT_ORIGINAL)];
	char			 hdr[256], ts[32];
	CURLcode		 rc;
	size_t			 i;
	long			 code;
	int			 gone;

	memset(&call, 0, sizeof(call));
	call.bodymax = sizeof(res->response) - 1;
	call.body = res->response;
	(void)snprintf(ts, sizeof(ts), "%llu",
	    (unsigned long long)(util_now_ms() / 1000));

	kore_buf_init(&body, 1024);
	kore_buf_appendf(&body, "{\"type\":\"submission.created\","
	    "\"timestamp\":%s,\"data\":{\"id\":", ts);
	json_out_string(&body, run->rec->id);
	kore_buf_appendf(&body, ",\"form\":");
	json_out_string(&body, run->form->slug);
	kore_buf_appendf(&body, ",\"created_at\":%llu,\"spam\":%s,"
	    "\"values\":", (unsigned long long)run->rec->created_ms,
	    run->rec->spam ? "true" : "false");
	webhook_values(run->rec->data, &body);
	kore_buf_appendf(&body, "}}");

	/* Sign exactly the bytes that are sent: id.timestamp.body */
	kore_buf_init(&signed_part, body.offset + 64);
	kore_buf_appendf(&signed_part, "%s.%s.", run->job->delivery_id, ts);
	kore_buf_append(&signed_part, body.data, body.offset);
	kore_buf_init(&sigs, 256);
	kore_buf_appendf(&sigs, "webhook-signature:");
	keys = webhook_keys_of(run->action);
	for (i = 0; i < keys->n; i++) {
		crypto_auth_hmacsha256_init(&st, keys->keys[i].key,
		    keys->keys[i].len);
		crypto_auth_hmacsha256_update(&st, signed_part.data,
		    signed_part.offset);
		crypto_auth_hmacsha256_final(&st, mac);
		sodium_bin2base64(sig, sizeof(sig), mac, sizeof(mac),
		    sodium_base64_VARIANT_ORIGINAL);
		kore_buf_appendf(&sigs, " v1,%s", sig);
	}
	sodium_memzero(&st, sizeof(st));
	kore_buf_cleanup(&signed_part);

	if ((curl = curl_easy_init()) == NULL) {
		kore_buf_cleanup(&body);
		kore_buf_cleanup(&sigs);
		(void)snprintf(res->error, sizeof(res->error),
		    "libcurl: cannot start");
		res->outcome = ACTION_RETRY;
		return (0);
	}
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	(void)snprintf(hdr, sizeof(hdr), "webhook-id: %s",
	    run->job->delivery_id);
	hdrs = curl_slist_append(hdrs, hdr);
	(void)snprintf(hdr, sizeof(hdr), "webhook-timestamp: %s", ts);
	hdrs = curl_slist_append(hdrs, hdr);
	hdrs = curl_slist_append(hdrs, kore_buf_stringify(&sigs, NULL));
	hdrs = curl_slist_append(hdrs, "User-Agent: Formwork-Webhooks/1");
	hdrs = curl_slist_append(hdrs, "Expect:");

	curl_easy_setopt(curl, CURLOPT_URL, run->action->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body.offset);
	action_curl_limits(curl, run);
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, webhook_open_socket);
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &call);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, webhook_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &call);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, webhook_answer);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &call);

	rc = curl_easy_perform(curl);
	code = 0;
	(void)curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	kore_buf_cleanup(&body);
	kore_buf_cleanup(&sigs);

	res->code = (int)code;
	res->response[call.bodylen] = '\0';
	res->retry_after_ms = call.retry_after_ms;
	gone = 0;
	if (call.refused) {
		(void)snprintf(res->error, sizeof(res->error), "refused to "
		    "deliver to %s: a loopback or private address (set "
		    "FORMWORK_WEBHOOK_ALLOW_PRIVATE=1 to allow it)",
		    call.refused_addr);
		res->outcome = ACTION_FAILED;
	} else if (rc != CURLE_OK) {
		(void)snprintf(res->error, sizeof(res->error), "%s: %s",
		    run->action->url, curl_easy_strerror(rc));
		res->outcome = ACTION_RETRY;
	} else if (code >= 200 && code < 300) {
		res->outcome = ACTION_DONE;
	} else {
		(void)snprintf(res->error, sizeof(res->error), "%s answered "
		    "HTTP %ld", run->action->url, code);
		if (code == 410) {
			gone = 1;
			res->outcome = ACTION_FAILED;
		} else if (code >= 400 && code < 500 && code != 408 &&
		    code != 429) {
			res->outcome = ACTION_FAILED;
		} else {
			res->outcome = ACTION_RETRY;
		}
	}
	return (gone);
}

/* Called by libcurl with the resolved address, right before connect. */
static curl_socket_t
webhook_open_socket(void *arg, curlsocktype purpose,
    struct curl_sockaddr *addr)
{
	struct webhook_call	*call = arg;
	const void		*in;

	if (!config.webhook_private && webhook_address_private(&addr->addr)) {
		in = addr->family == AF_INET6 ?
		    (const void *)&((struct sockaddr_in6 *)&addr->addr)->sin6_addr :
		    (const void *)&((struct sockaddr_in *)&addr->addr)->sin_addr;
		(void)inet_ntop(addr->family, in, call->refused_addr,
		    sizeof(call->refused_addr));
		call->refused = 1;
		return (CURL_SOCKET_BAD);
	}
	return (socket(addr->family, addr->socktype, addr->protocol));
}

static int
webhook_address_private(const struct sockaddr *sa)
{
	const struct sockaddr_in6	*s6;
	const u_int8_t			*b;
	u_int32_t			 a;

	if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		b = s6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			a = (u_int32_t)b[12] << 24 | (u_int32_t)b[13] << 16 |
			    (u_int32_t)b[14] << 8 | b[15];
			goto v4;
		}
		return (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
		    IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) ||
		    IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) ||
		    (b[0] & 0xfe) == 0xfc);		/* fc00::/7 */
	}
	if (sa->sa_family != AF_INET)
		return (1);
	a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
v4:
	return ((a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 ||
	    (a >> 20) == 0xac1 ||		/* 172.16.0.0/12 */
	    (a >> 16) == 0xc0a8 ||		/* 192.168.0.0/16 */
	    (a >> 16) == 0xa9fe ||		/* 169.254.0.0/16 */
	    (a >> 22) == 0x191 ||		/* 100.64.0.0/10 */
	    a >= 0xe0000000);			/* multicast, reserved */
}

/* Keeps Retry-After (seconds form) from the receiver's answer. */
static size_t
webhook_header(char *line, size_t size, size_t n, void *arg)
{
	struct webhook_call	*call = arg;
	size_t			 len = size * n;
	unsigned long		 secs;
	char			 buf[64];

	if (len > 12 && len < sizeof(buf) &&
	    strncasecmp(line, "retry-after:", 12) == 0) {
		memcpy(buf, line + 12, len - 12);
		buf[len - 12] = '\0';
		secs = strtoul(buf, NULL, 10);
		if (secs > WEBHOOK_RETRY_AFTER_MAX)
			secs = WEBHOOK_RETRY_AFTER_MAX;
		call->retry_after_ms = (u_int64_t)secs * 1000;
	}
	return (len);
}

/* Keeps the answer's first bytes for the delivery log, reads the rest. */
static size_t
webhook_answer(char *data, size_t size, size_t n, void *arg)
{
	struct webhook_call	*call = arg;
	size_t			 len, take;

	len = size * n;
	take = call->bodymax - call->bodylen;
	if (take > len)
		take = len;
	memcpy(call->body + call->bodylen, data, take);
	call->bodylen += take;
	return (len);
}

/*
 * The submitted values as sent: the stored object without the keys
 * Formwork keeps for itself (names starting with '_', which no field
 * has). The stored object as it is when it has none or cannot be read.
 */
static void
webhook_values(const char *data, struct kore_buf *out)
{
	struct kore_json	 j;
	struct kore_json_item	*it, *v;
	int			 first;

	kore_json_init(&j, data, strlen(data));
	if (strstr(data, "\"_") == NULL || !kore_json_parse(&j) ||
	    j.root->type != KORE_JSON_TYPE_OBJECT) {
		kore_buf_appendf(out, "%s", data);
		kore_json_cleanup(&j);
		return;
	}
	kore_buf_append(out, "{", 1);
	first = 1;
	TAILQ_FOREACH(it, &j.root->data.items, list) {
		if (it->name[0] == '_' || (it->type != KORE_JSON_TYPE_STRING &&
		    it->type != KORE_JSON_TYPE_ARRAY))
			continue;
		if (!first)
			kore_buf_append(out, ",", 1);
		first = 0;
		json_out_string(out, it->name);
		kore_buf_append(out, ":", 1);
		if (it->type == KORE_JSON_TYPE_STRING) {
			json_out_string(out, it->data.string);
			continue;
		}
		kore_buf_append(out, "[", 1);
		TAILQ_FOREACH(v, &it->data.items, list) {
			if (v != TAILQ_FIRST(&it->data.items))
				kore_buf_append(out, ",", 1);
			if (v->type == KORE_JSON_TYPE_STRING)
				json_out_string(out, v->data.string);
			else
				kore_buf_append(out, "null", 4);
		}
		kore_buf_append(out, "]", 1);
	}
	kore_buf_append(out, "}", 1);
	kore_json_cleanup(&j);
}
