/*
 * georep: server-side (brick) translator that records every successful change
 * of the brick in the georep journal (<brick>/.glusterfs/georep), for the
 * geo-replication workers to ship to a secondary volume.
 *
 * Placement: directly above storage/posix
 *     gluster volume set VOL user.xlator.georep posix
 * so that what is recorded is exactly what reached the disk, after every other
 * server translator (locks, io-threads, changelog, ...) has had its say.
 *
 * Contract with the client: a change is recorded in the fop's callback, only
 * when op_ret >= 0, and the fop is unwound only after georep_journal_append
 * returned, so every change a client saw succeed is in the journal (in the
 * kernel's page cache at least, which survives a SIGKILL of the brick).
 *
 * This is the only file that includes <glusterfs/...>; the journal itself is
 * C++ and is reached through journal_capi.h.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include <glusterfs/glusterfs.h>
#include <glusterfs/common-utils.h>
#include <glusterfs/defaults.h>
#include <glusterfs/dict.h>
#include <glusterfs/glfs-message-id.h>
#include <glusterfs/logging.h>
#include <glusterfs/mem-types.h>
#include <glusterfs/statedump.h>
#include <glusterfs/xlator.h>

#include "journal_capi.h"

/* Memory accounting types of this translator. */
enum gf_georep_mem_types_ {
    gf_georep_mt_private_t = gf_common_mt_end + 1,
    gf_georep_mt_local_t,
    gf_georep_mt_char,
    gf_georep_mt_end
};

/* Message ids: this translator is built outside the GlusterFS tree and has no
 * segment in glfs-message-id.h, so it takes one well past the in-tree ones. */
#define GEOREP_MSGID_BASE (GLFS_MSGID_END + 64 * GLFS_MSGID_SEGMENT)
enum georep_msgid {
    GEOREP_MSG_NO_MEMORY = GEOREP_MSGID_BASE + 1,
    GEOREP_MSG_BAD_GRAPH,
    GEOREP_MSG_BAD_OPTION,
    GEOREP_MSG_JOURNAL_OPEN_FAILED,
    GEOREP_MSG_JOURNAL_APPEND_FAILED,
    GEOREP_MSG_JOURNAL_RECONF_FAILED,
    GEOREP_MSG_JOURNAL_OPENED,
    GEOREP_MSG_JOURNAL_WARNING,
};

/* The DHT link-to xattr (dht's default "xattr-name" + ".linkto"). A file that
 * carries it is a pointer to the brick that holds the data, not user data. */
#define GEOREP_DHT_LINKTO_KEY "trusted.glusterfs.dht.linkto"
#define GEOREP_TIER_LINKTO_KEY "trusted.tier.tier-dht.linkto"

/* Log the first append failure and then one in this many, so that a full or
 * broken journal disk cannot flood the brick log. */
#define GEOREP_APPEND_ERROR_LOG_EVERY 1000

/* Bits of a setattr valid mask that the journal records. */
#define GEOREP_SETATTR_RECORDED                                                \
    (GF_SET_ATTR_MODE | GF_SET_ATTR_UID | GF_SET_ATTR_GID |                    \
     GF_SET_ATTR_ATIME | GF_SET_ATTR_MTIME)

typedef struct {
    georep_journal_t *journal;
    /* Options as last applied (strings owned here). */
    char *brick_path;
    char *brick_id;
    struct georep_journal_options jopts;
    /* Read by every fop without a lock; written only by init/reconfigure. */
    int record_internal;
    /* Changes that reached the disk but not the journal. */
    gf_atomic_t append_errors;
    /* Fops refused because frame->local could not be allocated. */
    gf_atomic_t alloc_failures;
} georep_private_t;

/* What a callback needs to finish the event, stashed at wind time. Strings in
 * ev are owned copies (the loc/dict they came from may be gone by then). */
typedef struct {
    struct georep_event ev;
    char *name;
    char *name2;
    char *target;
    char *xattr_names;
    uint32_t ia_type_mode;   /* S_IF* bits from the inode, if no iatt arrives */
    int32_t open_flags;      /* open: flags as wound */
    gf_boolean_t append;     /* writev on an O_APPEND fd: offset is EOF */
    gf_boolean_t linkto_if_stub; /* rename w/o DHT rename key: flag if linkto */
    gf_boolean_t times_now_a;    /* setattr: atime/mtime set to "now" */
    gf_boolean_t times_now_m;
} georep_local_t;

/* ------------------------------------------------------------------------ */
/* Event building helpers (no GlusterFS calls beyond pure accessors)          */

static uint8_t
georep_origin_from_pid(pid_t pid)
{
    if (pid >= 0)
        return GEOREP_ORIGIN_CLIENT;
    switch (pid) {
        case GF_CLIENT_PID_GSYNCD:
            return GEOREP_ORIGIN_REPLICATION;
        case GF_CLIENT_PID_DEFRAG:
            return GEOREP_ORIGIN_REBALANCE;
        case GF_CLIENT_PID_SELF_HEALD:
        case GF_CLIENT_PID_GLFS_HEAL:
            return GEOREP_ORIGIN_SELF_HEAL;
        case GF_CLIENT_PID_NO_ROOT_SQUASH:
            /* FRAME_SU_DO sets this pid when a client-side translator redoes a
             * client's own fop as root (DHT's rename of a linked file, its
             * link-file creation): the change is the client's. Treating it as
             * internal would drop user renames with record-internal off. */
            return GEOREP_ORIGIN_CLIENT;
        default:
            return GEOREP_ORIGIN_OTHER_INTERNAL;
    }
}

static gf_boolean_t
georep_origin_is_internal(uint8_t origin)
{
    return origin == GEOREP_ORIGIN_REBALANCE ||
           origin == GEOREP_ORIGIN_SELF_HEAL ||
           origin == GEOREP_ORIGIN_OTHER_INTERNAL;
}

/* trusted.* and glusterfs.* keys are GlusterFS's own bookkeeping (gfid,
 * layouts, afr/ec pending counts, quota, bit-rot, ...) or can only be set by
 * root as such; user.*, security.* and system.* (ACLs) are user data. */
static gf_boolean_t
georep_xattr_is_internal(const char *key)
{
    return strncmp(key, "trusted.", 8) == 0 ||
           strncmp(key, "glusterfs.", 10) == 0 ||
           /* features/utime's virtual key: sets the ctime metadata that
            * posix keeps in trusted.glusterfs.mdata */
           strcmp(key, CTIME_MDATA_XDATA_KEY) == 0;
}

static gf_boolean_t
georep_xattr_is_linkto(const char *key)
{
    return strcmp(key, GEOREP_DHT_LINKTO_KEY) == 0 ||
           strcmp(key, GEOREP_TIER_LINKTO_KEY) == 0;
}

static uint64_t
georep_ns(int64_t sec, uint32_t nsec)
{
    if (sec < 0)
        return 0;
    return (uint64_t)sec * 1000000000ull + nsec;
}

static uint32_t
georep_type_mode(ia_type_t type)
{
    ia_prot_t none = {
        0,
    };
    return (uint32_t)st_mode_from_ia(none, type);
}

/* The entry's own name "/.glusterfs" holds GlusterFS's handles and our own
 * journal; posix refuses lookups of it, but never journal it even if a
 * privileged client got a fop through. */
static gf_boolean_t
georep_is_hidden_entry(const unsigned char *pargfid, const char *name)
{
    return name && __is_root_gfid((unsigned char *)pargfid) &&
           strcmp(name, GF_HIDDEN_PATH) == 0;
}

static void
georep_gfid_of_loc(unsigned char *out, loc_t *loc)
{
    if (loc->inode && !gf_uuid_is_null(loc->inode->gfid))
        gf_uuid_copy(out, loc->inode->gfid);
    else
        gf_uuid_copy(out, loc->gfid);
}

static void
georep_pargfid_of_loc(unsigned char *out, loc_t *loc)
{
    if (!gf_uuid_is_null(loc->pargfid))
        gf_uuid_copy(out, loc->pargfid);
    else if (loc->parent)
        gf_uuid_copy(out, loc->parent->gfid);
}

/* Fills the parts of an event that come from the iatt the fop returned: the
 * object's gfid if still unknown, its type and mode, owner and group. */
static void
georep_event_set_iatt(struct georep_event *ev, const struct iatt *buf)
{
    if (!buf)
        return;
    if (gf_uuid_is_null(ev->gfid))
        gf_uuid_copy(ev->gfid, buf->ia_gfid);
    ev->mode = (uint32_t)st_mode_from_ia(buf->ia_prot, buf->ia_type);
    ev->uid = buf->ia_uid;
    ev->gid = buf->ia_gid;
}

