#define _GNU_SOURCE
#include <sys/socket.h>
#include <errno.h>
#include "CLinuxShim.h"

int cshim_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) { return accept4(fd, addr, len, flags); }
int cshim_errno(void) { return errno; }
