#ifndef CLINUXSHIM_H
#define CLINUXSHIM_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <pthread.h>

/* accept4 is a GNU extension that Glibc's Swift overlay does not export. */
int cshim_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
/* errno through a function: Swift cannot read the thread-local macro directly everywhere. */
int cshim_errno(void);
/* pthread_setname_np is a GNU extension too; names longer than 15 bytes are cut. */
int cshim_pthread_setname(pthread_t thread, const char *name);
#endif
