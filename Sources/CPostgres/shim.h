#ifndef CPOSTGRES_SHIM_H
#define CPOSTGRES_SHIM_H
#include <libpq-fe.h>
#include <postgres_ext.h>

/* Swift does not import character-literal macros: the error fields as functions. */
static inline int cpostgres_diag_sqlstate(void) { return PG_DIAG_SQLSTATE; }
static inline int cpostgres_diag_message_primary(void) { return PG_DIAG_MESSAGE_PRIMARY; }

#endif
