/* Test-only fault injection, preloaded into glusterd and the bricks it
 * starts (GR_GLUSTERD_PRELOAD in lib/cluster.sh): widens the moment in which
 * GlusterFS's posix has created a new entry but not yet set its GFID.
 *
 * posix creates the entry, then writes its trusted.gfid2path.* xattr, then
 * its trusted.gfid. A named lookup arriving in between gives the entry the
 * lookup's own GFID (posix_gfid_heal). That window is a few microseconds,
 * so a test that wants the race every run (receiver_create_race.sh) sleeps
 * GEOREP_TEST_NEW_ENTRY_DELAY_US microseconds before each gfid2path write,
 * which only entry creation does. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

typedef int (*lsetxattr_fn)(const char *, const char *, const void *, size_t, int);

int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)
{
    static lsetxattr_fn real;
    static long delay_us = -1;

    if (!real)
        real = (lsetxattr_fn)dlsym(RTLD_NEXT, "lsetxattr");
    if (delay_us < 0) {
        const char *v = getenv("GEOREP_TEST_NEW_ENTRY_DELAY_US");
        delay_us = v ? atol(v) : 0;
    }
    if (delay_us > 0 && name && strncmp(name, "trusted.gfid2path.", 18) == 0) {
        struct timespec ts = {delay_us / 1000000, (delay_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
    return real(path, name, value, size, flags);
}
