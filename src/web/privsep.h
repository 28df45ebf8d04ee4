/*
 * privsep.h: workers that run unprivileged when Formwork is started as
 * root. Kore switches a worker to its `runas` user after fork; with -r
 * (how make run and a hand-started server run it) it switches nobody.
 * When the parent is root and FORMWORK_USER names a user, Formwork has
 * Kore switch the workers to that user, and hands it the data the
 * workers write (the database and what lies beside it, the outbox, the
 * exports, Kore's spool of large bodies). The parent keeps root: it only
 * reads the settings, forms, templates and assets, and waits.
 */

#ifndef FORMWORK_PRIVSEP_H
#define FORMWORK_PRIVSEP_H

/* Parent, once the store exists: stops start-up with a message on error. */
void	privsep_configure(void);

#endif
