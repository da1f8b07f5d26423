/* Unit tests of the georep brick translator (xlator/georep-xlator.c).
 *
 * The translator runs here exactly as in a brick: frames are wound to it with
 * GlusterFS's own STACK_WIND from a test "parent" translator, it winds to a
 * fake child (standing in for storage/posix) that unwinds with a result the
 * test chooses, and its callback unwinds back to the parent. The journal core
 * is replaced by fake_journal_capi.c, which records every event appended.
 * libglusterfs is real (dicts, frames, option parsing and validation). */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <glusterfs/glusterfs.h>
#include <glusterfs/call-stub.h>
#include <glusterfs/common-utils.h>
#include <glusterfs/dict.h>
#include <glusterfs/globals.h>
#include <glusterfs/mem-pool.h>
#include <glusterfs/stack.h>
#include <glusterfs/xlator.h>

#include "fake_journal_capi.h"

extern xlator_api_t xlator_api;

#define SET_STR(d, k, v) assert_int_equal(dict_set_str(d, k, (char *)(v)), 0)

/* ---- the fake storage/posix below the translator ------------------------ */

static struct {
    int32_t op_ret;
    int32_t op_errno;
    struct iatt buf;  /* entry fops' buf, data fops' postbuf */
    struct iatt pre;
    int wound;
} child;

#define CHILD_UNWIND_IATT2(fop, frame)                                         \
    STACK_UNWIND_STRICT(fop, frame, child.op_ret, child.op_errno, &child.pre,  \
                        &child.buf, NULL)

static int32_t
fake_create(call_frame_t *frame, xlator_t *this, loc_t *loc, int32_t flags,
            mode_t mode, mode_t umask, fd_t *fd, dict_t *xdata)
{
    child.wound++;
    STACK_UNWIND_STRICT(create, frame, child.op_ret, child.op_errno, fd,
                        loc->inode, &child.buf, &child.pre, &child.pre, NULL);
    return 0;
}

#define FAKE_ENTRY_FOP(fop, params...)                                         \
    static int32_t fake_##fop(call_frame_t *frame, xlator_t *this, params)     \
    {                                                                          \
        child.wound++;                                                         \
        STACK_UNWIND_STRICT(fop, frame, child.op_ret, child.op_errno, NULL,    \
                            &child.buf, &child.pre, &child.pre, NULL);         \
        return 0;                                                              \
    }
FAKE_ENTRY_FOP(mknod, loc_t *loc, mode_t mode, dev_t rdev, mode_t umask,
               dict_t *xdata)
FAKE_ENTRY_FOP(mkdir, loc_t *loc, mode_t mode, mode_t umask, dict_t *xdata)
FAKE_ENTRY_FOP(symlink, const char *linkname, loc_t *loc, mode_t umask,
               dict_t *xdata)
FAKE_ENTRY_FOP(link, loc_t *oldloc, loc_t *newloc, dict_t *xdata)

static int32_t
fake_rename(call_frame_t *frame, xlator_t *this, loc_t *oldloc, loc_t *newloc,
            dict_t *xdata)
{
    child.wound++;
    STACK_UNWIND_STRICT(rename, frame, child.op_ret, child.op_errno, &child.buf,
                        &child.pre, &child.pre, &child.pre, &child.pre, NULL);
    return 0;
}

#define FAKE_REMOVE_FOP(fop)                                                   \
    static int32_t fake_##fop(call_frame_t *frame, xlator_t *this, loc_t *loc, \
                              int xflags, dict_t *xdata)                       \
    {                                                                          \
        child.wound++;                                                         \
        STACK_UNWIND_STRICT(fop, frame, child.op_ret, child.op_errno,          \
                            &child.pre, &child.pre, NULL);                     \
        return 0;                                                              \
    }
FAKE_REMOVE_FOP(unlink)
FAKE_REMOVE_FOP(rmdir)

static int32_t
fake_writev(call_frame_t *frame, xlator_t *this, fd_t *fd, struct iovec *vector,
            int32_t count, off_t offset, uint32_t flags, struct iobref *iobref,
            dict_t *xdata)
{
    child.wound++;
    CHILD_UNWIND_IATT2(writev, frame);
    return 0;
}

static int32_t
fake_truncate(call_frame_t *frame, xlator_t *this, loc_t *loc, off_t offset,
              dict_t *xdata)
{
    child.wound++;
    CHILD_UNWIND_IATT2(truncate, frame);
    return 0;
}

static int32_t
fake_ftruncate(call_frame_t *frame, xlator_t *this, fd_t *fd, off_t offset,
               dict_t *xdata)
{
    child.wound++;
    CHILD_UNWIND_IATT2(ftruncate, frame);
    return 0;
}

static int32_t
fake_fallocate(call_frame_t *frame, xlator_t *this, fd_t *fd, int32_t keep_size,
               off_t offset, size_t len, dict_t *xdata)
{
    child.wound++;
    CHILD_UNWIND_IATT2(fallocate, frame);
    return 0;
}

static int32_t
fake_discard(call_frame_t *frame, xlator_t *this, fd_t *fd, off_t offset,
             size_t len, dict_t *xdata)
{
    child.wound++;
    CHILD_UNWIND_IATT2(discard, frame);
    return 0;
}

static int32_t
fake_zerofill(call_frame_t *frame, xlator_t *this, fd_t *fd, off_t offset,
              off_t len, dict_t *xdata)
{
    child.wound++;
    CHILD_UNWIND_IATT2(zerofill, frame);
    return 0;
}

static int32_t
fake_open(call_frame_t *frame, xlator_t *this, loc_t *loc, int32_t flags,
          fd_t *fd, dict_t *xdata)
{
    child.wound++;
    STACK_UNWIND_STRICT(open, frame, child.op_ret, child.op_errno, fd, NULL);
    return 0;
}

static int32_t
fake_setattr(call_frame_t *frame, xlator_t *this, loc_t *loc,
             struct iatt *stbuf, int32_t valid, dict_t *xdata)
{
    child.wound++;
    CHILD_UNWIND_IATT2(setattr, frame);
    return 0;
}

static int32_t
fake_fsetattr(call_frame_t *frame, xlator_t *this, fd_t *fd, struct iatt *stbuf,
              int32_t valid, dict_t *xdata)
{
    child.wound++;
    CHILD_UNWIND_IATT2(fsetattr, frame);
    return 0;
}

#define FAKE_XATTR_FOP(fop, params...)                                         \
    static int32_t fake_##fop(call_frame_t *frame, xlator_t *this, params)     \
    {                                                                          \
        child.wound++;                                                         \
        STACK_UNWIND_STRICT(fop, frame, child.op_ret, child.op_errno, NULL);   \
        return 0;                                                              \
    }
FAKE_XATTR_FOP(setxattr, loc_t *loc, dict_t *dict, int32_t flags, dict_t *xd)
FAKE_XATTR_FOP(fsetxattr, fd_t *fd, dict_t *dict, int32_t flags, dict_t *xd)
FAKE_XATTR_FOP(removexattr, loc_t *loc, const char *name, dict_t *xd)
FAKE_XATTR_FOP(fremovexattr, fd_t *fd, const char *name, dict_t *xd)

static struct xlator_fops fake_posix_fops = {
    .create = fake_create,
    .mknod = fake_mknod,
    .mkdir = fake_mkdir,
    .symlink = fake_symlink,
    .link = fake_link,
    .rename = fake_rename,
    .unlink = fake_unlink,
    .rmdir = fake_rmdir,
    .writev = fake_writev,
    .truncate = fake_truncate,
    .ftruncate = fake_ftruncate,
    .fallocate = fake_fallocate,
    .discard = fake_discard,
    .zerofill = fake_zerofill,
    .open = fake_open,
    .setattr = fake_setattr,
    .fsetattr = fake_fsetattr,
    .setxattr = fake_setxattr,
    .fsetxattr = fake_fsetxattr,
    .removexattr = fake_removexattr,
    .fremovexattr = fake_fremovexattr,
};

/* ---- the test parent above the translator ------------------------------- */

static struct {
    int unwound;
    int32_t op_ret;
    int32_t op_errno;
    int appends_at_unwind; /* journal appends done when the client saw it */
} top;