/* ------------------------------------------------------------------------ */
/* frame->local                                                              */

static void
georep_local_free(georep_local_t *local)
{
    if (!local)
        return;
    GF_FREE(local->name);
    GF_FREE(local->name2);
    GF_FREE(local->target);
    GF_FREE(local->xattr_names);
    GF_FREE(local);
}

/* Unwinds and frees frame->local afterwards (the parents never see it). */
#define GEOREP_STACK_UNWIND(fop, frame, params...)                             \
    do {                                                                       \
        georep_local_t *__local = (frame)->local;                             \
        (frame)->local = NULL;                                                 \
        STACK_UNWIND_STRICT(fop, frame, params);                               \
        georep_local_free(__local);                                            \
    } while (0)

/* Starts recording a fop: returns 0 with *out NULL when the fop is not to be
 * journaled (internal origin filtered out), 0 with *out set otherwise, and
 * -1 when the local could not be allocated. The caller must then fail the
 * fop with ENOMEM rather than let a change reach the disk unrecorded. */
static int
georep_local_start(xlator_t *this, call_frame_t *frame, uint8_t op,
                   georep_local_t **out)
{
    georep_private_t *priv = this->private;
    georep_local_t *local = NULL;
    uint8_t origin = georep_origin_from_pid(frame->root->pid);

    *out = NULL;
    if (!__atomic_load_n(&priv->record_internal, __ATOMIC_RELAXED) &&
        georep_origin_is_internal(origin))
        return 0;

    local = GF_CALLOC(1, sizeof(*local), gf_georep_mt_local_t);
    if (!local) {
        GF_ATOMIC_INC(priv->alloc_failures);
        gf_msg(this->name, GF_LOG_ERROR, ENOMEM, GEOREP_MSG_NO_MEMORY,
               "cannot allocate the journal record of a %s; the fop is refused "
               "so that no change goes unrecorded",
               gf_fop_list[frame->root->op]);
        return -1;
    }
    local->ev.op = op;
    local->ev.origin = origin;
    *out = local;
    return 0;
}

/* gf_strdup that reports failure distinctly from a NULL source. */
static int
georep_dup(char **dst, const char *src)
{
    if (!src)
        return 0;
    *dst = gf_strdup(src);
    return *dst ? 0 : -1;
}

/* The entry (pargfid, name) of loc, with the inode's gfid if known. */
static int
georep_local_set_entry(georep_local_t *local, loc_t *loc)
{
    georep_gfid_of_loc(local->ev.gfid, loc);
    georep_pargfid_of_loc(local->ev.pargfid, loc);
    if (loc->inode)
        local->ia_type_mode = georep_type_mode(loc->inode->ia_type);
    if (georep_dup(&local->name, loc->name))
        return -1;
    local->ev.name = local->name;
    return 0;
}

/* A fop on an existing object given by loc or fd. */
static void
georep_local_set_inode(georep_local_t *local, inode_t *inode)
{
    if (!inode)
        return;
    gf_uuid_copy(local->ev.gfid, inode->gfid);
    local->ia_type_mode = georep_type_mode(inode->ia_type);
}

/* DHT marks the entry fops it issues for its own bookkeeping (the hard link and
 * the unlinks of a rename across bricks, link-to files) with this key; the
 * user-visible change is recorded separately (e.g. the unlink that carries the
 * rename key). Self-heal is exempt, as in GlusterFS's changelog. */
static gf_boolean_t
georep_is_dht_bookkeeping(call_frame_t *frame, dict_t *xdata)
{
    if (!xdata)
        return _gf_false;
    if (dict_get(xdata, GEOREP_DHT_LINKTO_KEY) ||
        dict_get(xdata, GEOREP_TIER_LINKTO_KEY) ||
        dict_get(xdata, DHT_SKIP_NON_LINKTO_UNLINK))
        return _gf_true;
    return frame->root->pid != GF_CLIENT_PID_SELF_HEALD &&
           dict_get(xdata, GLUSTERFS_INTERNAL_FOP_KEY) != NULL;
}

struct georep_xattr_keys {
    char *buf;
    size_t len;
    size_t cap;
    gf_boolean_t all_internal;
    gf_boolean_t linkto;
    gf_boolean_t failed;
};

static int
georep_collect_xattr_key(dict_t *d, char *key, data_t *value, void *data)
{
    struct georep_xattr_keys *keys = data;
    size_t klen = strlen(key) + 1;

    if (keys->len + klen > keys->cap) {
        size_t cap = (keys->cap ? keys->cap * 2 : 128);
        char *nbuf = NULL;
        while (cap < keys->len + klen)
            cap *= 2;
        /* GF_REALLOC does not take NULL when memory accounting is on. */
        nbuf = keys->buf ? GF_REALLOC(keys->buf, cap)
                         : GF_MALLOC(cap, gf_georep_mt_char);
        if (!nbuf) {
            keys->failed = _gf_true;
            return -1;
        }
        keys->buf = nbuf;
        keys->cap = cap;
    }
    memcpy(keys->buf + keys->len, key, klen);
    keys->len += klen;
    if (!georep_xattr_is_internal(key))
        keys->all_internal = _gf_false;
    if (georep_xattr_is_linkto(key))
        keys->linkto = _gf_true;
    return 0;
}

/* Stashes the '\0'-separated keys of dict (setxattr) or the single name
 * (removexattr) and sets the xattr flags. */
static int
georep_local_set_xattr_keys(georep_local_t *local, dict_t *dict,
                            const char *single)
{
    struct georep_xattr_keys keys = {
        .all_internal = _gf_true,
    };

    if (single) {
        georep_collect_xattr_key(NULL, (char *)single, NULL, &keys);
    } else if (dict) {
        dict_foreach(dict, georep_collect_xattr_key, &keys);
    }
    if (keys.failed) {
        GF_FREE(keys.buf);
        return -1;
    }
    local->xattr_names = keys.buf;
    local->ev.xattr_names = keys.buf;
    local->ev.xattr_names_len = keys.len;
    if (keys.len > 0 && keys.all_internal)
        local->ev.flags |= GEOREP_FLAG_INTERNAL_XATTR;
    if (keys.linkto)
        local->ev.flags |= GEOREP_FLAG_DHT_LINKTO;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Recording                                                                 */

/* Completes the event from the iatt the fop returned and appends it. Called
 * from callbacks only with op_ret >= 0. The fop has already happened on disk:
 * a failed append cannot undo it, so it is logged and counted, and the
 * journal marks the gap so that consumers resynchronise. */
static void
georep_record(xlator_t *this, georep_local_t *local, const struct iatt *buf)
{
    georep_private_t *priv = this->private;
    int ret = 0;
    uint64_t errors = 0;

    georep_event_set_iatt(&local->ev, buf);
    if (!buf || buf->ia_type == IA_INVAL)
        local->ev.mode = local->ia_type_mode;
    if (georep_is_hidden_entry(local->ev.pargfid, local->ev.name) ||
        georep_is_hidden_entry(local->ev.pargfid2, local->ev.name2))
        return;

    ret = georep_journal_append(priv->journal, &local->ev);
    if (ret == 0)
        return;

    errors = GF_ATOMIC_INC(priv->append_errors);
    if (errors == 1 || errors % GEOREP_APPEND_ERROR_LOG_EVERY == 0) {
        char gfid[GF_UUID_BUF_SIZE];
        gf_msg(this->name, GF_LOG_ERROR, -ret, GEOREP_MSG_JOURNAL_APPEND_FAILED,
               "journal append failed for op %u on gfid %s (%" PRIu64
               " failures so far); the change is on disk but not in the "
               "journal, which now tells its consumers to resynchronise. "
               "Check the brick's file system (free space, errors) under %s",
               (unsigned)local->ev.op, uuid_utoa_r(local->ev.gfid, gfid), errors,
               priv->brick_path);
    }
}

/* Shared tail of every wind: the local could not be built. */
#define GEOREP_FAIL_NOMEM(fop, frame, local, params...)                        \
    do {                                                                       \
        georep_local_free(local);                                              \
        (frame)->local = NULL;                                                 \
        STACK_UNWIND_STRICT(fop, frame, -1, ENOMEM, params);                   \
        return 0;                                                              \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Entry fops                                                                */

static int32_t
georep_create_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                  int32_t op_ret, int32_t op_errno, fd_t *fd, inode_t *inode,
                  struct iatt *buf, struct iatt *preparent,
                  struct iatt *postparent, dict_t *xdata)
{
    if (frame->local && op_ret >= 0)
        georep_record(this, frame->local, buf);
    GEOREP_STACK_UNWIND(create, frame, op_ret, op_errno, fd, inode, buf,
                        preparent, postparent, xdata);
    return 0;
}

static int32_t
georep_create(call_frame_t *frame, xlator_t *this, loc_t *loc, int32_t flags,
              mode_t mode, mode_t umask, fd_t *fd, dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start(this, frame, GEOREP_OP_CREATE, &local))
        GEOREP_FAIL_NOMEM(create, frame, local, NULL, NULL, NULL, NULL, NULL,
                          NULL);
    if (local) {
        if (georep_local_set_entry(local, loc))
            GEOREP_FAIL_NOMEM(create, frame, local, NULL, NULL, NULL, NULL,
                              NULL, NULL);
        gf_uuid_clear(local->ev.gfid); /* from the returned iatt */
        if (georep_is_dht_bookkeeping(frame, xdata))
            local->ev.flags |= GEOREP_FLAG_DHT_LINKTO;
        frame->local = local;
    }
    STACK_WIND(frame, georep_create_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->create, loc, flags, mode, umask, fd,
               xdata);
    return 0;
}

