#define _GNU_SOURCE
#include <sys/socket.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include "CLinuxShim.h"

int cshim_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) { return accept4(fd, addr, len, flags); }
int cshim_errno(void) { return errno; }

int cshim_pthread_setname(pthread_t thread, const char *name) {
    char shortName[16];
    strncpy(shortName, name, sizeof shortName - 1);
    shortName[sizeof shortName - 1] = 0;
    return pthread_setname_np(thread, shortName);
}