#define TOP_CBK(fop, params...)                                                \
    static int32_t top_##fop##_cbk(call_frame_t *frame, void *cookie,          \
                                   xlator_t *this, int32_t op_ret,             \
                                   int32_t op_errno, params)                   \
    {                                                                          \
        top.unwound++;                                                         \
        top.op_ret = op_ret;                                                   \
        top.op_errno = op_errno;                                               \
        top.appends_at_unwind = fake_journal.appends;                          \
        return 0;                                                              \
    }
TOP_CBK(create, fd_t *fd, inode_t *i, struct iatt *b, struct iatt *p,
        struct iatt *q, dict_t *x)
TOP_CBK(mknod, inode_t *i, struct iatt *b, struct iatt *p, struct iatt *q,
        dict_t *x)
TOP_CBK(mkdir, inode_t *i, struct iatt *b, struct iatt *p, struct iatt *q,
        dict_t *x)
TOP_CBK(symlink, inode_t *i, struct iatt *b, struct iatt *p, struct iatt *q,
        dict_t *x)
TOP_CBK(link, inode_t *i, struct iatt *b, struct iatt *p, struct iatt *q,
        dict_t *x)
TOP_CBK(rename, struct iatt *b, struct iatt *p1, struct iatt *p2,
        struct iatt *p3, struct iatt *p4, dict_t *x)
TOP_CBK(unlink, struct iatt *p, struct iatt *q, dict_t *x)
TOP_CBK(rmdir, struct iatt *p, struct iatt *q, dict_t *x)
TOP_CBK(writev, struct iatt *p, struct iatt *q, dict_t *x)
TOP_CBK(truncate, struct iatt *p, struct iatt *q, dict_t *x)
TOP_CBK(ftruncate, struct iatt *p, struct iatt *q, dict_t *x)
TOP_CBK(fallocate, struct iatt *p, struct iatt *q, dict_t *x)
TOP_CBK(discard, struct iatt *p, struct iatt *q, dict_t *x)
TOP_CBK(zerofill, struct iatt *p, struct iatt *q, dict_t *x)
TOP_CBK(open, fd_t *fd, dict_t *x)
TOP_CBK(setattr, struct iatt *p, struct iatt *q, dict_t *x)
TOP_CBK(fsetattr, struct iatt *p, struct iatt *q, dict_t *x)
TOP_CBK(setxattr, dict_t *x)
TOP_CBK(fsetxattr, dict_t *x)
TOP_CBK(removexattr, dict_t *x)
TOP_CBK(fremovexattr, dict_t *x)

static struct xlator_fops top_fops = {};

/* ---- fixture ------------------------------------------------------------ */

static glusterfs_ctx_t *ctx;
static xlator_t top_xl;
static xlator_t posix_xl;
static xlator_t *gx; /* the translator under test */
static xlator_list_t gx_child;
static xlator_list_t gx_parent;
static volume_opt_list_t gx_opts;

static const char *kBrick = "/bricks/b1";

/* gfids used throughout: the object, its parent, a second parent/object. */
static uuid_t kGfid = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                       0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};
static uuid_t kParent = {0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
                         0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22};
static uuid_t kParent2 = {0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
                          0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33};
static uuid_t kOther = {0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
                        0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44};
static uuid_t kRoot = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

static inode_t file_inode;
static inode_t dir_inode;
static inode_t other_inode;
static fd_t file_fd;

static int
global_setup(void **state)
{
    call_pool_t *pool = NULL;

    ctx = glusterfs_ctx_new();
    assert_non_null(ctx);
    assert_int_equal(glusterfs_globals_init(ctx), 0);
    THIS->ctx = ctx;
    /* The tests check results, not logs; GEOREP_TEST_LOG=1 shows them. */
    if (getenv("GEOREP_TEST_LOG")) {
        gf_log_init(ctx, "-", NULL);
        ctx->log.loglevel = GF_LOG_DEBUG;
    } else {
        ctx->log.loglevel = GF_LOG_NONE;
    }

    pool = calloc(1, sizeof(*pool));
    pool->frame_mem_pool = mem_pool_new(call_frame_t, 64);
    pool->stack_mem_pool = mem_pool_new(call_stack_t, 16);
    INIT_LIST_HEAD(&pool->all_frames);
    LOCK_INIT(&pool->lock);
    ctx->pool = pool;
    ctx->dict_pool = mem_pool_new(dict_t, 64);
    ctx->dict_pair_pool = mem_pool_new(data_pair_t, 256);
    ctx->dict_data_pool = mem_pool_new(data_t, 256);
    ctx->logbuf_pool = mem_pool_new(log_buf_t, 16);
    ctx->stub_mem_pool = mem_pool_new(call_stub_t, 16);

    top_xl.name = "test-parent";
    top_xl.type = "test/parent";
    top_xl.ctx = ctx;
    top_xl.fops = &top_fops;

    posix_xl.name = "test-posix";
    posix_xl.type = "storage/posix";
    posix_xl.ctx = ctx;
    posix_xl.fops = &fake_posix_fops;
    posix_xl.options = dict_new();
    assert_int_equal(dict_set_str(posix_xl.options, "directory", (char *)kBrick),
                     0);

    gf_uuid_copy(file_inode.gfid, kGfid);
    file_inode.ia_type = IA_IFREG;
    gf_uuid_copy(dir_inode.gfid, kParent);
    dir_inode.ia_type = IA_IFDIR;
    gf_uuid_copy(other_inode.gfid, kOther);
    other_inode.ia_type = IA_IFREG;
    file_fd.inode = &file_inode;
    file_fd.flags = O_RDWR;
    return 0;
}

/* A fresh translator, initialised with `options` (NULL: none set). */
static xlator_t *
make_xlator(dict_t *options)
{
    xlator_t *xl = calloc(1, sizeof(*xl));

    xl->name = "test-georep";
    xl->type = "user/georep";
    xl->ctx = ctx;
    xl->fops = xlator_api.fops;
    xl->cbks = xlator_api.cbks;
    xl->options = options ? options : dict_new();
    INIT_LIST_HEAD(&xl->volume_options);
    gx_opts.given_opt = xlator_api.options;
    list_add_tail(&gx_opts.list, &xl->volume_options);
    gx_child.xlator = &posix_xl;
    xl->children = &gx_child;
    gx_parent.xlator = &top_xl;
    xl->parents = &gx_parent;
    return xl;
}

static int
call_init(xlator_t *xl)
{
    xlator_t *old = THIS;
    int ret = 0;

    THIS = xl;
    ret = xlator_api.init(xl);
    THIS = old;
    return ret;
}

static void
free_xlator(xlator_t *xl)
{
    xlator_t *old = THIS;

    if (!xl)
        return;
    THIS = xl;
    if (xl->private)
        xlator_api.fini(xl);
    THIS = old;
    dict_unref(xl->options);
    free(xl);
}

static int
test_setup(void **state)
{
    fake_journal_reset();
    memset(&child, 0, sizeof(child));
    memset(&top, 0, sizeof(top));
    file_fd.flags = O_RDWR;
    gx = make_xlator(NULL);
    if (call_init(gx) != 0)
        return -1;
    /* A regular file, mode 0644, owned by 1000:1001, as posix would return. */
    gf_uuid_copy(child.buf.ia_gfid, kGfid);
    child.buf.ia_type = IA_IFREG;
    child.buf.ia_prot = ia_prot_from_st_mode(0644);
    child.buf.ia_uid = 1000;
    child.buf.ia_gid = 1001;
    return 0;
}

static int
test_teardown(void **state)
{
    free_xlator(gx);
    gx = NULL;
    return 0;
}

static call_frame_t *
new_frame(pid_t pid)
{
    call_frame_t *f = create_frame(&top_xl, ctx->pool);
    f->root->pid = pid;
    f->root->uid = 1000;
    f->root->gid = 1001;
    return f;
}

static void
end_frame(call_frame_t *f)
{
    STACK_DESTROY(f->root);
}

static loc_t
entry_loc(const unsigned char *pargfid, const char *name, inode_t *inode)
{
    loc_t loc = {
        .name = name,
        .inode = inode,
        .parent = &dir_inode,
    };
    gf_uuid_copy(loc.pargfid, pargfid);
    return loc;
}

static loc_t
inode_loc(inode_t *inode)
{
    loc_t loc = {
        .inode = inode,
    };
    gf_uuid_copy(loc.gfid, inode->gfid);
    return loc;
}