static int32_t
georep_mknod_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                 int32_t op_ret, int32_t op_errno, inode_t *inode,
                 struct iatt *buf, struct iatt *preparent,
                 struct iatt *postparent, dict_t *xdata)
{
    if (frame->local && op_ret >= 0)
        georep_record(this, frame->local, buf);
    GEOREP_STACK_UNWIND(mknod, frame, op_ret, op_errno, inode, buf, preparent,
                        postparent, xdata);
    return 0;
}

static int32_t
georep_mknod(call_frame_t *frame, xlator_t *this, loc_t *loc, mode_t mode,
             dev_t rdev, mode_t umask, dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start(this, frame, GEOREP_OP_MKNOD, &local))
        GEOREP_FAIL_NOMEM(mknod, frame, local, NULL, NULL, NULL, NULL, NULL);
    if (local) {
        if (georep_local_set_entry(local, loc))
            GEOREP_FAIL_NOMEM(mknod, frame, local, NULL, NULL, NULL, NULL,
                              NULL);
        gf_uuid_clear(local->ev.gfid);
        local->ev.rdev = (uint64_t)rdev;
        if (georep_is_dht_bookkeeping(frame, xdata))
            local->ev.flags |= GEOREP_FLAG_DHT_LINKTO;
        frame->local = local;
    }
    STACK_WIND(frame, georep_mknod_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->mknod, loc, mode, rdev, umask, xdata);
    return 0;
}

static int32_t
georep_mkdir_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                 int32_t op_ret, int32_t op_errno, inode_t *inode,
                 struct iatt *buf, struct iatt *preparent,
                 struct iatt *postparent, dict_t *xdata)
{
    if (frame->local && op_ret >= 0)
        georep_record(this, frame->local, buf);
    GEOREP_STACK_UNWIND(mkdir, frame, op_ret, op_errno, inode, buf, preparent,
                        postparent, xdata);
    return 0;
}

static int32_t
georep_mkdir(call_frame_t *frame, xlator_t *this, loc_t *loc, mode_t mode,
             mode_t umask, dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start(this, frame, GEOREP_OP_MKDIR, &local))
        GEOREP_FAIL_NOMEM(mkdir, frame, local, NULL, NULL, NULL, NULL, NULL);
    if (local) {
        if (georep_local_set_entry(local, loc))
            GEOREP_FAIL_NOMEM(mkdir, frame, local, NULL, NULL, NULL, NULL,
                              NULL);
        gf_uuid_clear(local->ev.gfid);
        if (georep_is_dht_bookkeeping(frame, xdata))
            local->ev.flags |= GEOREP_FLAG_DHT_LINKTO;
        frame->local = local;
    }
    STACK_WIND(frame, georep_mkdir_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->mkdir, loc, mode, umask, xdata);
    return 0;
}

static int32_t
georep_symlink_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                   int32_t op_ret, int32_t op_errno, inode_t *inode,
                   struct iatt *buf, struct iatt *preparent,
                   struct iatt *postparent, dict_t *xdata)
{
    if (frame->local && op_ret >= 0)
        georep_record(this, frame->local, buf);
    GEOREP_STACK_UNWIND(symlink, frame, op_ret, op_errno, inode, buf,
                        preparent, postparent, xdata);
    return 0;
}

static int32_t
georep_symlink(call_frame_t *frame, xlator_t *this, const char *linkname,
               loc_t *loc, mode_t umask, dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start(this, frame, GEOREP_OP_SYMLINK, &local))
        GEOREP_FAIL_NOMEM(symlink, frame, local, NULL, NULL, NULL, NULL, NULL);
    if (local) {
        if (georep_local_set_entry(local, loc) ||
            georep_dup(&local->target, linkname))
            GEOREP_FAIL_NOMEM(symlink, frame, local, NULL, NULL, NULL, NULL,
                              NULL);
        gf_uuid_clear(local->ev.gfid);
        local->ev.target = local->target;
        frame->local = local;
    }
    STACK_WIND(frame, georep_symlink_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->symlink, linkname, loc, umask, xdata);
    return 0;
}

static int32_t
georep_link_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                int32_t op_ret, int32_t op_errno, inode_t *inode,
                struct iatt *buf, struct iatt *preparent,
                struct iatt *postparent, dict_t *xdata)
{
    if (frame->local && op_ret >= 0)
        georep_record(this, frame->local, buf);
    GEOREP_STACK_UNWIND(link, frame, op_ret, op_errno, inode, buf, preparent,
                        postparent, xdata);
    return 0;
}

static int32_t
georep_link(call_frame_t *frame, xlator_t *this, loc_t *oldloc, loc_t *newloc,
            dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start(this, frame, GEOREP_OP_LINK, &local))
        GEOREP_FAIL_NOMEM(link, frame, local, NULL, NULL, NULL, NULL, NULL);
    if (local) {
        /* The new name, pointing at the existing inode of oldloc. */
        if (georep_local_set_entry(local, newloc))
            GEOREP_FAIL_NOMEM(link, frame, local, NULL, NULL, NULL, NULL,
                              NULL);
        georep_local_set_inode(local, oldloc->inode);
        if (gf_uuid_is_null(local->ev.gfid))
            gf_uuid_copy(local->ev.gfid, oldloc->gfid);
        if (georep_is_dht_bookkeeping(frame, xdata))
            local->ev.flags |= GEOREP_FLAG_DHT_LINKTO;
        frame->local = local;
    }
    STACK_WIND(frame, georep_link_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->link, oldloc, newloc, xdata);
    return 0;
}

static int32_t
georep_rename_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                  int32_t op_ret, int32_t op_errno, struct iatt *buf,
                  struct iatt *preoldparent, struct iatt *postoldparent,
                  struct iatt *prenewparent, struct iatt *postnewparent,
                  dict_t *xdata)
{
    georep_local_t *local = frame->local;

    if (local && op_ret >= 0) {
        /* DHT renames a file without its rename key only when the file is
         * the link-to pointer on the new name's hashed brick. */
        if (local->linkto_if_stub && buf && IS_DHT_LINKFILE_MODE(buf))
            local->ev.flags |= GEOREP_FLAG_DHT_LINKTO;
        georep_record(this, local, buf);
    }
    GEOREP_STACK_UNWIND(rename, frame, op_ret, op_errno, buf, preoldparent,
                        postoldparent, prenewparent, postnewparent, xdata);
    return 0;
}

static int32_t
georep_rename(call_frame_t *frame, xlator_t *this, loc_t *oldloc,
              loc_t *newloc, dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start(this, frame, GEOREP_OP_RENAME, &local))
        GEOREP_FAIL_NOMEM(rename, frame, local, NULL, NULL, NULL, NULL, NULL,
                          NULL);
    if (local) {
        if (georep_local_set_entry(local, oldloc) ||
            georep_dup(&local->name2, newloc->name))
            GEOREP_FAIL_NOMEM(rename, frame, local, NULL, NULL, NULL, NULL,
                              NULL, NULL);
        local->ev.name2 = local->name2;
        georep_pargfid_of_loc(local->ev.pargfid2, newloc);
        /* The server resolves newloc->inode when the target exists: that is
         * the object the rename replaces. */
        if (newloc->inode && !gf_uuid_is_null(newloc->inode->gfid) &&
            gf_uuid_compare(newloc->inode->gfid, local->ev.gfid) != 0)
            gf_uuid_copy(local->ev.gfid2, newloc->inode->gfid);
        local->linkto_if_stub =
            (!oldloc->inode || oldloc->inode->ia_type != IA_IFDIR) &&
            !(xdata && dict_get(xdata, DHT_CHANGELOG_RENAME_OP_KEY));
        frame->local = local;
    }
    STACK_WIND(frame, georep_rename_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->rename, oldloc, newloc, xdata);
    return 0;
}

