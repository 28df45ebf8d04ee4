/*
 * alert.h: the owner's alert digest (SPEC 11). When jobs fail for good,
 * FORMWORK_ALERT_TO gets one mail listing them with links to the desk:
 * FORMWORK_ALERT_DELAY after the first (so that failures that come
 * together are listed together), then at most one per 15 minutes, on
 * every node together (the store keeps the times). A digest that cannot
 * be sent is tried again a minute later.
 */

#ifndef FORMWORK_ALERT_H
#define FORMWORK_ALERT_H

struct store_handle;

/*
 * A runner, between jobs (queue.c calls it about once a second per
 * worker): sends the digest when one is due. stopping as in actions.h.
 */
void	alert_check(struct store_handle *, int (*stopping)(void));

#endif
