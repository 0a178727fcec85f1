/*
 * regopts.c - the registry-access options (see regopts.h).
 */
#include <string.h>
#include <unistd.h>

#include "regopts.h"
#include "tagseal/creds.h"

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

void ts_regopts_init(ts_regopts *ro)
{
	ts_registry_opts defaults = TS_REGISTRY_OPTS_INIT;
	memset(ro, 0, sizeof(*ro));
	ro->reg = defaults;
	ro->reg.log = log_line;
	ro->reg.warn = warn_line;
}

int ts_regopts_opt(ts_regopts *ro, const char *cmd, int opt, const char *arg)
{
	long v = 0;
	int rc;
	switch (opt) {
	case TS_RO_USERNAME: ro->reg.username = arg; return -1;
	case TS_RO_PASSWORD_STDIN: ro->password_stdin = true; return -1;
	case TS_RO_CA_FILE: ro->reg.ca_file = arg; return -1;
	case TS_RO_PLAIN_HTTP: ro->reg.plain_http = true; return -1;
	case TS_RO_RETRIES:
		if ((rc = ts_cli_parse_int(cmd, "--retries", arg, 0, 100, &v)) >= 0)
			return rc;
		ro->reg.retries = (int)v;
		return -1;
	case TS_RO_TIMEOUT:
		if ((rc = ts_cli_parse_int(cmd, "--timeout", arg, 1, 86400, &v)) >= 0)
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
	return -1;
}

ts_code ts_regopts_finish(ts_regopts *ro, int log_from, ts_error *err)
{
	ro->reg.verbose = ts_msg_verbosity() >= log_from;
	if (ro->reg.ca_file && access(ro->reg.ca_file, R_OK) != 0)
		return ts_error_set(err, TS_EUSAGE, "--ca-file '%s' cannot be read", ro->reg.ca_file);
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