static int32_t
georep_unlink_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                  int32_t op_ret, int32_t op_errno, struct iatt *preparent,
                  struct iatt *postparent, dict_t *xdata)
{
    if (frame->local && op_ret >= 0)
        georep_record(this, frame->local, NULL);
    GEOREP_STACK_UNWIND(unlink, frame, op_ret, op_errno, preparent, postparent,
                        xdata);
    return 0;
}

/* DHT renames a file across bricks as link(new) + unlink(old) on the brick
 * that holds the data, and marks that unlink with the names of the rename:
 * record it as the rename the user did. */
static int
georep_local_set_dht_rename(georep_local_t *local, dict_t *xdata)
{
    dht_changelog_rename_info_t *info = NULL;
    data_t *data = NULL;
    size_t need = 0;

    if (!xdata)
        return 1;
    data = dict_get(xdata, DHT_CHANGELOG_RENAME_OP_KEY);
    if (!data || !data->data ||
        data->len < offsetof(dht_changelog_rename_info_t, buffer))
        return 1;
    info = (dht_changelog_rename_info_t *)data->data;
    /* The names come from the wire: trust their lengths only as far as the
     * value really reaches. A malformed value is journaled as the plain
     * unlink it also is. */
    if (info->oldname_len <= 0 || info->newname_len <= 0)
        return 1;
    need = offsetof(dht_changelog_rename_info_t, buffer) +
           (size_t)info->oldname_len + (size_t)info->newname_len;
    if (need > data->len)
        return 1;

    local->ev.op = GEOREP_OP_RENAME;
    gf_uuid_copy(local->ev.pargfid, info->old_pargfid);
    gf_uuid_copy(local->ev.pargfid2, info->new_pargfid);
    local->name = gf_strndup(info->buffer, info->oldname_len - 1);
    local->name2 = gf_strndup(info->buffer + info->oldname_len,
                              info->newname_len - 1);
    if (!local->name || !local->name2)
        return -1;
    local->ev.name = local->name;
    local->ev.name2 = local->name2;
    return 0;
}

static int32_t
georep_unlink(call_frame_t *frame, xlator_t *this, loc_t *loc, int xflags,
              dict_t *xdata)
{
    georep_local_t *local = NULL;
    int ret = 0;

    if (georep_local_start(this, frame, GEOREP_OP_UNLINK, &local))
        GEOREP_FAIL_NOMEM(unlink, frame, local, NULL, NULL, NULL);
    if (local) {
        georep_local_set_inode(local, loc->inode);
        if (gf_uuid_is_null(local->ev.gfid))
            gf_uuid_copy(local->ev.gfid, loc->gfid);
        ret = georep_local_set_dht_rename(local, xdata);
        if (ret < 0)
            GEOREP_FAIL_NOMEM(unlink, frame, local, NULL, NULL, NULL);
        if (ret > 0) {
            if (georep_local_set_entry(local, loc))
                GEOREP_FAIL_NOMEM(unlink, frame, local, NULL, NULL, NULL);
            if (georep_is_dht_bookkeeping(frame, xdata))
                local->ev.flags |= GEOREP_FLAG_DHT_LINKTO;
        }
        frame->local = local;
    }
    STACK_WIND(frame, georep_unlink_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->unlink, loc, xflags, xdata);
    return 0;
}

static int32_t
georep_rmdir_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                 int32_t op_ret, int32_t op_errno, struct iatt *preparent,
                 struct iatt *postparent, dict_t *xdata)
{
    if (frame->local && op_ret >= 0)
        georep_record(this, frame->local, NULL);
    GEOREP_STACK_UNWIND(rmdir, frame, op_ret, op_errno, preparent, postparent,
                        xdata);
    return 0;
}

static int32_t
georep_rmdir(call_frame_t *frame, xlator_t *this, loc_t *loc, int xflags,
             dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start(this, frame, GEOREP_OP_RMDIR, &local))
        GEOREP_FAIL_NOMEM(rmdir, frame, local, NULL, NULL, NULL);
    if (local) {
        if (georep_local_set_entry(local, loc))
            GEOREP_FAIL_NOMEM(rmdir, frame, local, NULL, NULL, NULL);
        if (!loc->inode)
            local->ia_type_mode = S_IFDIR;
        frame->local = local;
    }
    STACK_WIND(frame, georep_rmdir_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->rmdir, loc, xflags, xdata);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Data fops                                                                 */

static int32_t
georep_writev_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                  int32_t op_ret, int32_t op_errno, struct iatt *prebuf,
                  struct iatt *postbuf, dict_t *xdata)
{
    georep_local_t *local = frame->local;

    if (local && op_ret >= 0) {
        local->ev.length = (uint64_t)op_ret;
        /* On an O_APPEND fd the kernel writes at EOF whatever offset was
         * asked; posix holds the inode lock across such a write, so the new
         * size minus the bytes written is where the data went. */
        if (local->append && postbuf && postbuf->ia_size >= (uint64_t)op_ret)
            local->ev.offset = postbuf->ia_size - (uint64_t)op_ret;
        georep_record(this, local, postbuf);
    }
    GEOREP_STACK_UNWIND(writev, frame, op_ret, op_errno, prebuf, postbuf,
                        xdata);
    return 0;
}

static int32_t
georep_writev(call_frame_t *frame, xlator_t *this, fd_t *fd,
              struct iovec *vector, int32_t count, off_t offset,
              uint32_t flags, struct iobref *iobref, dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start(this, frame, GEOREP_OP_WRITE, &local))
        GEOREP_FAIL_NOMEM(writev, frame, local, NULL, NULL, NULL);
    if (local) {
        georep_local_set_inode(local, fd->inode);
        local->ev.flags |= GEOREP_FLAG_VIA_FD;
        local->ev.offset = (uint64_t)offset;
        local->append = (fd->flags & O_APPEND) != 0;
        frame->local = local;
    }
    STACK_WIND(frame, georep_writev_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->writev, fd, vector, count, offset,
               flags, iobref, xdata);
    return 0;
}

/* truncate, ftruncate, fallocate, discard and zerofill share one callback
 * shape: (prebuf, postbuf). */
static void
georep_record_data(call_frame_t *frame, xlator_t *this, int32_t op_ret,
                   struct iatt *postbuf)
{
    if (frame->local && op_ret >= 0)
        georep_record(this, frame->local, postbuf);
}

static int32_t
georep_truncate_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                    int32_t op_ret, int32_t op_errno, struct iatt *prebuf,
                    struct iatt *postbuf, dict_t *xdata)
{
    georep_record_data(frame, this, op_ret, postbuf);
    GEOREP_STACK_UNWIND(truncate, frame, op_ret, op_errno, prebuf, postbuf,
                        xdata);
    return 0;
}

static int32_t
georep_truncate(call_frame_t *frame, xlator_t *this, loc_t *loc, off_t offset,
                dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start(this, frame, GEOREP_OP_TRUNCATE, &local))
        GEOREP_FAIL_NOMEM(truncate, frame, local, NULL, NULL, NULL);
    if (local) {
        georep_local_set_inode(local, loc->inode);
        if (gf_uuid_is_null(local->ev.gfid))
            gf_uuid_copy(local->ev.gfid, loc->gfid);
        local->ev.offset = (uint64_t)offset;
        frame->local = local;
    }
    STACK_WIND(frame, georep_truncate_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->truncate, loc, offset, xdata);
    return 0;
}

static int32_t
georep_ftruncate_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                     int32_t op_ret, int32_t op_errno, struct iatt *prebuf,
                     struct iatt *postbuf, dict_t *xdata)
{
    georep_record_data(frame, this, op_ret, postbuf);
    GEOREP_STACK_UNWIND(ftruncate, frame, op_ret, op_errno, prebuf, postbuf,
                        xdata);
    return 0;
}

/* Starts the local of an fd-based data fop. */
static int
georep_local_start_fd(xlator_t *this, call_frame_t *frame, uint8_t op, fd_t *fd,
                      uint64_t offset, uint64_t length, georep_local_t **out)
{
    if (georep_local_start(this, frame, op, out))
        return -1;
    if (*out) {
        georep_local_set_inode(*out, fd->inode);
        (*out)->ev.flags |= GEOREP_FLAG_VIA_FD;
        (*out)->ev.offset = offset;
        (*out)->ev.length = length;
        frame->local = *out;
    }
    return 0;
}

