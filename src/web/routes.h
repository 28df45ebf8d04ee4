/*
 * routes.h: the Kore page handlers named in conf/formwork.conf.
 */

#ifndef FORMWORK_ROUTES_H
#define FORMWORK_ROUTES_H

struct http_request;

int	page_index(struct http_request *);
int	page_form(struct http_request *);
int	page_result(struct http_request *);
int	page_healthz(struct http_request *);
int	page_asset(struct http_request *);
int	page_not_found(struct http_request *);
int	page_api_submit(struct http_request *);
int	page_api_submission(struct http_request *);
int	page_metrics(struct http_request *);
int	page_admin_login(struct http_request *);
int	page_admin_logout(struct http_request *);
int	page_admin_list(struct http_request *);
int	page_admin_submission(struct http_request *);
int	page_admin_bulk(struct http_request *);
int	page_admin_export(struct http_request *);
int	page_admin_exports(struct http_request *);
int	page_admin_audit(struct http_request *);
int	page_admin_users(struct http_request *);

/* 503 (busy, with Retry-After) or 500 page for a store failure. */
void	form_store_failed(struct http_request *, int store_result);

#endif
