/*
 * app.h: what the Kore hooks set up for the route handlers: the declared
 * forms, and the id of this build of the pages (part of every ETag).
 */

#ifndef FORMWORK_APP_H
#define FORMWORK_APP_H

#include "core/forms.h"

extern struct form_list	app_forms;
extern char		app_build_id[17];

#endif