static const struct georep_event *
only_event(void)
{
    assert_int_equal(fake_journal.appends, 1);
    return &fake_journal.events[0].ev;
}

/* The translator must have unwound once, after the journal append. */
static void
assert_unwound_after_journal(int32_t op_ret)
{
    assert_int_equal(top.unwound, 1);
    assert_int_equal(top.op_ret, op_ret);
    assert_int_equal(top.appends_at_unwind, fake_journal.appends);
}

/* ---- data fops ---------------------------------------------------------- */

static void
wind_writev(pid_t pid, off_t offset)
{
    char data[128] = "";
    struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
    call_frame_t *f = new_frame(pid);

    STACK_WIND(f, top_writev_cbk, gx, gx->fops->writev, &file_fd, &iov, 1,
               offset, 0, NULL, NULL);
    end_frame(f);
}

static void
test_writev_cbk__failed_fop_is_not_journaled(void **state)
{
    child.op_ret = -1;
    child.op_errno = ENOSPC;
    wind_writev(1234, 4096);
    assert_int_equal(child.wound, 1);
    assert_int_equal(fake_journal.appends, 0);
    assert_int_equal(top.unwound, 1);
    assert_int_equal(top.op_ret, -1);
    assert_int_equal(top.op_errno, ENOSPC);
}

static void
test_writev__records_offset_from_wind_and_length_from_op_ret(void **state)
{
    const struct georep_event *ev = NULL;

    child.op_ret = 100; /* a short write */
    wind_writev(1234, 4096);
    assert_unwound_after_journal(100);
    ev = only_event();
    assert_int_equal(ev->op, GEOREP_OP_WRITE);
    assert_int_equal(ev->origin, GEOREP_ORIGIN_CLIENT);
    assert_int_equal(ev->flags, GEOREP_FLAG_VIA_FD);
    assert_memory_equal(ev->gfid, kGfid, 16);
    assert_int_equal(ev->offset, 4096);
    assert_int_equal(ev->length, 100);
    assert_int_equal(ev->mode, S_IFREG | 0644);
    assert_int_equal(ev->uid, 1000);
    assert_int_equal(ev->gid, 1001);
}

static void
test_writev__append_fd_records_the_offset_it_landed_at(void **state)
{
    file_fd.flags = O_WRONLY | O_APPEND;
    child.op_ret = 128;
    child.buf.ia_size = 1000 + 128; /* the file had 1000 bytes */
    wind_writev(1234, 0);
    assert_int_equal(only_event()->offset, 1000);
    assert_int_equal(only_event()->length, 128);
}

static void
test_writev__append_failure_still_acknowledges_the_fop(void **state)
{
    /* The data is on disk already; the journal marks the gap itself. */
    fake_journal.append_ret = -EIO;
    child.op_ret = 128;
    wind_writev(1234, 0);
    assert_int_equal(fake_journal.appends, 1);
    assert_unwound_after_journal(128);
}

static void
test_truncate__records_the_new_size(void **state)
{
    loc_t loc = inode_loc(&file_inode);
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_truncate_cbk, gx, gx->fops->truncate, &loc, 77, NULL);
    end_frame(f);
    assert_unwound_after_journal(0);
    assert_int_equal(only_event()->op, GEOREP_OP_TRUNCATE);
    assert_int_equal(only_event()->offset, 77);
    assert_int_equal(only_event()->flags, 0);
    assert_memory_equal(only_event()->gfid, kGfid, 16);
}

static void
test_ftruncate__records_the_new_size_via_fd(void **state)
{
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_ftruncate_cbk, gx, gx->fops->ftruncate, &file_fd, 5,
               NULL);
    end_frame(f);
    assert_int_equal(only_event()->op, GEOREP_OP_TRUNCATE);
    assert_int_equal(only_event()->offset, 5);
    assert_int_equal(only_event()->flags, GEOREP_FLAG_VIA_FD);
}

static void
test_open__o_trunc_is_recorded_as_truncate_to_zero(void **state)
{
    loc_t loc = inode_loc(&file_inode);
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_open_cbk, gx, gx->fops->open, &loc, O_WRONLY | O_TRUNC,
               &file_fd, NULL);
    end_frame(f);
    assert_unwound_after_journal(0);
    assert_int_equal(only_event()->op, GEOREP_OP_TRUNCATE);
    assert_int_equal(only_event()->offset, 0);
    assert_memory_equal(only_event()->gfid, kGfid, 16);
    assert_int_equal(only_event()->mode & S_IFMT, S_IFREG);
}

static void
test_open__without_o_trunc_is_not_journaled(void **state)
{
    loc_t loc = inode_loc(&file_inode);
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_open_cbk, gx, gx->fops->open, &loc, O_RDWR, &file_fd,
               NULL);
    end_frame(f);
    assert_int_equal(top.unwound, 1);
    assert_int_equal(fake_journal.appends, 0);
}

static void
test_open__read_only_o_trunc_is_recorded_too(void **state)
{
    loc_t loc = inode_loc(&file_inode);
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_open_cbk, gx, gx->fops->open, &loc, O_RDONLY | O_TRUNC,
               &file_fd, NULL);
    end_frame(f);
    assert_int_equal(only_event()->op, GEOREP_OP_TRUNCATE);
}

static void
test_open__failed_o_trunc_is_not_journaled(void **state)
{
    loc_t loc = inode_loc(&file_inode);
    call_frame_t *f = new_frame(1);

    child.op_ret = -1;
    child.op_errno = EACCES;
    STACK_WIND(f, top_open_cbk, gx, gx->fops->open, &loc, O_WRONLY | O_TRUNC,
               &file_fd, NULL);
    end_frame(f);
    assert_int_equal(top.op_ret, -1);
    assert_int_equal(fake_journal.appends, 0);
}

static void
test_fallocate__records_range_and_mode(void **state)
{
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_fallocate_cbk, gx, gx->fops->fallocate, &file_fd,
               1 /* FALLOC_FL_KEEP_SIZE */, 8192, 65536, NULL);
    end_frame(f);
    assert_int_equal(only_event()->op, GEOREP_OP_FALLOCATE);
    assert_int_equal(only_event()->offset, 8192);
    assert_int_equal(only_event()->length, 65536);
    assert_int_equal(only_event()->aux, 1);
    assert_int_equal(only_event()->flags, GEOREP_FLAG_VIA_FD);
}

static void
test_discard__records_range(void **state)
{
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_discard_cbk, gx, gx->fops->discard, &file_fd, 4096, 512,
               NULL);
    end_frame(f);
    assert_int_equal(only_event()->op, GEOREP_OP_DISCARD);
    assert_int_equal(only_event()->offset, 4096);
    assert_int_equal(only_event()->length, 512);
}

static void
test_zerofill__records_range(void **state)
{
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_zerofill_cbk, gx, gx->fops->zerofill, &file_fd, 10, 20,
               NULL);
    end_frame(f);
    assert_int_equal(only_event()->op, GEOREP_OP_ZEROFILL);
    assert_int_equal(only_event()->offset, 10);
    assert_int_equal(only_event()->length, 20);
}

/* ---- entry fops --------------------------------------------------------- */

static void
test_create__records_entry_with_gfid_mode_and_owner_from_iatt(void **state)
{
    loc_t loc = entry_loc(kParent, "a.txt", NULL);
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_create_cbk, gx, gx->fops->create, &loc, O_CREAT | O_RDWR,
               0644, 022, &file_fd, NULL);
    end_frame(f);
    assert_unwound_after_journal(0);
    assert_int_equal(only_event()->op, GEOREP_OP_CREATE);
    assert_memory_equal(only_event()->gfid, kGfid, 16);
    assert_memory_equal(only_event()->pargfid, kParent, 16);
    assert_string_equal(only_event()->name, "a.txt");
    assert_int_equal(only_event()->mode, S_IFREG | 0644);
    assert_int_equal(only_event()->uid, 1000);
    assert_int_equal(only_event()->gid, 1001);
    assert_int_equal(only_event()->flags, 0);
}

