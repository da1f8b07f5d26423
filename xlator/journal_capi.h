/* Plain-C interface between the translator glue (georep-xlator.c, which
 * includes GlusterFS headers and therefore cannot be C++) and the C++ journal
 * core. Only plain C types cross this line; every function returns 0 or a
 * negative errno and never throws.
 *
 * Threading: georep_journal_append may be called from any number of threads
 * at once (GlusterFS io-threads). open/reconfigure/close are called from
 * init/reconfigure/fini, which GlusterFS serialises. */
#ifndef GEOREP_JOURNAL_CAPI_H
#define GEOREP_JOURNAL_CAPI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Values equal journal::Op in journal/record.h (on-disk values). */
enum georep_op {
    GEOREP_OP_CREATE = 1,
    GEOREP_OP_MKNOD = 2,
    GEOREP_OP_MKDIR = 3,
    GEOREP_OP_SYMLINK = 4,
    GEOREP_OP_LINK = 5,
    GEOREP_OP_RENAME = 6,
    GEOREP_OP_UNLINK = 7,
    GEOREP_OP_RMDIR = 8,
    GEOREP_OP_WRITE = 9,
    GEOREP_OP_TRUNCATE = 10,
    GEOREP_OP_FALLOCATE = 11,
    GEOREP_OP_DISCARD = 12,
    GEOREP_OP_ZEROFILL = 13,
    GEOREP_OP_SETATTR = 14,
    GEOREP_OP_SETXATTR = 15,
    GEOREP_OP_REMOVEXATTR = 16,
};

/* Values equal journal::Origin. */
enum georep_origin {
    GEOREP_ORIGIN_CLIENT = 0,
    GEOREP_ORIGIN_REPLICATION = 1,
    GEOREP_ORIGIN_REBALANCE = 2,
    GEOREP_ORIGIN_SELF_HEAL = 3,
    GEOREP_ORIGIN_OTHER_INTERNAL = 4,
};

/* Values equal journal::RecordFlag. */
#define GEOREP_FLAG_VIA_FD 0x1
#define GEOREP_FLAG_DHT_LINKTO 0x2
#define GEOREP_FLAG_INTERNAL_XATTR 0x4

/* One change, filled by the glue. Strings may be NULL (= empty) and are
 * copied before georep_journal_append returns. */
struct georep_event {
    uint8_t op;     /* enum georep_op */
    uint8_t origin; /* enum georep_origin */
    uint16_t flags;
    unsigned char gfid[16];
    unsigned char pargfid[16];
    const char *name;
    unsigned char pargfid2[16];
    const char *name2;
    unsigned char gfid2[16];
    uint32_t mode;
    uint32_t uid;
    uint32_t gid;
    uint64_t rdev;
    uint64_t offset;
    uint64_t length;
    uint32_t attr_mask;
    uint32_t aux;
    uint64_t atime_ns;
    uint64_t mtime_ns;
    const char *target;
    const char *xattr_names; /* '\0'-separated keys */
    size_t xattr_names_len;  /* bytes in xattr_names including separators */
};

/* fsync policy for power loss (a SIGKILLed brick loses nothing either way:
 * records reach the kernel before the fop is acknowledged). */
enum georep_fsync_policy {
    GEOREP_FSYNC_NEVER = 0,    /* the kernel's writeback decides */
    GEOREP_FSYNC_INTERVAL = 1, /* fdatasync every fsync_interval_ms */
    GEOREP_FSYNC_ALWAYS = 2,   /* fdatasync before each fop is acknowledged */
};

/* Receives the journal's operator-facing messages (consumers marked for a
 * full resync by the size cap, failed appends, failed syncs, segments removed
 * behind the writer's back), each one complete sentence without a trailing
 * newline. Called from any appending thread or the journal's own background
 * sync thread, possibly while the journal holds its lock: it must be
 * thread-safe, must not call georep_journal_* and must return (not longjmp).
 * message is valid only during the call. */
typedef void (*georep_journal_warning_fn)(void *cookie, const char *message);

struct georep_journal_options {
    const char *brick_path;        /* the brick root; journal lives below it */
    const char *brick_id;          /* recorded in segment headers */
    uint64_t segment_size;         /* roll over to a new segment past this */
    uint64_t max_journal_size;     /* cap on all segments; 0 = no cap */
    int fsync_policy;              /* enum georep_fsync_policy */
    uint32_t fsync_interval_ms;
    int record_internal;           /* 0: skip fops of rebalance/self-heal/other internal */
    /* Taken at open only (reconfigure keeps the first ones). NULL: the
     * messages go to stderr, which a brick process discards. cookie is
     * passed back unchanged and must stay valid until georep_journal_close
     * returns. */
    georep_journal_warning_fn on_warning;
    void *warning_cookie;
};

typedef struct georep_journal georep_journal_t;

/* Opens (creating if needed) the journal below options->brick_path, recovers
 * the last sequence number from existing segments and starts a new segment.
 * On failure returns -errno and writes a message into err. */
int georep_journal_open(const struct georep_journal_options *options, georep_journal_t **out,
                        char *err, size_t err_len);

/* Records one change. Returns after the record is in the kernel (and on
 * stable storage with GEOREP_FSYNC_ALWAYS). On failure the journal marks
 * itself as having lost records, so that consumers are told to resync. */
int georep_journal_append(georep_journal_t *j, const struct georep_event *ev);

/* Applies changed options; brick_path/brick_id cannot change. */
int georep_journal_reconfigure(georep_journal_t *j, const struct georep_journal_options *options,
                               char *err, size_t err_len);

/* Counters for statedump and tests. */
struct georep_journal_stats {
    uint64_t next_seq;
    uint64_t records;
    uint64_t append_errors;
    uint64_t segments;
    uint64_t bytes;
};
int georep_journal_stats(georep_journal_t *j, struct georep_journal_stats *out);

/* Flushes, syncs and frees. NULL is allowed. */
void georep_journal_close(georep_journal_t *j);

#ifdef __cplusplus
}
#endif
#endif /* GEOREP_JOURNAL_CAPI_H */
