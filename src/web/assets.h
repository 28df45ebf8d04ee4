/*
 * assets.h: the files under assets/ (CSS, icons), read into memory once
 * at start-up and served from there with a strong ETag.
 */

#ifndef FORMWORK_ASSETS_H
#define FORMWORK_ASSETS_H

#include <stddef.h>

int	assets_load(const char *dir, char *err, size_t errlen);

#endif