static void
test_create_cbk__failed_fop_is_not_journaled(void **state)
{
    loc_t loc = entry_loc(kParent, "a.txt", NULL);
    call_frame_t *f = new_frame(1);

    child.op_ret = -1;
    child.op_errno = EEXIST;
    STACK_WIND(f, top_create_cbk, gx, gx->fops->create, &loc, O_CREAT, 0644, 0,
               &file_fd, NULL);
    end_frame(f);
    assert_int_equal(top.op_errno, EEXIST);
    assert_int_equal(fake_journal.appends, 0);
}

static void
test_mknod__records_rdev_and_flags_dht_linkto(void **state)
{
    loc_t loc = entry_loc(kParent, "f", NULL);
    dict_t *xdata = dict_new();
    call_frame_t *f = new_frame(-4); /* DHT creates link-to files as root */

    SET_STR(xdata, "trusted.glusterfs.dht.linkto", "vol-client-1");
    child.buf.ia_prot = ia_prot_from_st_mode(S_ISVTX);
    STACK_WIND(f, top_mknod_cbk, gx, gx->fops->mknod, &loc, S_IFREG | S_ISVTX,
               0, 0, xdata);
    end_frame(f);
    dict_unref(xdata);
    assert_int_equal(only_event()->op, GEOREP_OP_MKNOD);
    assert_int_equal(only_event()->flags, GEOREP_FLAG_DHT_LINKTO);
    assert_int_equal(only_event()->origin, GEOREP_ORIGIN_CLIENT);
    assert_int_equal(only_event()->mode, S_IFREG | S_ISVTX);
}

static void
test_mknod__records_device_number(void **state)
{
    loc_t loc = entry_loc(kParent, "dev", NULL);
    call_frame_t *f = new_frame(1);

    child.buf.ia_type = IA_IFCHR;
    STACK_WIND(f, top_mknod_cbk, gx, gx->fops->mknod, &loc, S_IFCHR | 0600,
               makedev(1, 3), 0, NULL);
    end_frame(f);
    assert_int_equal(only_event()->rdev, makedev(1, 3));
    assert_int_equal(only_event()->mode, S_IFCHR | 0644);
    assert_int_equal(only_event()->flags, 0);
}

static void
test_mkdir__records_directory(void **state)
{
    loc_t loc = entry_loc(kParent, "d", NULL);
    call_frame_t *f = new_frame(1);

    child.buf.ia_type = IA_IFDIR;
    child.buf.ia_prot = ia_prot_from_st_mode(0755);
    STACK_WIND(f, top_mkdir_cbk, gx, gx->fops->mkdir, &loc, 0755, 022, NULL);
    end_frame(f);
    assert_int_equal(only_event()->op, GEOREP_OP_MKDIR);
    assert_string_equal(only_event()->name, "d");
    assert_int_equal(only_event()->mode, S_IFDIR | 0755);
}

static void
test_mkdir__under_hidden_glusterfs_dir_is_not_journaled(void **state)
{
    loc_t loc = entry_loc(kRoot, ".glusterfs", NULL);
    call_frame_t *f = new_frame(-1);

    STACK_WIND(f, top_mkdir_cbk, gx, gx->fops->mkdir, &loc, 0755, 022, NULL);
    end_frame(f);
    assert_int_equal(top.unwound, 1);
    assert_int_equal(fake_journal.appends, 0);
}

static void
test_symlink__records_target(void **state)
{
    loc_t loc = entry_loc(kParent, "l", NULL);
    call_frame_t *f = new_frame(1);

    child.buf.ia_type = IA_IFLNK;
    child.buf.ia_prot = ia_prot_from_st_mode(0777);
    STACK_WIND(f, top_symlink_cbk, gx, gx->fops->symlink, "../target/x", &loc,
               022, NULL);
    end_frame(f);
    assert_int_equal(only_event()->op, GEOREP_OP_SYMLINK);
    assert_string_equal(only_event()->target, "../target/x");
    assert_string_equal(only_event()->name, "l");
    assert_int_equal(only_event()->mode, S_IFLNK | 0777);
}

static void
test_link__records_new_name_of_existing_gfid(void **state)
{
    loc_t oldloc = entry_loc(kParent, "a", &file_inode);
    loc_t newloc = entry_loc(kParent2, "b", NULL);
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_link_cbk, gx, gx->fops->link, &oldloc, &newloc, NULL);
    end_frame(f);
    assert_int_equal(only_event()->op, GEOREP_OP_LINK);
    assert_memory_equal(only_event()->gfid, kGfid, 16);
    assert_memory_equal(only_event()->pargfid, kParent2, 16);
    assert_string_equal(only_event()->name, "b");
    assert_int_equal(only_event()->flags, 0);
}

static void
test_link__dht_internal_link_is_flagged(void **state)
{
    loc_t oldloc = entry_loc(kParent, "a", &file_inode);
    loc_t newloc = entry_loc(kParent, "b", NULL);
    dict_t *xdata = dict_new();
    call_frame_t *f = new_frame(1);

    SET_STR(xdata, GLUSTERFS_INTERNAL_FOP_KEY, "yes");
    STACK_WIND(f, top_link_cbk, gx, gx->fops->link, &oldloc, &newloc, xdata);
    end_frame(f);
    dict_unref(xdata);
    assert_int_equal(only_event()->flags, GEOREP_FLAG_DHT_LINKTO);
}

static void
test_rename__records_both_sides_and_the_replaced_target(void **state)
{
    loc_t oldloc = entry_loc(kParent, "old", &file_inode);
    loc_t newloc = entry_loc(kParent2, "new", &other_inode);
    dict_t *xdata = dict_new();
    call_frame_t *f = new_frame(1);
    dht_changelog_rename_info_t *info = GF_CALLOC(1, sizeof(*info) + 8,
                                                  gf_common_mt_char);

    /* DHT marks the rename it does on the data's brick. */
    assert_int_equal(dict_set_bin(xdata, DHT_CHANGELOG_RENAME_OP_KEY, info, sizeof(*info) + 8), 0);
    STACK_WIND(f, top_rename_cbk, gx, gx->fops->rename, &oldloc, &newloc,
               xdata);
    end_frame(f);
    dict_unref(xdata);
    assert_unwound_after_journal(0);
    assert_int_equal(only_event()->op, GEOREP_OP_RENAME);
    assert_memory_equal(only_event()->gfid, kGfid, 16);
    assert_memory_equal(only_event()->pargfid, kParent, 16);
    assert_string_equal(only_event()->name, "old");
    assert_memory_equal(only_event()->pargfid2, kParent2, 16);
    assert_string_equal(only_event()->name2, "new");
    assert_memory_equal(only_event()->gfid2, kOther, 16);
    assert_int_equal(only_event()->flags, 0);
}

static void
test_rename__directory_without_target_has_null_gfid2(void **state)
{
    static const uuid_t null_gfid = {0};
    inode_t d = dir_inode;
    loc_t oldloc = entry_loc(kParent, "d1", &d);
    loc_t newloc = entry_loc(kParent, "d2", NULL);
    call_frame_t *f = new_frame(1);

    gf_uuid_copy(d.gfid, kOther);
    child.buf.ia_type = IA_IFDIR;
    gf_uuid_copy(child.buf.ia_gfid, kOther);
    STACK_WIND(f, top_rename_cbk, gx, gx->fops->rename, &oldloc, &newloc, NULL);
    end_frame(f);
    assert_memory_equal(only_event()->gfid, kOther, 16);
    assert_memory_equal(only_event()->gfid2, null_gfid, 16);
    assert_int_equal(only_event()->mode & S_IFMT, S_IFDIR);
    assert_int_equal(only_event()->flags, 0);
}

static void
test_rename__dht_linkto_file_rename_is_flagged(void **state)
{
    loc_t oldloc = entry_loc(kParent, "old", &file_inode);
    loc_t newloc = entry_loc(kParent, "new", NULL);
    call_frame_t *f = new_frame(-4);

    child.buf.ia_prot = ia_prot_from_st_mode(S_ISVTX); /* ---------T */
    STACK_WIND(f, top_rename_cbk, gx, gx->fops->rename, &oldloc, &newloc, NULL);
    end_frame(f);
    assert_int_equal(only_event()->flags, GEOREP_FLAG_DHT_LINKTO);
}

