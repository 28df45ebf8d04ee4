/*
 * ctl_copy.h: formworkctl's commands on the store as a whole, which run
 * before (or instead of) opening it the usual way: backup, restore,
 * check and migrate. Each takes the store's path and its own arguments, prints what
 * it did, and returns the exit status (0, 1 failed, 2 usage).
 */

#ifndef FORMWORK_CTL_COPY_H
#define FORMWORK_CTL_COPY_H

int	ctl_backup(const char *path, int argc, char **argv);
int	ctl_restore(const char *path, int argc, char **argv);
int	ctl_check(const char *path, int argc, char **argv);
int	ctl_migrate(const char *path, int argc, char **argv);

#endif
