#include "fake_journal_capi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct fake_journal_state fake_journal;

/* Any non-NULL handle will do: the glue only passes it back. */
static char fake_handle;

void
fake_journal_reset(void)
{
    memset(&fake_journal, 0, sizeof(fake_journal));
}

static void
copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

int
georep_journal_open(const struct georep_journal_options *options,
                    georep_journal_t **out, char *err, size_t err_len)
{
    fake_journal.opens++;
    fake_journal.opened_with = *options;
    copy_str(fake_journal.opened_brick_path,
             sizeof(fake_journal.opened_brick_path), options->brick_path);
    copy_str(fake_journal.opened_brick_id, sizeof(fake_journal.opened_brick_id),
             options->brick_id);
    if (fake_journal.open_ret) {
        snprintf(err, err_len, "fake open failure");
        return fake_journal.open_ret;
    }
    *out = (georep_journal_t *)&fake_handle;
    return 0;
}

int
georep_journal_append(georep_journal_t *j, const struct georep_event *ev)
{
    struct fake_event *fe = NULL;

    if (j != (georep_journal_t *)&fake_handle)
        return -EINVAL;
    if (fake_journal.appends < FAKE_MAX_EVENTS) {
        fe = &fake_journal.events[fake_journal.appends];
        fe->ev = *ev;
        copy_str(fe->name, sizeof(fe->name), ev->name);
        copy_str(fe->name2, sizeof(fe->name2), ev->name2);
        copy_str(fe->target, sizeof(fe->target), ev->target);
        if (ev->xattr_names_len <= sizeof(fe->xattr_names))
            memcpy(fe->xattr_names, ev->xattr_names, ev->xattr_names_len);
        fe->ev.name = fe->name;
        fe->ev.name2 = fe->name2;
        fe->ev.target = fe->target;
        fe->ev.xattr_names = fe->xattr_names;
    }
    fake_journal.appends++;
    return fake_journal.append_ret;
}

int
georep_journal_reconfigure(georep_journal_t *j,
                           const struct georep_journal_options *options,
                           char *err, size_t err_len)
{
    fake_journal.reconfigures++;
    fake_journal.reconfigured_with = *options;
    if (fake_journal.reconfigure_ret)
        snprintf(err, err_len, "fake reconfigure failure");
    return fake_journal.reconfigure_ret;
}

int
georep_journal_stats(georep_journal_t *j, struct georep_journal_stats *out)
{
    memset(out, 0, sizeof(*out));
    return 0;
}

void
georep_journal_close(georep_journal_t *j)
{
    if (j)
        fake_journal.closes++;
}