static void
test_unlink__records_entry_and_gfid(void **state)
{
    loc_t loc = entry_loc(kParent, "gone", &file_inode);
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_unlink_cbk, gx, gx->fops->unlink, &loc, 0, NULL);
    end_frame(f);
    assert_unwound_after_journal(0);
    assert_int_equal(only_event()->op, GEOREP_OP_UNLINK);
    assert_memory_equal(only_event()->gfid, kGfid, 16);
    assert_memory_equal(only_event()->pargfid, kParent, 16);
    assert_string_equal(only_event()->name, "gone");
    assert_int_equal(only_event()->mode & S_IFMT, S_IFREG);
    assert_int_equal(only_event()->flags, 0);
}

static void
test_unlink__with_dht_rename_key_is_recorded_as_the_rename(void **state)
{
    loc_t loc = entry_loc(kParent, "old", &file_inode);
    dict_t *xdata = dict_new();
    size_t size = sizeof(dht_changelog_rename_info_t) + 4 + 4;
    dht_changelog_rename_info_t *info = GF_CALLOC(1, size, gf_common_mt_char);
    call_frame_t *f = new_frame(1);

    gf_uuid_copy(info->old_pargfid, kParent);
    gf_uuid_copy(info->new_pargfid, kParent2);
    info->oldname_len = 4; /* "old" + NUL */
    info->newname_len = 4; /* "new" + NUL */
    memcpy(info->buffer, "old\0new", 8);
    SET_STR(xdata, GLUSTERFS_INTERNAL_FOP_KEY, "yes");
    assert_int_equal(dict_set_bin(xdata, DHT_CHANGELOG_RENAME_OP_KEY, info, size), 0);
    STACK_WIND(f, top_unlink_cbk, gx, gx->fops->unlink, &loc, 0, xdata);
    end_frame(f);
    dict_unref(xdata);
    assert_int_equal(only_event()->op, GEOREP_OP_RENAME);
    assert_memory_equal(only_event()->gfid, kGfid, 16);
    assert_memory_equal(only_event()->pargfid, kParent, 16);
    assert_string_equal(only_event()->name, "old");
    assert_memory_equal(only_event()->pargfid2, kParent2, 16);
    assert_string_equal(only_event()->name2, "new");
    assert_int_equal(only_event()->flags, 0);
}

static void
test_unlink__truncated_dht_rename_info_is_journaled_as_unlink(void **state)
{
    loc_t loc = entry_loc(kParent, "old", &file_inode);
    dict_t *xdata = dict_new();
    size_t size = sizeof(dht_changelog_rename_info_t);
    dht_changelog_rename_info_t *info = GF_CALLOC(1, size, gf_common_mt_char);
    call_frame_t *f = new_frame(1);

    info->oldname_len = 4000; /* claims far more than the value holds */
    info->newname_len = 4000;
    assert_int_equal(dict_set_bin(xdata, DHT_CHANGELOG_RENAME_OP_KEY, info, size), 0);
    STACK_WIND(f, top_unlink_cbk, gx, gx->fops->unlink, &loc, 0, xdata);
    end_frame(f);
    dict_unref(xdata);
    assert_int_equal(only_event()->op, GEOREP_OP_UNLINK);
    assert_string_equal(only_event()->name, "old");
}

static void
test_unlink__dht_internal_unlink_is_flagged(void **state)
{
    loc_t loc = entry_loc(kParent, "stale", &file_inode);
    dict_t *xdata = dict_new();
    call_frame_t *f = new_frame(1);

    SET_STR(xdata, GLUSTERFS_INTERNAL_FOP_KEY, "yes");
    STACK_WIND(f, top_unlink_cbk, gx, gx->fops->unlink, &loc, 0, xdata);
    end_frame(f);
    dict_unref(xdata);
    assert_int_equal(only_event()->op, GEOREP_OP_UNLINK);
    assert_int_equal(only_event()->flags, GEOREP_FLAG_DHT_LINKTO);
}

static void
test_rmdir__records_entry(void **state)
{
    inode_t d = dir_inode;
    loc_t loc = entry_loc(kParent, "d", &d);
    call_frame_t *f = new_frame(1);

    gf_uuid_copy(d.gfid, kOther);
    STACK_WIND(f, top_rmdir_cbk, gx, gx->fops->rmdir, &loc, 0, NULL);
    end_frame(f);
    assert_int_equal(only_event()->op, GEOREP_OP_RMDIR);
    assert_memory_equal(only_event()->gfid, kOther, 16);
    assert_string_equal(only_event()->name, "d");
    assert_int_equal(only_event()->mode, S_IFDIR);
}

static void
test_rmdir_cbk__failed_fop_is_not_journaled(void **state)
{
    loc_t loc = entry_loc(kParent, "d", &dir_inode);
    call_frame_t *f = new_frame(1);

    child.op_ret = -1;
    child.op_errno = ENOTEMPTY;
    STACK_WIND(f, top_rmdir_cbk, gx, gx->fops->rmdir, &loc, 0, NULL);
    end_frame(f);
    assert_int_equal(top.op_errno, ENOTEMPTY);
    assert_int_equal(fake_journal.appends, 0);
}

/* ---- metadata fops ------------------------------------------------------ */

static void
test_setattr__records_mask_mode_owner_and_times(void **state)
{
    loc_t loc = inode_loc(&file_inode);
    struct iatt st = {
        .ia_atime = 100,
        .ia_atime_nsec = 5,
        .ia_mtime = 200,
        .ia_mtime_nsec = 7,
    };
    call_frame_t *f = new_frame(1);

    child.buf.ia_prot = ia_prot_from_st_mode(0600);
    child.buf.ia_uid = 7;
    child.buf.ia_gid = 8;
    STACK_WIND(f, top_setattr_cbk, gx, gx->fops->setattr, &loc, &st,
               GF_SET_ATTR_MODE | GF_SET_ATTR_UID | GF_SET_ATTR_GID |
                   GF_SET_ATTR_ATIME | GF_SET_ATTR_MTIME,
               NULL);
    end_frame(f);
    assert_unwound_after_journal(0);
    assert_int_equal(only_event()->op, GEOREP_OP_SETATTR);
    assert_int_equal(only_event()->attr_mask, 0x1 | 0x2 | 0x4 | 0x10 | 0x20);
    assert_int_equal(only_event()->mode, S_IFREG | 0600);
    assert_int_equal(only_event()->uid, 7);
    assert_int_equal(only_event()->gid, 8);
    assert_int_equal(only_event()->atime_ns, 100000000005ull);
    assert_int_equal(only_event()->mtime_ns, 200000000007ull);
    assert_int_equal(only_event()->flags, 0);
}

static void
test_setattr__time_now_records_the_time_posix_applied(void **state)
{
    loc_t loc = inode_loc(&file_inode);
    struct iatt st = {0};
    call_frame_t *f = new_frame(1);

    child.buf.ia_mtime = 300;
    child.buf.ia_mtime_nsec = 9;
    STACK_WIND(f, top_setattr_cbk, gx, gx->fops->setattr, &loc, &st,
               GF_ATTR_MTIME_NOW, NULL);
    end_frame(f);
    assert_int_equal(only_event()->attr_mask, GF_SET_ATTR_MTIME);
    assert_int_equal(only_event()->mtime_ns, 300000000009ull);
}

static void
test_setattr__ctime_only_update_is_not_journaled(void **state)
{
    loc_t loc = inode_loc(&file_inode);
    struct iatt st = {0};
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_setattr_cbk, gx, gx->fops->setattr, &loc, &st,
               GF_SET_ATTR_CTIME, NULL);
    end_frame(f);
    assert_int_equal(top.unwound, 1);
    assert_int_equal(fake_journal.appends, 0);
}

static void
wind_setxattr(dict_t *dict);

static void
test_setattr__dht_linkto_owner_heal_is_flagged(void **state)
{
    loc_t loc = inode_loc(&file_inode);
    struct iatt st = {.ia_uid = 5, .ia_gid = 6};
    dict_t *xdata = dict_new();
    call_frame_t *f = new_frame(-4);

    SET_STR(xdata, GLUSTERFS_INTERNAL_FOP_KEY, "yes");
    STACK_WIND(f, top_setattr_cbk, gx, gx->fops->setattr, &loc, &st,
               GF_SET_ATTR_UID | GF_SET_ATTR_GID, xdata);
    end_frame(f);
    dict_unref(xdata);
    assert_int_equal(only_event()->flags, GEOREP_FLAG_DHT_LINKTO);
}

