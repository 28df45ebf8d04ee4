/*
 * store_file.h: how both backends' backups reach their file (see
 * store_file.c); only the store's backup files include it.
 */

#ifndef FORMWORK_STORE_FILE_H
#define FORMWORK_STORE_FILE_H

#include <sys/types.h>

/*
 * The name a backup of file is written under until it is whole
 * ("FILE.partial") into part, and what an interrupted backup left by
 * that name removed: 0, or -1 with a sentence in err.
 */
int	store_file_partial(const char *file, char *part, size_t partlen,
	    char *err, size_t errlen);

/*
 * Syncs the whole copy at part, renames it over file and syncs the
 * directory, so file is either the old one or the whole new one, even
 * after a crash. On failure part is removed: -1 with a sentence in err.
 */
int	store_file_install(const char *part, const char *file, char *err,
	    size_t errlen);

#endif
