/*
 * methods.h - the daemon's own methods: hello, ping and shutdown.  The run
 * methods are registered by the run manager (run_methods.c).
 */
#ifndef IGNITED_METHODS_H
#define IGNITED_METHODS_H

#include "server/server.h"

/* Register them on srv.  Returns 0 or -1 when out of memory. */
int methods_register(struct server *srv);

#endif