static void
test_setxattr__utime_ctime_key_is_flagged_internal(void **state)
{
    dict_t *d = dict_new();

    SET_STR(d, "set-ctime-mdata", "x");
    wind_setxattr(d);
    dict_unref(d);
    assert_int_equal(only_event()->flags, GEOREP_FLAG_INTERNAL_XATTR);
}

static void
test_fsetattr__records_via_fd(void **state)
{
    struct iatt st = {0};
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_fsetattr_cbk, gx, gx->fops->fsetattr, &file_fd, &st,
               GF_SET_ATTR_MODE, NULL);
    end_frame(f);
    assert_int_equal(only_event()->op, GEOREP_OP_SETATTR);
    assert_int_equal(only_event()->attr_mask, GF_SET_ATTR_MODE);
    assert_int_equal(only_event()->flags, GEOREP_FLAG_VIA_FD);
}

static void
wind_setxattr(dict_t *dict)
{
    loc_t loc = inode_loc(&file_inode);
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_setxattr_cbk, gx, gx->fops->setxattr, &loc, dict, 0,
               NULL);
    end_frame(f);
}

/* The keys of the event as one string with '|' for the separators. */
static const char *
keys_of(const struct georep_event *ev)
{
    static char out[512];
    size_t i = 0;

    assert_true(ev->xattr_names_len < sizeof(out));
    for (i = 0; i < ev->xattr_names_len; i++)
        out[i] = ev->xattr_names[i] ? ev->xattr_names[i] : '|';
    out[i] = '\0';
    return out;
}

static void
test_setxattr__records_every_key(void **state)
{
    dict_t *d = dict_new();

    SET_STR(d, "user.a", "1");
    SET_STR(d, "user.b", "2");
    wind_setxattr(d);
    dict_unref(d);
    assert_int_equal(only_event()->op, GEOREP_OP_SETXATTR);
    assert_memory_equal(only_event()->gfid, kGfid, 16);
    /* dict order is the dict's; both keys, each '\0'-terminated. */
    assert_int_equal(only_event()->xattr_names_len, 14);
    assert_true(strstr(keys_of(only_event()), "user.a|") != NULL);
    assert_true(strstr(keys_of(only_event()), "user.b|") != NULL);
    assert_int_equal(only_event()->flags, 0);
}

static void
test_setxattr__only_trusted_keys_is_flagged_internal(void **state)
{
    dict_t *d = dict_new();

    SET_STR(d, "trusted.afr.vol-client-0", "x");
    SET_STR(d, "trusted.glusterfs.dht", "y");
    wind_setxattr(d);
    dict_unref(d);
    assert_int_equal(only_event()->flags, GEOREP_FLAG_INTERNAL_XATTR);
}

static void
test_setxattr__mixed_keys_are_not_flagged_internal(void **state)
{
    dict_t *d = dict_new();

    SET_STR(d, "trusted.afr.vol-client-0", "x");
    SET_STR(d, "security.selinux", "y");
    wind_setxattr(d);
    dict_unref(d);
    assert_int_equal(only_event()->flags, 0);
}

static void
test_setxattr__dht_linkto_key_is_flagged(void **state)
{
    dict_t *d = dict_new();

    SET_STR(d, "trusted.glusterfs.dht.linkto", "vol-client-1");
    wind_setxattr(d);
    dict_unref(d);
    assert_int_equal(only_event()->flags,
                     GEOREP_FLAG_DHT_LINKTO | GEOREP_FLAG_INTERNAL_XATTR);
}

static void
test_fsetxattr__records_via_fd(void **state)
{
    dict_t *d = dict_new();
    call_frame_t *f = new_frame(1);

    SET_STR(d, "user.k", "v");
    STACK_WIND(f, top_fsetxattr_cbk, gx, gx->fops->fsetxattr, &file_fd, d, 0,
               NULL);
    end_frame(f);
    dict_unref(d);
    assert_int_equal(only_event()->op, GEOREP_OP_SETXATTR);
    assert_string_equal(keys_of(only_event()), "user.k|");
    assert_int_equal(only_event()->flags, GEOREP_FLAG_VIA_FD);
}

static void
test_removexattr__records_the_key(void **state)
{
    loc_t loc = inode_loc(&file_inode);
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_removexattr_cbk, gx, gx->fops->removexattr, &loc,
               "user.gone", NULL);
    end_frame(f);
    assert_unwound_after_journal(0);
    assert_int_equal(only_event()->op, GEOREP_OP_REMOVEXATTR);
    assert_string_equal(keys_of(only_event()), "user.gone|");
    assert_int_equal(only_event()->flags, 0);
}

static void
test_removexattr__bulk_removal_records_the_keys_of_xdata(void **state)
{
    loc_t loc = inode_loc(&file_inode);
    call_frame_t *f = new_frame(GF_CLIENT_PID_SELF_HEALD);
    dict_t *xdata = dict_new();
    const char *keys = NULL;

    /* AFR's metadata heal: removexattr("", {old xattrs}) removes each key. */
    SET_STR(xdata, "user.a", "1");
    SET_STR(xdata, "user.b", "2");
    STACK_WIND(f, top_removexattr_cbk, gx, gx->fops->removexattr, &loc, "",
               xdata);
    end_frame(f);
    dict_unref(xdata);
    assert_int_equal(only_event()->op, GEOREP_OP_REMOVEXATTR);
    assert_int_equal(only_event()->origin, GEOREP_ORIGIN_SELF_HEAL);
    keys = keys_of(only_event());
    assert_int_equal(strlen(keys), strlen("user.a|user.b|"));
    assert_non_null(strstr(keys, "user.a|"));
    assert_non_null(strstr(keys, "user.b|"));
    assert_int_equal(only_event()->flags, 0);
}

static void
test_fremovexattr__bulk_removal_of_internal_keys_is_flagged(void **state)
{
    call_frame_t *f = new_frame(GF_CLIENT_PID_SELF_HEALD);
    dict_t *xdata = dict_new();

    SET_STR(xdata, "trusted.glusterfs.x", "1");
    STACK_WIND(f, top_fremovexattr_cbk, gx, gx->fops->fremovexattr, &file_fd,
               "", xdata);
    end_frame(f);
    dict_unref(xdata);
    assert_string_equal(keys_of(only_event()), "trusted.glusterfs.x|");
    assert_int_equal(only_event()->flags,
                     GEOREP_FLAG_VIA_FD | GEOREP_FLAG_INTERNAL_XATTR);
}

static void
test_removexattr__bulk_removal_of_nothing_is_not_journaled(void **state)
{
    loc_t loc = inode_loc(&file_inode);
    call_frame_t *f = new_frame(GF_CLIENT_PID_SELF_HEALD);
    dict_t *xdata = dict_new();

    STACK_WIND(f, top_removexattr_cbk, gx, gx->fops->removexattr, &loc, "",
               xdata);
    end_frame(f);
    dict_unref(xdata);
    assert_int_equal(top.unwound, 1);
    assert_int_equal(top.op_ret, 0);
    assert_int_equal(fake_journal.appends, 0);
}

static void
test_fremovexattr__records_via_fd(void **state)
{
    call_frame_t *f = new_frame(1);

    STACK_WIND(f, top_fremovexattr_cbk, gx, gx->fops->fremovexattr, &file_fd,
               "trusted.x", NULL);
    end_frame(f);
    assert_int_equal(only_event()->op, GEOREP_OP_REMOVEXATTR);
    assert_int_equal(only_event()->flags,
                     GEOREP_FLAG_VIA_FD | GEOREP_FLAG_INTERNAL_XATTR);
}

static void
test_removexattr_cbk__failed_fop_is_not_journaled(void **state)
{
    loc_t loc = inode_loc(&file_inode);
    call_frame_t *f = new_frame(1);

    child.op_ret = -1;
    child.op_errno = ENODATA;
    STACK_WIND(f, top_removexattr_cbk, gx, gx->fops->removexattr, &loc,
               "user.none", NULL);
    end_frame(f);
    assert_int_equal(top.op_errno, ENODATA);
    assert_int_equal(fake_journal.appends, 0);
}

/* ---- origin ------------------------------------------------------------- */