static int32_t
georep_ftruncate(call_frame_t *frame, xlator_t *this, fd_t *fd, off_t offset,
                 dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start_fd(this, frame, GEOREP_OP_TRUNCATE, fd,
                              (uint64_t)offset, 0, &local))
        GEOREP_FAIL_NOMEM(ftruncate, frame, local, NULL, NULL, NULL);
    STACK_WIND(frame, georep_ftruncate_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->ftruncate, fd, offset, xdata);
    return 0;
}

static int32_t
georep_fallocate_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                     int32_t op_ret, int32_t op_errno, struct iatt *pre,
                     struct iatt *post, dict_t *xdata)
{
    georep_record_data(frame, this, op_ret, post);
    GEOREP_STACK_UNWIND(fallocate, frame, op_ret, op_errno, pre, post, xdata);
    return 0;
}

static int32_t
georep_fallocate(call_frame_t *frame, xlator_t *this, fd_t *fd,
                 int32_t keep_size, off_t offset, size_t len, dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start_fd(this, frame, GEOREP_OP_FALLOCATE, fd,
                              (uint64_t)offset, len, &local))
        GEOREP_FAIL_NOMEM(fallocate, frame, local, NULL, NULL, NULL);
    if (local)
        local->ev.aux = (uint32_t)keep_size; /* fallocate(2) mode bits */
    STACK_WIND(frame, georep_fallocate_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->fallocate, fd, keep_size, offset, len,
               xdata);
    return 0;
}

static int32_t
georep_discard_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                   int32_t op_ret, int32_t op_errno, struct iatt *pre,
                   struct iatt *post, dict_t *xdata)
{
    georep_record_data(frame, this, op_ret, post);
    GEOREP_STACK_UNWIND(discard, frame, op_ret, op_errno, pre, post, xdata);
    return 0;
}

static int32_t
georep_discard(call_frame_t *frame, xlator_t *this, fd_t *fd, off_t offset,
               size_t len, dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start_fd(this, frame, GEOREP_OP_DISCARD, fd,
                              (uint64_t)offset, len, &local))
        GEOREP_FAIL_NOMEM(discard, frame, local, NULL, NULL, NULL);
    STACK_WIND(frame, georep_discard_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->discard, fd, offset, len, xdata);
    return 0;
}

static int32_t
georep_zerofill_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                    int32_t op_ret, int32_t op_errno, struct iatt *pre,
                    struct iatt *post, dict_t *xdata)
{
    georep_record_data(frame, this, op_ret, post);
    GEOREP_STACK_UNWIND(zerofill, frame, op_ret, op_errno, pre, post, xdata);
    return 0;
}

static int32_t
georep_zerofill(call_frame_t *frame, xlator_t *this, fd_t *fd, off_t offset,
                off_t len, dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start_fd(this, frame, GEOREP_OP_ZEROFILL, fd,
                              (uint64_t)offset, (uint64_t)len, &local))
        GEOREP_FAIL_NOMEM(zerofill, frame, local, NULL, NULL, NULL);
    STACK_WIND(frame, georep_zerofill_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->zerofill, fd, offset, len, xdata);
    return 0;
}

/* open(O_TRUNC) truncates on the brick without a truncate fop: record it as
 * a truncate to 0 (DHT passes the flag down; AFR turns it into ftruncate). */
static int32_t
georep_open_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                int32_t op_ret, int32_t op_errno, fd_t *fd, dict_t *xdata)
{
    if (frame->local && op_ret >= 0)
        georep_record(this, frame->local, NULL);
    GEOREP_STACK_UNWIND(open, frame, op_ret, op_errno, fd, xdata);
    return 0;
}

static int32_t
georep_open(call_frame_t *frame, xlator_t *this, loc_t *loc, int32_t flags,
            fd_t *fd, dict_t *xdata)
{
    georep_local_t *local = NULL;

    /* Linux truncates even with O_RDONLY | O_TRUNC. */
    if (flags & O_TRUNC) {
        if (georep_local_start(this, frame, GEOREP_OP_TRUNCATE, &local))
            GEOREP_FAIL_NOMEM(open, frame, local, NULL, NULL);
        if (local) {
            georep_local_set_inode(local, loc->inode);
            if (gf_uuid_is_null(local->ev.gfid))
                gf_uuid_copy(local->ev.gfid, loc->gfid);
            local->ev.offset = 0;
            local->open_flags = flags;
            frame->local = local;
        }
    }
    STACK_WIND(frame, georep_open_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->open, loc, flags, fd, xdata);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Metadata fops                                                             */

static void
georep_setattr_finish(xlator_t *this, georep_local_t *local,
                      struct iatt *postbuf)
{
    if (postbuf) {
        /* "now" is only known once posix has applied it. */
        if (local->times_now_a)
            local->ev.atime_ns = georep_ns(postbuf->ia_atime,
                                           postbuf->ia_atime_nsec);
        if (local->times_now_m)
            local->ev.mtime_ns = georep_ns(postbuf->ia_mtime,
                                           postbuf->ia_mtime_nsec);
    }
    georep_record(this, local, postbuf);
}

static int32_t
georep_setattr_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                   int32_t op_ret, int32_t op_errno, struct iatt *preop,
                   struct iatt *postop, dict_t *xdata)
{
    if (frame->local && op_ret >= 0)
        georep_setattr_finish(this, frame->local, postop);
    GEOREP_STACK_UNWIND(setattr, frame, op_ret, op_errno, preop, postop,
                        xdata);
    return 0;
}

/* Fills the setattr-specific fields; returns 0 when nothing the journal
 * records is being changed (e.g. a ctime-only update by features/utime). */
static int
georep_local_set_attrs(georep_local_t *local, struct iatt *stbuf, int32_t valid)
{
    uint32_t mask = (uint32_t)valid & GEOREP_SETATTR_RECORDED;

    if (valid & GF_ATTR_ATIME_NOW) {
        mask |= GF_SET_ATTR_ATIME;
        local->times_now_a = _gf_true;
    }
    if (valid & GF_ATTR_MTIME_NOW) {
        mask |= GF_SET_ATTR_MTIME;
        local->times_now_m = _gf_true;
    }
    local->ev.attr_mask = mask;
    if (stbuf) {
        if ((mask & GF_SET_ATTR_ATIME) && !local->times_now_a)
            local->ev.atime_ns = georep_ns(stbuf->ia_atime,
                                           stbuf->ia_atime_nsec);
        if ((mask & GF_SET_ATTR_MTIME) && !local->times_now_m)
            local->ev.mtime_ns = georep_ns(stbuf->ia_mtime,
                                           stbuf->ia_mtime_nsec);
    }
    return mask != 0;
}

static int32_t
georep_setattr(call_frame_t *frame, xlator_t *this, loc_t *loc,
               struct iatt *stbuf, int32_t valid, dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start(this, frame, GEOREP_OP_SETATTR, &local))
        GEOREP_FAIL_NOMEM(setattr, frame, local, NULL, NULL, NULL);
    if (local) {
        if (georep_local_set_attrs(local, stbuf, valid)) {
            georep_local_set_inode(local, loc->inode);
            if (gf_uuid_is_null(local->ev.gfid))
                gf_uuid_copy(local->ev.gfid, loc->gfid);
            /* DHT copies the owner of a data file onto its link-to file. */
            if (georep_is_dht_bookkeeping(frame, xdata))
                local->ev.flags |= GEOREP_FLAG_DHT_LINKTO;
            frame->local = local;
        } else {
            georep_local_free(local);
        }
    }
    STACK_WIND(frame, georep_setattr_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->setattr, loc, stbuf, valid, xdata);
    return 0;
}

static int32_t
georep_fsetattr_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                    int32_t op_ret, int32_t op_errno, struct iatt *preop,
                    struct iatt *postop, dict_t *xdata)
{
    if (frame->local && op_ret >= 0)
        georep_setattr_finish(this, frame->local, postop);
    GEOREP_STACK_UNWIND(fsetattr, frame, op_ret, op_errno, preop, postop,
                        xdata);
    return 0;
}

