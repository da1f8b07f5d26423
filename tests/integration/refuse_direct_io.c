/* Test-only fault injection, preloaded into glusterd and the bricks it
 * starts (GR_GLUSTERD_ENV in lib/cluster.sh): the brick file system refuses
 * O_DIRECT, as some do (older tmpfs, some FUSE and ZFS versions), so that
 * georep-receiver's fallback to buffered writes runs on real GlusterFS
 * (receiver_direct_fallback.sh).
 *
 *   GEOREP_TEST_REFUSE_DIRECT=write  writes on an O_DIRECT fd fail with EINVAL
 *                                    (the open succeeds: a write-time refusal)
 *   GEOREP_TEST_REFUSE_DIRECT=open   opens with O_DIRECT fail with EINVAL
 *
 * Anything else (or unset) changes nothing. */
/* Both open and open64 (etc.) are defined below, so the headers must not
 * alias one to the other (the build sets _FILE_OFFSET_BITS=64). */
#undef _FILE_OFFSET_BITS
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static int mode(void)
{
    /* 0: off, 1: refuse writes, 2: refuse opens */
    static int m = -1;
    if (m < 0) {
        const char *v = getenv("GEOREP_TEST_REFUSE_DIRECT");
        m = !v ? 0 : strcmp(v, "write") == 0 ? 1 : strcmp(v, "open") == 0 ? 2 : 0;
    }
    return m;
}

static int direct_fd(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_DIRECT) != 0;
}

#define REFUSE_WRITE(fd)                      \
    do {                                      \
        if (mode() == 1 && direct_fd(fd)) {   \
            errno = EINVAL;                   \
            return -1;                        \
        }                                     \
    } while (0)

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real)
        real = dlsym(RTLD_NEXT, "pwrite64");
    REFUSE_WRITE(fd);
    return real(fd, buf, n, off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    return pwrite64(fd, buf, n, off);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
    static ssize_t (*real)(int, const struct iovec *, int, off_t);
    if (!real)
        real = dlsym(RTLD_NEXT, "pwritev64");
    REFUSE_WRITE(fd);
    return real(fd, iov, cnt, off);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    return pwritev64(fd, iov, cnt, off);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*real)(int, const void *, size_t);
    if (!real)
        real = dlsym(RTLD_NEXT, "write");
    REFUSE_WRITE(fd);
    return real(fd, buf, n);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    static ssize_t (*real)(int, const struct iovec *, int);
    if (!real)
        real = dlsym(RTLD_NEXT, "writev");
    REFUSE_WRITE(fd);
    return real(fd, iov, cnt);
}

/* The mode argument of an open(2)-like call, present only when it creates. */
#define OPEN_MODE(flags, m)                                              \
    do {                                                                 \
        if (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE) { \
            va_list ap;                                                  \
            va_start(ap, flags);                                         \
            (m) = va_arg(ap, mode_t);                                    \
            va_end(ap);                                                  \
        }                                                                \
    } while (0)

static int refuse_open(int flags)
{
    if (mode() == 2 && (flags & O_DIRECT) != 0) {
        errno = EINVAL;
        return 1;
    }
    return 0;
}

int open64(const char *path, int flags, ...)
{
    static int (*real)(const char *, int, ...);
    mode_t m = 0;
    OPEN_MODE(flags, m);
    if (!real)
        real = dlsym(RTLD_NEXT, "open64");
    if (refuse_open(flags))
        return -1;
    return real(path, flags, m);
}

int open(const char *path, int flags, ...)
{
    mode_t m = 0;
    OPEN_MODE(flags, m);
    return open64(path, flags, m);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    static int (*real)(int, const char *, int, ...);
    mode_t m = 0;
    OPEN_MODE(flags, m);
    if (!real)
        real = dlsym(RTLD_NEXT, "openat64");
    if (refuse_open(flags))
        return -1;
    return real(dirfd, path, flags, m);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    mode_t m = 0;
    OPEN_MODE(flags, m);
    return openat64(dirfd, path, flags, m);
}