static void
test_origin__client_pid_maps_to_origin(void **state)
{
    static const struct {
        pid_t pid;
        uint8_t origin;
    } cases[] = {
        {4242, GEOREP_ORIGIN_CLIENT},
        {0, GEOREP_ORIGIN_CLIENT},
        {-1, GEOREP_ORIGIN_REPLICATION},
        {-3, GEOREP_ORIGIN_REBALANCE},
        {-6, GEOREP_ORIGIN_SELF_HEAL},
        {-7, GEOREP_ORIGIN_SELF_HEAL},
        {-4, GEOREP_ORIGIN_CLIENT}, /* FRAME_SU_DO of a client's fop */
        {-8, GEOREP_ORIGIN_OTHER_INTERNAL},
        {-13, GEOREP_ORIGIN_OTHER_INTERNAL},
    };
    size_t i = 0;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fake_journal.appends = 0;
        child.op_ret = 1;
        wind_writev(cases[i].pid, 0);
        assert_int_equal(fake_journal.appends, 1);
        if (fake_journal.events[0].ev.origin != cases[i].origin)
            fail_msg("pid %d: origin %u, expected %u", (int)cases[i].pid,
                     fake_journal.events[0].ev.origin, cases[i].origin);
    }
}

static void
test_origin__record_internal_off_skips_rebalance_and_self_heal(void **state)
{
    dict_t *opts = dict_new();
    xlator_t *old = THIS;

    SET_STR(opts, "record-internal", "off");
    THIS = gx;
    assert_int_equal(xlator_api.reconfigure(gx, opts), 0);
    THIS = old;
    dict_unref(opts);

    child.op_ret = 1;
    wind_writev(-3, 0);
    wind_writev(-6, 0);
    wind_writev(-9, 0);
    assert_int_equal(fake_journal.appends, 0);
    wind_writev(-1, 0); /* replication is never skipped */
    wind_writev(99, 0);
    assert_int_equal(fake_journal.appends, 2);
    assert_int_equal(top.unwound, 5);
}

/* ---- init, options, reconfigure ----------------------------------------- */

static void
test_init__takes_brick_path_from_posix_child_and_defaults(void **state)
{
    char expected_id[512];

    /* test_setup initialised gx with no options at all. */
    assert_int_equal(fake_journal.opens, 1);
    assert_string_equal(fake_journal.opened_brick_path, kBrick);
    snprintf(expected_id, sizeof(expected_id), "%s:%s", gf_gethostname(),
             kBrick);
    assert_string_equal(fake_journal.opened_brick_id, expected_id);
    assert_int_equal(fake_journal.opened_with.fsync_policy,
                     GEOREP_FSYNC_INTERVAL);
    assert_int_equal(fake_journal.opened_with.fsync_interval_ms, 1000);
    assert_int_equal(fake_journal.opened_with.segment_size, 64ull << 20);
    assert_int_equal(fake_journal.opened_with.max_journal_size, 4ull << 30);
    assert_int_equal(fake_journal.opened_with.record_internal, 1);
}

static void
test_init__maps_every_option(void **state)
{
    dict_t *opts = dict_new();
    xlator_t *xl = NULL;

    SET_STR(opts, "journal-fsync", "always");
    SET_STR(opts, "journal-fsync-interval", "250");
    SET_STR(opts, "segment-size", "8MB");
    SET_STR(opts, "max-journal-size", "0");
    SET_STR(opts, "record-internal", "off");
    SET_STR(opts, "brick-path", "/other/brick");
    SET_STR(opts, "brick-id", "node7:/other/brick");
    fake_journal_reset();
    xl = make_xlator(opts);
    assert_int_equal(call_init(xl), 0);
    assert_int_equal(fake_journal.opened_with.fsync_policy,
                     GEOREP_FSYNC_ALWAYS);
    assert_int_equal(fake_journal.opened_with.fsync_interval_ms, 250);
    assert_int_equal(fake_journal.opened_with.segment_size, 8ull << 20);
    assert_int_equal(fake_journal.opened_with.max_journal_size, 0);
    assert_int_equal(fake_journal.opened_with.record_internal, 0);
    assert_string_equal(fake_journal.opened_brick_path, "/other/brick");
    assert_string_equal(fake_journal.opened_brick_id, "node7:/other/brick");
    free_xlator(xl);
    assert_int_equal(fake_journal.closes, 1);
}

/* Runs the journal's warning callback as the journal's own sync thread does:
 * on a thread GlusterFS did not create (THIS is the global translator). */
struct warning_call {
    georep_journal_warning_fn fn;
    void *cookie;
    const char *message;
};

static void *
call_warning_on_foreign_thread(void *arg)
{
    struct warning_call *c = arg;

    c->fn(c->cookie, c->message);
    return NULL;
}

/* Sends the log to a scratch file for the duration of fn, returns what was
 * logged (malloc'd), and puts the test logging back as global_setup left it. */
