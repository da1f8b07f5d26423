/* A recording stand-in for the journal core (journal_capi.h), linked into
 * the translator's unit tests instead of journal_capi.cc. */
#ifndef GEOREP_FAKE_JOURNAL_CAPI_H
#define GEOREP_FAKE_JOURNAL_CAPI_H

#include "xlator/journal_capi.h"

#define FAKE_MAX_EVENTS 8

/* An event with its strings copied (the glue frees its own copies right
 * after georep_journal_append returns). */
struct fake_event {
    struct georep_event ev;
    char name[256];
    char name2[256];
    char target[256];
    char xattr_names[512];
};

struct fake_journal_state {
    /* What the fake returns. */
    int open_ret;
    int append_ret;
    int reconfigure_ret;
    /* What it saw. */
    int opens;
    int closes;
    int reconfigures;
    struct georep_journal_options opened_with;
    char opened_brick_path[256];
    char opened_brick_id[256];
    struct georep_journal_options reconfigured_with;
    int appends;
    struct fake_event events[FAKE_MAX_EVENTS];
};

extern struct fake_journal_state fake_journal;

void
fake_journal_reset(void);

#endif
