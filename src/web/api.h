/*
 * api.h: the JSON side of submitting, shared by the API's own route and
 * the form route's JSON mode (SPEC sections 5 and 10): a JSON body read
 * as a form's fields, the Idempotency-Key, the answer to a submission
 * and RFC 9457 problem details.
 */

#ifndef FORMWORK_API_H
#define FORMWORK_API_H

#include <sys/types.h>

#include <stddef.h>

#include "core/token.h"

struct body;
struct form;
struct form_input;
struct http_request;
struct submit_outcome;

/*
 * Turns a JSON object of values into body's name/value pairs: strings as
 * they are, numbers written out, true as a checkbox's value, false and
 * null as absent, arrays of strings as repeated fields. -1 with a
 * sentence in *why.
 */
int	api_body_from_json(struct form *, const u_int8_t *, size_t,
	    struct body *, const char **why);

/* 1 when the Content-Type ctype is application/json (parameters aside). */
int	api_json_type(const char *ctype);

/*
 * The Idempotency-Key header as a form instance key: 1 with key set, 0
 * when there is none, -1 with a sentence in *why when it is malformed.
 */
int	api_key(struct http_request *, char key[TOKEN_ID_LEN + 1],
	    const char **why);

/* Answers a submission's outcome as SPEC section 5 says. */
void	api_submit_answer(struct http_request *, struct form *,
	    struct form_input *, const struct submit_outcome *);

/* RFC 9457 problem details, with one entry per bad field of in. */
void	api_problem(struct http_request *, int status, const char *title,
	    const char *detail, const struct form_input *in);

#endif