static char *
capture_log(void (*fn)(void))
{
    char path[] = "/tmp/georep_xlator_test_log.XXXXXX";
    int fd = mkstemp(path);
    gf_loglevel_t old_level = ctx->log.loglevel;
    FILE *f = NULL;
    char *text = calloc(1, 65536);
    size_t n = 0;

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(gf_log_init(ctx, path, NULL), 0);
    ctx->log.loglevel = GF_LOG_INFO;
    fn();
    ctx->log.loglevel = old_level;
    if (getenv("GEOREP_TEST_LOG"))
        gf_log_init(ctx, "-", NULL);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(text, 1, 65535, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    return text;
}

static void
emit_size_cap_warnings(void)
{
    struct warning_call c = {
        .fn = fake_journal.opened_with.on_warning,
        .cookie = fake_journal.opened_with.warning_cookie,
        .message = "journal size cap reached: consumer 'w1' needs a full "
                   "resync",
    };
    pthread_t t;
    xlator_t *old = THIS;

    /* From an io-thread (THIS is the translator) and from a thread of the
     * journal's own. */
    THIS = gx;
    c.fn(c.cookie, "append path warning");
    THIS = old;
    assert_int_equal(
        pthread_create(&t, NULL, call_warning_on_foreign_thread, &c), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
}

static void
test_init__routes_journal_warnings_to_the_brick_log(void **state)
{
    char *logged = NULL;
    char msgid[32];

    /* The glue hands the journal a callback whose cookie is the translator
     * and keeps them on reconfigure. */
    assert_non_null(fake_journal.opened_with.on_warning);
    assert_ptr_equal(fake_journal.opened_with.warning_cookie, gx);

    logged = capture_log(emit_size_cap_warnings);
    /* Both calls reach the log at WARNING level ("W"), under the translator's
     * name and the journal-warning message id (GEOREP_MSGID_BASE + 8). */
    snprintf(msgid, sizeof(msgid), "[MSGID: %d]",
             GLFS_MSGID_END + 64 * GLFS_MSGID_SEGMENT + 8);
    assert_non_null(strstr(logged, "append path warning"));
    assert_non_null(strstr(logged, "consumer 'w1' needs a full resync"));
    assert_non_null(strstr(logged, "] W ["));
    assert_non_null(strstr(logged, msgid));
    assert_non_null(strstr(logged, "test-georep"));
    free(logged);
}

static void
test_reconfigure__keeps_the_warning_callback(void **state)
{
    dict_t *opts = dict_new();
    xlator_t *old = THIS;

    assert_int_equal(dict_set_str(opts, "journal-fsync", "always"), 0);
    THIS = gx;
    assert_int_equal(xlator_api.reconfigure(gx, opts), 0);
    THIS = old;
    dict_unref(opts);
    assert_int_equal(fake_journal.reconfigures, 1);
    assert_ptr_equal(fake_journal.reconfigured_with.on_warning,
                     fake_journal.opened_with.on_warning);
    assert_ptr_equal(fake_journal.reconfigured_with.warning_cookie, gx);
}

static void
test_init__fails_when_the_journal_cannot_open(void **state)
{
    xlator_t *xl = NULL;

    fake_journal_reset();
    fake_journal.open_ret = -EACCES;
    xl = make_xlator(NULL);
    assert_int_not_equal(call_init(xl), 0);
    assert_null(xl->private);
    free_xlator(xl);
}

static void
test_init__fails_without_posix_child_or_brick_path(void **state)
{
    xlator_t other = {.name = "locks", .type = "features/locks", .ctx = NULL};
    xlator_t *xl = NULL;

    fake_journal_reset();
    xl = make_xlator(NULL);
    gx_child.xlator = &other;
    assert_int_not_equal(call_init(xl), 0);
    assert_int_equal(fake_journal.opens, 0);
    gx_child.xlator = &posix_xl;
    free_xlator(xl);
}

static void
test_init__rejects_max_size_below_segment_size(void **state)
{
    dict_t *opts = dict_new();
    xlator_t *xl = NULL;

    SET_STR(opts, "segment-size", "64MB");
    SET_STR(opts, "max-journal-size", "10MB");
    fake_journal_reset();
    xl = make_xlator(opts);
    assert_int_not_equal(call_init(xl), 0);
    assert_int_equal(fake_journal.opens, 0);
    free_xlator(xl);
}

/* GlusterFS validates option values against the options table before init
 * and reconfigure (and glusterd before `volume set` commits); check that the
 * table refuses what it must. */
static void
assert_validation(const char *key, const char *value, gf_boolean_t ok)
{
    dict_t *opts = dict_new();
    char *errstr = NULL;
    int ret = 0;

    SET_STR(opts, (char *)key, (char *)value);
    ret = xlator_options_validate(gx, opts, &errstr);
    if (ok && ret != 0)
        fail_msg("%s=%s refused: %s", key, value, errstr ? errstr : "");
    if (!ok && ret == 0)
        fail_msg("%s=%s accepted", key, value);
    if (!ok)
        assert_non_null(errstr);
    GF_FREE(errstr);
    dict_unref(opts);
}

static void
test_options__table_refuses_bad_values(void **state)
{
    assert_validation("journal-fsync", "sometimes", _gf_false);
    assert_validation("journal-fsync", "always", _gf_true);
    assert_validation("journal-fsync-interval", "0", _gf_false);
    assert_validation("journal-fsync-interval", "abc", _gf_false);
    assert_validation("journal-fsync-interval", "500", _gf_true);
    assert_validation("segment-size", "10KB", _gf_false);
    assert_validation("segment-size", "16MB", _gf_true);
    assert_validation("max-journal-size", "lots", _gf_false);
    assert_validation("max-journal-size", "0", _gf_true);
    assert_validation("record-internal", "maybe", _gf_false);
    assert_validation("record-internal", "off", _gf_true);
    assert_validation("brick-path", "relative/dir", _gf_false);
}

static void
test_reconfigure__applies_new_fsync_policy(void **state)
{
    dict_t *opts = dict_new();
    xlator_t *old = THIS;

    SET_STR(opts, "journal-fsync", "never");
    SET_STR(opts, "segment-size", "2MB");
    THIS = gx;
    assert_int_equal(xlator_api.reconfigure(gx, opts), 0);
    THIS = old;
    dict_unref(opts);
    assert_int_equal(fake_journal.reconfigures, 1);
    assert_int_equal(fake_journal.reconfigured_with.fsync_policy,
                     GEOREP_FSYNC_NEVER);
    assert_int_equal(fake_journal.reconfigured_with.segment_size, 2ull << 20);
    assert_string_equal(fake_journal.reconfigured_with.brick_path, kBrick);
}

static void
test_reconfigure__refuses_to_move_the_journal(void **state)
{
    dict_t *opts = dict_new();
    xlator_t *old = THIS;

    SET_STR(opts, "brick-path", "/elsewhere");
    THIS = gx;
    assert_int_not_equal(xlator_api.reconfigure(gx, opts), 0);
    THIS = old;
    dict_unref(opts);
    assert_int_equal(fake_journal.reconfigures, 0);
}

static void
test_reconfigure__refuses_values_the_table_does_not_allow(void **state)
{
    dict_t *opts = dict_new();
    xlator_t *old = THIS;

    SET_STR(opts, "segment-size", "10KB"); /* parses, but below the minimum */
    THIS = gx;
    assert_int_not_equal(xlator_api.reconfigure(gx, opts), 0);
    THIS = old;
    dict_unref(opts);
    assert_int_equal(fake_journal.reconfigures, 0);
}

static void
test_reconfigure__journal_refusal_is_reported(void **state)
{
    dict_t *opts = dict_new();
    xlator_t *old = THIS;

    fake_journal.reconfigure_ret = -EINVAL;
    THIS = gx;
    assert_int_not_equal(xlator_api.reconfigure(gx, opts), 0);
    THIS = old;
    dict_unref(opts);
}

#define T(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_writev_cbk__failed_fop_is_not_journaled),
        T(test_writev__records_offset_from_wind_and_length_from_op_ret),
        T(test_writev__append_fd_records_the_offset_it_landed_at),
        T(test_writev__append_failure_still_acknowledges_the_fop),
        T(test_truncate__records_the_new_size),
        T(test_ftruncate__records_the_new_size_via_fd),
        T(test_open__o_trunc_is_recorded_as_truncate_to_zero),
        T(test_open__without_o_trunc_is_not_journaled),
        T(test_open__read_only_o_trunc_is_recorded_too),
        T(test_open__failed_o_trunc_is_not_journaled),
        T(test_fallocate__records_range_and_mode),
        T(test_discard__records_range),
        T(test_zerofill__records_range),
        T(test_create__records_entry_with_gfid_mode_and_owner_from_iatt),
        T(test_create_cbk__failed_fop_is_not_journaled),
        T(test_mknod__records_rdev_and_flags_dht_linkto),
        T(test_mknod__records_device_number),
        T(test_mkdir__records_directory),
        T(test_mkdir__under_hidden_glusterfs_dir_is_not_journaled),
        T(test_symlink__records_target),
        T(test_link__records_new_name_of_existing_gfid),
        T(test_link__dht_internal_link_is_flagged),
        T(test_rename__records_both_sides_and_the_replaced_target),
        T(test_rename__directory_without_target_has_null_gfid2),
        T(test_rename__dht_linkto_file_rename_is_flagged),
        T(test_unlink__records_entry_and_gfid),
        T(test_unlink__with_dht_rename_key_is_recorded_as_the_rename),
        T(test_unlink__truncated_dht_rename_info_is_journaled_as_unlink),
        T(test_unlink__dht_internal_unlink_is_flagged),
        T(test_rmdir__records_entry),
        T(test_rmdir_cbk__failed_fop_is_not_journaled),
        T(test_setattr__records_mask_mode_owner_and_times),
        T(test_setattr__time_now_records_the_time_posix_applied),
        T(test_setattr__ctime_only_update_is_not_journaled),
        T(test_setattr__dht_linkto_owner_heal_is_flagged),
        T(test_setxattr__utime_ctime_key_is_flagged_internal),
        T(test_fsetattr__records_via_fd),
        T(test_setxattr__records_every_key),
        T(test_setxattr__only_trusted_keys_is_flagged_internal),
        T(test_setxattr__mixed_keys_are_not_flagged_internal),
        T(test_setxattr__dht_linkto_key_is_flagged),
        T(test_fsetxattr__records_via_fd),
        T(test_removexattr__records_the_key),
        T(test_removexattr__bulk_removal_records_the_keys_of_xdata),
        T(test_fremovexattr__bulk_removal_of_internal_keys_is_flagged),
        T(test_removexattr__bulk_removal_of_nothing_is_not_journaled),
        T(test_fremovexattr__records_via_fd),
        T(test_removexattr_cbk__failed_fop_is_not_journaled),
        T(test_origin__client_pid_maps_to_origin),
        T(test_origin__record_internal_off_skips_rebalance_and_self_heal),
        T(test_init__takes_brick_path_from_posix_child_and_defaults),
        T(test_init__maps_every_option),
        T(test_init__fails_when_the_journal_cannot_open),
        T(test_init__routes_journal_warnings_to_the_brick_log),
        T(test_reconfigure__keeps_the_warning_callback),
        T(test_init__fails_without_posix_child_or_brick_path),
        T(test_init__rejects_max_size_below_segment_size),
        T(test_options__table_refuses_bad_values),
        T(test_reconfigure__applies_new_fsync_policy),
        T(test_reconfigure__refuses_to_move_the_journal),
        T(test_reconfigure__refuses_values_the_table_does_not_allow),
        T(test_reconfigure__journal_refusal_is_reported),
    };

    return cmocka_run_group_tests_name("georep_xlator", tests, global_setup,
                                       NULL);
}