static int32_t
georep_fsetattr(call_frame_t *frame, xlator_t *this, fd_t *fd,
                struct iatt *stbuf, int32_t valid, dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start(this, frame, GEOREP_OP_SETATTR, &local))
        GEOREP_FAIL_NOMEM(fsetattr, frame, local, NULL, NULL, NULL);
    if (local) {
        if (georep_local_set_attrs(local, stbuf, valid)) {
            georep_local_set_inode(local, fd->inode);
            local->ev.flags |= GEOREP_FLAG_VIA_FD;
            if (georep_is_dht_bookkeeping(frame, xdata))
                local->ev.flags |= GEOREP_FLAG_DHT_LINKTO;
            frame->local = local;
        } else {
            georep_local_free(local);
        }
    }
    STACK_WIND(frame, georep_fsetattr_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->fsetattr, fd, stbuf, valid, xdata);
    return 0;
}

/* setxattr, fsetxattr, removexattr and fremovexattr unwind (op_ret, xdata). */
static int32_t
georep_setxattr_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                    int32_t op_ret, int32_t op_errno, dict_t *xdata)
{
    if (frame->local && op_ret >= 0)
        georep_record(this, frame->local, NULL);
    GEOREP_STACK_UNWIND(setxattr, frame, op_ret, op_errno, xdata);
    return 0;
}

static int32_t
georep_fsetxattr_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                     int32_t op_ret, int32_t op_errno, dict_t *xdata)
{
    if (frame->local && op_ret >= 0)
        georep_record(this, frame->local, NULL);
    GEOREP_STACK_UNWIND(fsetxattr, frame, op_ret, op_errno, xdata);
    return 0;
}

static int32_t
georep_removexattr_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                       int32_t op_ret, int32_t op_errno, dict_t *xdata)
{
    if (frame->local && op_ret >= 0)
        georep_record(this, frame->local, NULL);
    GEOREP_STACK_UNWIND(removexattr, frame, op_ret, op_errno, xdata);
    return 0;
}

static int32_t
georep_fremovexattr_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                        int32_t op_ret, int32_t op_errno, dict_t *xdata)
{
    if (frame->local && op_ret >= 0)
        georep_record(this, frame->local, NULL);
    GEOREP_STACK_UNWIND(fremovexattr, frame, op_ret, op_errno, xdata);
    return 0;
}

/* Starts the local of an xattr fop on inode (dict for set, name for remove). */
static int
georep_local_start_xattr(xlator_t *this, call_frame_t *frame, uint8_t op,
                         inode_t *inode, const uuid_t loc_gfid, dict_t *dict,
                         const char *name, gf_boolean_t via_fd,
                         georep_local_t **out)
{
    if (georep_local_start(this, frame, op, out))
        return -1;
    if (!*out)
        return 0;
    georep_local_set_inode(*out, inode);
    if (gf_uuid_is_null((*out)->ev.gfid) && loc_gfid)
        gf_uuid_copy((*out)->ev.gfid, loc_gfid);
    if (via_fd)
        (*out)->ev.flags |= GEOREP_FLAG_VIA_FD;
    if (georep_local_set_xattr_keys(*out, dict, name)) {
        georep_local_free(*out);
        *out = NULL;
        return -1;
    }
    frame->local = *out;
    return 0;
}

static int32_t
georep_setxattr(call_frame_t *frame, xlator_t *this, loc_t *loc, dict_t *dict,
                int32_t flags, dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start_xattr(this, frame, GEOREP_OP_SETXATTR, loc->inode,
                                 loc->gfid, dict, NULL, _gf_false, &local))
        GEOREP_FAIL_NOMEM(setxattr, frame, local, NULL);
    STACK_WIND(frame, georep_setxattr_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->setxattr, loc, dict, flags, xdata);
    return 0;
}

static int32_t
georep_fsetxattr(call_frame_t *frame, xlator_t *this, fd_t *fd, dict_t *dict,
                 int32_t flags, dict_t *xdata)
{
    georep_local_t *local = NULL;

    if (georep_local_start_xattr(this, frame, GEOREP_OP_SETXATTR, fd->inode,
                                 NULL, dict, NULL, _gf_true, &local))
        GEOREP_FAIL_NOMEM(fsetxattr, frame, local, NULL);
    STACK_WIND(frame, georep_fsetxattr_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->fsetxattr, fd, dict, flags, xdata);
    return 0;
}

/* A removexattr with the empty name and an xdata dict removes every key of
 * that dict (storage/posix's "bulk removexattr"; AFR's metadata self-heal
 * clears a sink's old xattrs this way before copying the source's). The keys
 * removed are then those of xdata, not the empty name. */
static gf_boolean_t
georep_is_bulk_removexattr(const char *name, dict_t *xdata)
{
    return name && name[0] == '\0' && xdata;
}

/* A bulk removexattr with an empty dict changes nothing (AFR sends one when
 * the sink had only xattrs AFR ignores): not journaled. */
static gf_boolean_t
georep_removes_nothing(gf_boolean_t bulk, dict_t *xdata)
{
    return bulk && xdata->count == 0;
}

static int32_t
georep_removexattr(call_frame_t *frame, xlator_t *this, loc_t *loc,
                   const char *name, dict_t *xdata)
{
    georep_local_t *local = NULL;
    gf_boolean_t bulk = georep_is_bulk_removexattr(name, xdata);

    if (!georep_removes_nothing(bulk, xdata) &&
        georep_local_start_xattr(this, frame, GEOREP_OP_REMOVEXATTR,
                                 loc->inode, loc->gfid, bulk ? xdata : NULL,
                                 bulk ? NULL : (name ? name : ""), _gf_false,
                                 &local))
        GEOREP_FAIL_NOMEM(removexattr, frame, local, NULL);
    STACK_WIND(frame, georep_removexattr_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->removexattr, loc, name, xdata);
    return 0;
}

