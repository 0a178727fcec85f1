/*
 * progress.h - the CLI's display of the engine's progress events
 * (tagseal/progress.h) for push and verify, on stderr only.
 */
#ifndef TAGSEAL_CLI_PROGRESS_H
#define TAGSEAL_CLI_PROGRESS_H

#include "tagseal/progress.h"

/* The renderer for this process (its user data is unused: pass NULL), or
 * NULL when progress is off (-q). Call after the options are parsed. */
ts_progress_event_fn ts_progress_cli(void);

/* Erase the live lines on a terminal before other output goes to stderr
 * (msgs.c calls it); the next event draws them again. Does nothing when no
 * live line is shown. Takes stderr's lock (flockfile), which may be held. */
void ts_progress_cli_clear(void);

#endif
