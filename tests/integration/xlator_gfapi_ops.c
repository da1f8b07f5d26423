/* Drives the fd-based fops that a FUSE mount cannot issue (zerofill,
 * fsetxattr, fremovexattr, fsetattr) through libgfapi, for
 * xlator_fops.sh. Usage: xlator_gfapi_ops VOLUME SERVER PATH
 * Creates PATH and then, on one fd: zerofill(0, 4096), fsetxattr(user.k),
 * fremovexattr(user.k), fchmod(0640), ftruncate(10). Exits non-zero naming
 * the first call that failed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <glusterfs/api/glfs.h>

static int
fail(const char *what)
{
    fprintf(stderr, "xlator_gfapi_ops: %s failed: %s\n", what, strerror(errno));
    return 1;
}

int
main(int argc, char **argv)
{
    glfs_t *fs = NULL;
    glfs_fd_t *fd = NULL;
    int rc = 1;

    if (argc != 4) {
        fprintf(stderr, "usage: %s VOLUME SERVER PATH\n", argv[0]);
        return 2;
    }
    fs = glfs_new(argv[1]);
    if (!fs)
        return fail("glfs_new");
    if (glfs_set_volfile_server(fs, "tcp", argv[2], 24007) != 0) {
        fail("glfs_set_volfile_server");
        goto out;
    }
    glfs_set_logging(fs, "/dev/null", 0);
    if (glfs_init(fs) != 0) {
        fail("glfs_init");
        goto out;
    }
    fd = glfs_creat(fs, argv[3], O_RDWR | O_EXCL, 0644);
    if (!fd) {
        fail("glfs_creat");
        goto out;
    }
    if (glfs_zerofill(fd, 0, 4096) != 0) {
        fail("glfs_zerofill");
        goto out;
    }
    if (glfs_fsetxattr(fd, "user.k", "v", 1, 0) != 0) {
        fail("glfs_fsetxattr");
        goto out;
    }
    if (glfs_fremovexattr(fd, "user.k") != 0) {
        fail("glfs_fremovexattr");
        goto out;
    }
    if (glfs_fchmod(fd, 0640) != 0) {
        fail("glfs_fchmod");
        goto out;
    }
    if (glfs_ftruncate(fd, 10, NULL, NULL) != 0) {
        fail("glfs_ftruncate");
        goto out;
    }
    rc = 0;
out:
    if (fd && glfs_close(fd) != 0 && rc == 0)
        rc = fail("glfs_close");
    /* No glfs_fini: it waits ~11 s in GlusterFS 10.3 (gluster/glusterfs#2606);
     * the fd is closed and the process exits now. */
    return rc;
}
