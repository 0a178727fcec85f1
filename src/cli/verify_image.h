/*
 * verify_image.h - the image form of 'tagseal verify' (cmd_verify_image.c),
 * for the dispatcher: 'verify IMAGE --key PUB' goes here, 'verify --record
 * FILE' (or a record file as the only argument) to cmd_verify.c.
 */
#ifndef TAGSEAL_VERIFY_IMAGE_H
#define TAGSEAL_VERIFY_IMAGE_H

#include <stdbool.h>

/* argv[0] is "verify". True when there is no --record option and the first
 * positional argument is not an existing file (so it names an image), or
 * there is none and --key is given. */
bool ts_verify_is_image_form(int argc, char **argv);

/* Run the image form; returns the exit code. */
int ts_verify_image_run(int argc, char **argv);

/* Its options, --help text and exit codes (opttab.h), for the lead to merge
 * into verify's own table. */
struct ts_cmdspec;
extern const struct ts_cmdspec ts_verify_image_spec;

#endif
