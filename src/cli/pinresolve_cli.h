/*
 * pinresolve_cli.h - the entry of 'tagseal pin --resolve / --update'
 * (cmd_pin_resolve.c), called by cmd_pin.c when either flag is given.
 */
#ifndef TAGSEAL_PINRESOLVE_CLI_H
#define TAGSEAL_PINRESOLVE_CLI_H

#include <stdbool.h>

/* True when argv (before a "--") asks for --resolve or --update. */
bool ts_pin_wants_resolve(int argc, char **argv);

int ts_pin_resolve_run(int argc, char **argv);

#endif
