/*
 * regopts.c - the registry-access options (see regopts.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regopts.h"
#include "tagseal/creds.h"
#include "tagseal/http.h"

static void log_line(void *ud, const char *line)
{
	(void)ud;
	ts_msg_verbose("%s", line);
}

static void warn_line(void *ud, const char *line)
{
	(void)ud;
	ts_msg_warn("%s", line);
}

const ts_optdef ts_regopts_defs[] = {
	{ "username", TS_RO_USERNAME, 0, TS_OPT_VALUE, "USER",
	  "registry user, its password from --password-stdin or\n"
	  "TAGSEAL_PASSWORD (without it: TAGSEAL_USERNAME and\n"
	  "TAGSEAL_PASSWORD, CI tokens, the Docker config)",
	  TS_OF_NO_ENV, 0 },
	{ "password-stdin", TS_RO_PASSWORD_STDIN, 0, TS_OPT_SWITCH, NULL,
	  "read the password or token from standard input", TS_OF_NO_ENV, 0 },
	{ "ca-file", TS_RO_CA_FILE, 0, TS_OPT_VALUE, "FILE", "also trust this CA (PEM) for HTTPS", 0,
	  0 },
	{ "plain-http", TS_RO_PLAIN_HTTP, 0, TS_OPT_SWITCH, NULL,
	  "allow plain HTTP to a non-loopback registry", 0, 0 },
	{ "retries", TS_RO_RETRIES, 0, TS_OPT_VALUE, "N", "retries of transient failures (default 4)",
	  0, 0 },
	{ "timeout", TS_RO_TIMEOUT, 0, TS_OPT_VALUE, "SECONDS",
	  "deadline of each request and credential-helper run; an\n"
	  "upload must move 1 KiB/s over that long (default 60)",
	  0, 0 },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0 }
};

void ts_regopts_init(ts_regopts *ro)
{
	ts_registry_opts defaults = TS_REGISTRY_OPTS_INIT;
	memset(ro, 0, sizeof(*ro));
	ro->reg = defaults;
	ro->reg.log = log_line;
	ro->reg.warn = warn_line;
}

int ts_regopts_opt(ts_regopts *ro, const char *cmd, int opt, const char *arg, const char *src)
{
	long v = 0;
	int rc;
	switch (opt) {
	case TS_RO_USERNAME: ro->reg.username = arg; return -1;
	case TS_RO_PASSWORD_STDIN: ro->password_stdin = true; return -1;
	case TS_RO_CA_FILE: ro->reg.ca_file = arg; return -1;
	case TS_RO_PLAIN_HTTP: ro->reg.plain_http = true; return -1;
	case TS_RO_RETRIES:
		if ((rc = ts_cli_parse_int(cmd, src, arg, 0, 100, &v)) >= 0)
			return rc;
		ro->reg.retries = (int)v;
		return -1;
	case TS_RO_TIMEOUT:
		if ((rc = ts_cli_parse_int(cmd, src, arg, 1, 86400, &v)) >= 0)
			return rc;
		ro->reg.timeout_s = v;
		return -1;
	default:
		return -2;
	}
}

int ts_regopts_check(const ts_regopts *ro, const char *cmd)
{
	if (ro->password_stdin && !ro->reg.username)
		return ts_msg_usage(cmd, "--password-stdin needs --username");
	if (ro->reg.username && !ro->password_stdin && !getenv("TAGSEAL_PASSWORD"))
		return ts_msg_usage(cmd, "--username needs the password: --password-stdin, or "
					 "TAGSEAL_PASSWORD in the environment");
	return -1;
}

ts_code ts_regopts_finish(ts_regopts *ro, int log_from, ts_error *err)
{
	ro->reg.verbose = ts_msg_verbosity() >= log_from;
	if (ro->reg.ca_file) {
		ts_code rc = ts_http_check_ca_file(ro->reg.ca_file, err);
		if (rc != TS_OK)
			return ts_error_prefix(err, "--ca-file");
	}
	if (ro->reg.username && !ro->password_stdin)
		ro->reg.password = getenv("TAGSEAL_PASSWORD"); /* --username with it */
	if (ro->password_stdin && !ro->password) {
		ts_code rc = ts_creds_read_password_stdin(&ro->password, err);
		if (rc != TS_OK)
			return rc;
		ro->reg.password = ro->password;
	}
	return TS_OK;
}

void ts_regopts_free(ts_regopts *ro)
{
	if (ro->password)
		ts_secret_free(ro->password);
	ro->password = NULL;
	ro->reg.password = NULL;
}
