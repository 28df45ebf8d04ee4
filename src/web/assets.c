/*
 * assets.c: loads assets/ at start-up and serves GET /assets/<name>.
 * Only plain file names in that one directory exist: nothing a request
 * says is ever used as a path.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <sodium.h>

#include "web/assets.h"
#include "web/page.h"
#include "web/routes.h"

#define ASSETS_MAX		32
#define ASSET_SIZE_MAX		(1024 * 1024)

struct asset {
	char		 name[64];
	const char	*type;
	u_int8_t	*data;
	size_t		 len;
	char		 etag[36];	/* "<32 hex>" with quotes */
};

static struct asset	assets[ASSETS_MAX];
static size_t		nassets;


static const char *
assets_type(const char *name)
{
	const char	*ext;

	if ((ext = strrchr(name, '.')) == NULL)
		return (NULL);
	if (strcmp(ext, ".css") == 0)
		return ("text/css; charset=utf-8");
	if (strcmp(ext, ".svg") == 0)
		return ("image/svg+xml");
	if (strcmp(ext, ".png") == 0)
		return ("image/png");
	if (strcmp(ext, ".ico") == 0)
		return ("image/x-icon");
	if (strcmp(ext, ".txt") == 0)
		return ("text/plain; charset=utf-8");
	return (NULL);
}

int
assets_load(const char *dir, char *err, size_t errlen)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	struct asset	*a;
	char		 path[512];
	u_int8_t	 h[16];
	int		 fd;

	if ((d = opendir(dir)) == NULL) {
		(void)snprintf(err, errlen, "%s: cannot open: %s", dir,
		    strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || assets_type(de->d_name) == NULL ||
		    strlen(de->d_name) >= sizeof(a->name))
			continue;
		if (nassets == ASSETS_MAX) {
			(void)snprintf(err, errlen, "%s: more than %d assets",
			    dir, ASSETS_MAX);
			(void)closedir(d);
			return (-1);
		}
		a = &assets[nassets];
		(void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1 ||
		    st.st_size > ASSET_SIZE_MAX) {
			(void)snprintf(err, errlen, "%s: unreadable or too "
			    "large", path);
			if (fd != -1)
				(void)close(fd);
			(void)closedir(d);
			return (-1);
		}
		a->data = kore_malloc((size_t)st.st_size + 1);
		a->len = (size_t)read(fd, a->data, (size_t)st.st_size);
		(void)close(fd);
		(void)snprintf(a->name, sizeof(a->name), "%.63s", de->d_name);
		a->type = assets_type(a->name);
		crypto_generichash(h, sizeof(h), a->data, a->len, NULL, 0);
		a->etag[0] = '"';
		sodium_bin2hex(a->etag + 1, 33, h, sizeof(h));
		a->etag[33] = '"';
		a->etag[34] = '\0';
		nassets++;
	}
	(void)closedir(d);
	return (0);
}

int
page_asset(struct http_request *req)
{
	const char	*name, *inm;
	size_t		 i;

	if (!page_request_ok(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD,
	    "GET, HEAD"))
		return (KORE_RESULT_OK);
	name = req->path + strlen("/assets/");
	for (i = 0; i < nassets; i++) {
		if (strcmp(assets[i].name, name) == 0)
			break;
	}
	if (i == nassets) {
		page_error(req, 404, "Not found", "There is no such file.",
		    NULL, NULL);
		return (KORE_RESULT_OK);
	}

	page_security_headers(req);
	http_response_header(req, "etag", assets[i].etag);
	http_response_header(req, "cache-control", "public, max-age=300");
	if (http_request_header(req, "if-none-match", &inm) &&
	    strcmp(inm, assets[i].etag) == 0) {
		page_respond(req, 304, NULL, 0);
		return (KORE_RESULT_OK);
	}
	http_response_header(req, "content-type", assets[i].type);
	page_respond(req, 200, assets[i].data, assets[i].len);
	return (KORE_RESULT_OK);
}