static int32_t
georep_fremovexattr(call_frame_t *frame, xlator_t *this, fd_t *fd,
                    const char *name, dict_t *xdata)
{
    georep_local_t *local = NULL;
    gf_boolean_t bulk = georep_is_bulk_removexattr(name, xdata);

    if (!georep_removes_nothing(bulk, xdata) &&
        georep_local_start_xattr(this, frame, GEOREP_OP_REMOVEXATTR, fd->inode,
                                 NULL, bulk ? xdata : NULL,
                                 bulk ? NULL : (name ? name : ""), _gf_true,
                                 &local))
        GEOREP_FAIL_NOMEM(fremovexattr, frame, local, NULL);
    STACK_WIND(frame, georep_fremovexattr_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->fremovexattr, fd, name, xdata);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Options, init, reconfigure, fini                                          */

/* Finds the brick directory: our own brick-path option, else the "directory"
 * option of the storage/posix translator below us (walking first children,
 * so that the translator may sit above another server translator). */
static const char *
georep_find_brick_dir(xlator_t *this)
{
    xlator_t *xl = NULL;
    char *dir = NULL;
    int depth = 0;

    for (xl = this->children ? this->children->xlator : NULL;
         xl && depth < 64; /* a graph deeper than this is malformed */
         xl = xl->children ? xl->children->xlator : NULL, depth++) {
        if (xl->type && strcmp(xl->type, "storage/posix") == 0) {
            if (xl->options && dict_get_str(xl->options, "directory", &dir) == 0)
                return dir;
            return NULL;
        }
    }
    return NULL;
}

static int
georep_parse_fsync(const char *s, int *out)
{
    if (!s)
        return -1;
    if (strcmp(s, "never") == 0)
        *out = GEOREP_FSYNC_NEVER;
    else if (strcmp(s, "interval") == 0)
        *out = GEOREP_FSYNC_INTERVAL;
    else if (strcmp(s, "always") == 0)
        *out = GEOREP_FSYNC_ALWAYS;
    else
        return -1;
    return 0;
}

/* Reads every option (from `options`, falling back to the table's defaults)
 * into jopts; strings it returns in brick_path/brick_id are newly allocated.
 * On a bad value logs which option, the value and what is accepted. */
static int
georep_read_options(xlator_t *this, dict_t *options, gf_boolean_t reconf,
                    struct georep_journal_options *jopts, char **brick_path,
                    char **brick_id)
{
    char *fsync = NULL;
    char *path = NULL;
    char *id = NULL;
    uint64_t segment_size = 0;
    uint64_t max_size = 0;
    uint32_t interval = 0;
    gf_boolean_t record_internal = _gf_true;
    const char *dir = NULL;
    int ret = -1;

    /* GF_OPTION_INIT reads THIS->options; GF_OPTION_RECONF reads `options`.
     * Both fall back to the default of the options table. */
    if (!reconf) {
        GF_OPTION_INIT("journal-fsync", fsync, str, bad);
        GF_OPTION_INIT("journal-fsync-interval", interval, uint32, bad);
        GF_OPTION_INIT("segment-size", segment_size, size_uint64, bad);
        GF_OPTION_INIT("max-journal-size", max_size, size_uint64, bad);
        GF_OPTION_INIT("record-internal", record_internal, bool, bad);
        GF_OPTION_INIT("brick-path", path, path, bad);
        GF_OPTION_INIT("brick-id", id, str, bad);
    } else {
        GF_OPTION_RECONF("journal-fsync", fsync, options, str, bad);
        GF_OPTION_RECONF("journal-fsync-interval", interval, options, uint32,
                         bad);
        GF_OPTION_RECONF("segment-size", segment_size, options, size_uint64,
                         bad);
        GF_OPTION_RECONF("max-journal-size", max_size, options, size_uint64,
                         bad);
        GF_OPTION_RECONF("record-internal", record_internal, options, bool,
                         bad);
        GF_OPTION_RECONF("brick-path", path, options, path, bad);
        GF_OPTION_RECONF("brick-id", id, options, str, bad);
    }

    if (georep_parse_fsync(fsync, &jopts->fsync_policy)) {
        gf_msg(this->name, GF_LOG_ERROR, EINVAL, GEOREP_MSG_BAD_OPTION,
               "option journal-fsync has the invalid value \"%s\"; use never, "
               "interval or always",
               fsync ? fsync : "");
        return -1;
    }
    if (interval == 0) {
        gf_msg(this->name, GF_LOG_ERROR, EINVAL, GEOREP_MSG_BAD_OPTION,
               "option journal-fsync-interval must be at least 1 (ms)");
        return -1;
    }
    if (segment_size == 0) {
        gf_msg(this->name, GF_LOG_ERROR, EINVAL, GEOREP_MSG_BAD_OPTION,
               "option segment-size must be greater than 0");
        return -1;
    }
    if (max_size != 0 && max_size < segment_size) {
        gf_msg(this->name, GF_LOG_ERROR, EINVAL, GEOREP_MSG_BAD_OPTION,
               "option max-journal-size (%" PRIu64 ") is smaller than "
               "segment-size (%" PRIu64 "); raise it or set it to 0 for no cap",
               max_size, segment_size);
        return -1;
    }
    jopts->fsync_interval_ms = interval;
    jopts->segment_size = segment_size;
    jopts->max_journal_size = max_size;
    jopts->record_internal = record_internal ? 1 : 0;

    dir = (path && path[0]) ? path : georep_find_brick_dir(this);
    if (!dir || dir[0] != '/') {
        gf_msg(this->name, GF_LOG_ERROR, EINVAL, GEOREP_MSG_BAD_GRAPH,
               "cannot find the brick directory: load this translator above "
               "storage/posix (gluster volume set VOL user.xlator.georep posix) "
               "or set its brick-path option to an absolute path");
        return -1;
    }
    *brick_path = gf_strdup(dir);
    if (id && id[0])
        *brick_id = gf_strdup(id);
    else
        gf_asprintf(brick_id, "%s:%s", gf_gethostname(), dir);
    if (!*brick_path || !*brick_id) {
        GF_FREE(*brick_path);
        GF_FREE(*brick_id);
        *brick_path = *brick_id = NULL;
        return -1;
    }
    ret = 0;
    return ret;
bad:
    gf_msg(this->name, GF_LOG_ERROR, EINVAL, GEOREP_MSG_BAD_OPTION,
           "invalid option value (see the messages above); `gluster volume "
           "get VOL all | grep georep` shows the current values");
    return -1;
}

static const char *
georep_fsync_name(int policy)
{
    switch (policy) {
        case GEOREP_FSYNC_NEVER:
            return "never";
        case GEOREP_FSYNC_ALWAYS:
            return "always";
        default:
            return "interval";
    }
}

/* One line with the settings in force, so that an admin (and the tests) can
 * see from the brick log what a `volume set` changed. */
static void
georep_log_options(xlator_t *this, const char *what,
                   const struct georep_journal_options *o)
{
    gf_msg(this->name, GF_LOG_INFO, 0, GEOREP_MSG_JOURNAL_OPENED,
           "journal options %s: journal-fsync=%s journal-fsync-interval=%u "
           "segment-size=%" PRIu64 " max-journal-size=%" PRIu64
           " record-internal=%s",
           what, georep_fsync_name(o->fsync_policy), o->fsync_interval_ms,
           o->segment_size, o->max_journal_size,
           o->record_internal ? "on" : "off");
}

/* The journal's operator-facing messages (a consumer marked for a full
 * resync by max-journal-size, failed appends or syncs, recovery after a
 * crash), which it would otherwise print on glusterfsd's stderr, where nobody
 * sees them. cookie is this translator. Called from io-threads and from the
 * journal's own sync thread, possibly with the journal's lock held: gf_msg is
 * thread-safe and never calls back into the journal. */
static void
georep_journal_warning(void *cookie, const char *message)
{
    xlator_t *this = cookie;

    gf_msg(this ? this->name : "georep", GF_LOG_WARNING, 0,
           GEOREP_MSG_JOURNAL_WARNING, "journal: %s",
           message ? message : "(no message)");
}

static void
georep_private_free(georep_private_t *priv)
{
    if (!priv)
        return;
    georep_journal_close(priv->journal);
    GF_FREE(priv->brick_path);
    GF_FREE(priv->brick_id);
    GF_FREE(priv);
}

static int32_t
georep_init(xlator_t *this)
{
    georep_private_t *priv = NULL;
    char err[512] = "";
    int ret = -1;

    if (!this->children || this->children->next) {
        gf_msg(this->name, GF_LOG_ERROR, EINVAL, GEOREP_MSG_BAD_GRAPH,
               "georep needs exactly one child (storage/posix); check the "
               "brick volfile");
        return -1;
    }
    if (!this->parents)
        gf_msg(this->name, GF_LOG_WARNING, 0, GEOREP_MSG_BAD_GRAPH,
               "dangling volume: no parent translator; check the volfile");

    priv = GF_CALLOC(1, sizeof(*priv), gf_georep_mt_private_t);
    if (!priv) {
        gf_msg(this->name, GF_LOG_ERROR, ENOMEM, GEOREP_MSG_NO_MEMORY,
               "cannot allocate the translator's private state");
        return -1;
    }
    GF_ATOMIC_INIT(priv->append_errors, 0);
    GF_ATOMIC_INIT(priv->alloc_failures, 0);

    if (georep_read_options(this, this->options, _gf_false, &priv->jopts,
                            &priv->brick_path, &priv->brick_id))
        goto out;
    priv->jopts.brick_path = priv->brick_path;
    priv->jopts.brick_id = priv->brick_id;
    priv->record_internal = priv->jopts.record_internal;
    priv->jopts.on_warning = georep_journal_warning;
    priv->jopts.warning_cookie = this;

    ret = georep_journal_open(&priv->jopts, &priv->journal, err, sizeof(err));
    if (ret) {
        gf_msg(this->name, GF_LOG_ERROR, -ret, GEOREP_MSG_JOURNAL_OPEN_FAILED,
               "cannot open the journal of brick %s: %s. The brick does not "
               "start rather than run without recording changes",
               priv->brick_path, err[0] ? err : strerror(-ret));
        ret = -1;
        goto out;
    }
    gf_msg(this->name, GF_LOG_INFO, 0, GEOREP_MSG_JOURNAL_OPENED,
           "recording changes of brick %s (id %s) in %s/.glusterfs/georep",
           priv->brick_path, priv->brick_id, priv->brick_path);
    georep_log_options(this, "started", &priv->jopts);

    this->private = priv;
    priv = NULL;
    ret = 0;
out:
    georep_private_free(priv);
    return ret;
}

static int
georep_reconfigure(xlator_t *this, dict_t *options)
{
    georep_private_t *priv = this->private;
    struct georep_journal_options jopts = {
        0,
    };
    char *brick_path = NULL;
    char *brick_id = NULL;
    char err[512] = "";
    char *errstr = NULL;
    int ret = -1;

    /* GlusterFS validates a translator's options against its table only when
     * the graph starts, and glusterd does not validate user.* keys at all
     * (`volume set` accepts any value), so check them here. */
    if (xlator_options_validate(this, options, &errstr)) {
        gf_msg(this->name, GF_LOG_ERROR, EINVAL, GEOREP_MSG_BAD_OPTION,
               "refusing new options: %s. The brick keeps its previous "
               "settings; fix the value with `gluster volume set VOL "
               "user.xlator.georep.<option> <value>` (or `gluster volume reset "
               "VOL user.xlator.georep.<option>`): until then this brick "
               "will not start again",
               errstr ? errstr : "invalid value");
        GF_FREE(errstr);
        return -1;
    }
    if (georep_read_options(this, options, _gf_true, &jopts, &brick_path,
                            &brick_id))
        goto out;
    if (strcmp(brick_path, priv->brick_path) != 0 ||
        strcmp(brick_id, priv->brick_id) != 0) {
        gf_msg(this->name, GF_LOG_ERROR, EINVAL, GEOREP_MSG_BAD_OPTION,
               "brick-path/brick-id cannot change while the brick runs "
               "(%s, %s -> %s, %s); stop and start the volume to apply them",
               priv->brick_path, priv->brick_id, brick_path, brick_id);
        goto out;
    }
    jopts.brick_path = priv->brick_path;
    jopts.brick_id = priv->brick_id;
    jopts.on_warning = priv->jopts.on_warning;
    jopts.warning_cookie = priv->jopts.warning_cookie;
    ret = georep_journal_reconfigure(priv->journal, &jopts, err, sizeof(err));
    if (ret) {
        gf_msg(this->name, GF_LOG_ERROR, -ret, GEOREP_MSG_JOURNAL_RECONF_FAILED,
               "cannot apply the new journal options: %s",
               err[0] ? err : strerror(-ret));
        ret = -1;
        goto out;
    }
    priv->jopts = jopts;
    __atomic_store_n(&priv->record_internal, jopts.record_internal,
                     __ATOMIC_RELAXED);
    georep_log_options(this, "reconfigured", &priv->jopts);
    ret = 0;
out:
    GF_FREE(brick_path);
    GF_FREE(brick_id);
    return ret;
}

static void
georep_fini(xlator_t *this)
{
    georep_private_t *priv = this->private;

    this->private = NULL;
    georep_private_free(priv);
}

static int32_t
georep_mem_acct_init(xlator_t *this)
{
    int ret = xlator_mem_acct_init(this, gf_georep_mt_end);

    if (ret != 0)
        gf_msg(this->name, GF_LOG_ERROR, ENOMEM, GEOREP_MSG_NO_MEMORY,
               "memory accounting init failed");
    return ret;
}

static int32_t
georep_priv_dump(xlator_t *this)
{
    georep_private_t *priv = this->private;
    struct georep_journal_stats st = {
        0,
    };
    char key_prefix[GF_DUMP_MAX_BUF_LEN];

    if (!priv)
        return 0;
    gf_proc_dump_build_key(key_prefix, "user.georep", "priv");
    gf_proc_dump_add_section("%s", key_prefix);
    gf_proc_dump_write("brick_path", "%s", priv->brick_path);
    gf_proc_dump_write("brick_id", "%s", priv->brick_id);
    gf_proc_dump_write("append_errors", "%" PRIu64,
                       GF_ATOMIC_GET(priv->append_errors));
    gf_proc_dump_write("alloc_failures", "%" PRIu64,
                       GF_ATOMIC_GET(priv->alloc_failures));
    if (georep_journal_stats(priv->journal, &st) == 0) {
        gf_proc_dump_write("next_seq", "%" PRIu64, st.next_seq);
        gf_proc_dump_write("records", "%" PRIu64, st.records);
        gf_proc_dump_write("journal_append_errors", "%" PRIu64,
                           st.append_errors);
        gf_proc_dump_write("segments", "%" PRIu64, st.segments);
        gf_proc_dump_write("bytes", "%" PRIu64, st.bytes);
    }
    return 0;
}

static int
georep_notify(xlator_t *this, int32_t event, void *data, ...)
{
    return default_notify(this, event, data);
}

static struct xlator_fops georep_fops = {
    .create = georep_create,
    .mknod = georep_mknod,
    .mkdir = georep_mkdir,
    .symlink = georep_symlink,
    .link = georep_link,
    .rename = georep_rename,
    .unlink = georep_unlink,
    .rmdir = georep_rmdir,
    .writev = georep_writev,
    .truncate = georep_truncate,
    .ftruncate = georep_ftruncate,
    .fallocate = georep_fallocate,
    .discard = georep_discard,
    .zerofill = georep_zerofill,
    .open = georep_open,
    .setattr = georep_setattr,
    .fsetattr = georep_fsetattr,
    .setxattr = georep_setxattr,
    .fsetxattr = georep_fsetxattr,
    .removexattr = georep_removexattr,
    .fremovexattr = georep_fremovexattr,
};

static struct xlator_cbks georep_cbks = {};

static struct xlator_dumpops georep_dumpops = {
    .priv = georep_priv_dump,
};

static struct volume_options georep_options[] = {
    {
        .key = {"journal-fsync"},
        .type = GF_OPTION_TYPE_STR,
        .value = {"never", "interval", "always"},
        .default_value = "interval",
        .description = "When journal records reach stable storage. never: the "
                       "kernel's writeback decides; interval: fdatasync every "
                       "journal-fsync-interval ms; always: before each fop "
                       "is acknowledged (slowest). A killed brick process "
                       "loses nothing with any of them; they differ only on "
                       "power loss.",
        .op_version = {GD_OP_VERSION_10_0},
        .flags = OPT_FLAG_SETTABLE | OPT_FLAG_DOC,
        .tags = {"georep"},
    },
    {
        .key = {"journal-fsync-interval"},
        .type = GF_OPTION_TYPE_INT,
        .min = 1,
        .max = 60000,
        .default_value = "1000",
        .description = "Milliseconds between fdatasyncs of the journal with "
                       "journal-fsync interval.",
        .op_version = {GD_OP_VERSION_10_0},
        .flags = OPT_FLAG_SETTABLE | OPT_FLAG_DOC,
        .tags = {"georep"},
    },
    {
        .key = {"segment-size"},
        .type = GF_OPTION_TYPE_SIZET,
        .min = 1 * GF_UNIT_MB,
        .max = 4 * GF_UNIT_GB,
        .default_value = "64MB",
        .description = "The journal starts a new segment file past this size; "
                       "consumed segments are removed whole.",
        .op_version = {GD_OP_VERSION_10_0},
        .flags = OPT_FLAG_SETTABLE | OPT_FLAG_DOC,
        .tags = {"georep"},
    },
    {
        .key = {"max-journal-size"},
        .type = GF_OPTION_TYPE_SIZET,
        .min = 0,
        .max = 1024 * GF_UNIT_TB,
        .default_value = "4GB",
        .description = "Cap on the space all journal segments of the brick "
                       "may take (0 = no cap). Past it the oldest segments "
                       "are dropped and consumers that had not read them are "
                       "told to resynchronise.",
        .op_version = {GD_OP_VERSION_10_0},
        .flags = OPT_FLAG_SETTABLE | OPT_FLAG_DOC,
        .tags = {"georep"},
    },
    {
        .key = {"record-internal"},
        .type = GF_OPTION_TYPE_BOOL,
        .default_value = "on",
        .description = "Also record changes made by GlusterFS's own daemons "
                       "(rebalance, self-heal, other internal clients), "
                       "tagged with their origin. Off saves journal space but "
                       "then the journal no longer holds every change.",
        .op_version = {GD_OP_VERSION_10_0},
        .flags = OPT_FLAG_SETTABLE | OPT_FLAG_DOC,
        .tags = {"georep"},
    },
    {
        .key = {"brick-path"},
        .type = GF_OPTION_TYPE_PATH,
        .description = "Brick directory (the journal lives in its "
                       ".glusterfs/georep). Empty: the directory of the "
                       "storage/posix translator below.",
        .op_version = {GD_OP_VERSION_10_0},
        .flags = OPT_FLAG_SETTABLE | OPT_FLAG_DOC,
        .tags = {"georep"},
    },
    {
        .key = {"brick-id"},
        .type = GF_OPTION_TYPE_STR,
        .description = "Identity written into journal segment headers. "
                       "Empty: <hostname>:<brick directory>.",
        .op_version = {GD_OP_VERSION_10_0},
        .flags = OPT_FLAG_SETTABLE | OPT_FLAG_DOC,
        .tags = {"georep"},
    },
    {.key = {NULL}},
};

xlator_api_t xlator_api = {
    .init = georep_init,
    .fini = georep_fini,
    .notify = georep_notify,
    .reconfigure = georep_reconfigure,
    .mem_acct_init = georep_mem_acct_init,
    .op_version = {GD_OP_VERSION_10_0},
    .dumpops = &georep_dumpops,
    .fops = &georep_fops,
    .cbks = &georep_cbks,
    .options = georep_options,
    .identifier = "georep",
    .category = GF_EXPERIMENTAL,
};
