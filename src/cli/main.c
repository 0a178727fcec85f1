/*
 * main.c - process-wide setup and dispatch to one command.
 */
#include <curl/curl.h>
#include <git2.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "verify_image.h"

const ts_command *const ts_commands[] = {
	&ts_cmd_push, &ts_cmd_tag, &ts_cmd_pin, &ts_cmd_verify, &ts_cmd_lint, &ts_cmd_inspect,
	&ts_cmd_keygen, &ts_cmd_sign, &ts_cmd_attest,
};
#define N_COMMANDS (sizeof(ts_commands) / sizeof(ts_commands[0]))
const size_t ts_n_commands = N_COMMANDS;
#define commands ts_commands

/* `tagseal help --man` / `help --markdown`: the documents made from the
 * option tables (scripts/gen-docs.sh writes them into docs/). */
static int print_document(bool man)
{
	const char *names[N_COMMANDS], *summaries[N_COMMANDS];
	const ts_cmdspec *specs[N_COMMANDS];
	for (size_t i = 0; i < N_COMMANDS; i++) {
		names[i] = commands[i]->name;
		summaries[i] = commands[i]->summary;
		specs[i] = commands[i]->spec;
	}
	if (man)
		ts_opt_man(stdout, names, summaries, specs, N_COMMANDS);
	else
		ts_opt_markdown(stdout, names, summaries, specs, N_COMMANDS);
	return 0;
}

static int print_completion(void)
{
	const char *names[N_COMMANDS];
	const ts_cmdspec *specs[N_COMMANDS];
	for (size_t i = 0; i < N_COMMANDS; i++) {
		names[i] = commands[i]->name;
		specs[i] = commands[i]->spec;
	}
	ts_opt_bash(stdout, names, specs, N_COMMANDS);
	return 0;
}

static void print_overview(FILE *out)
{
	fprintf(out,
		"tagseal %s - push container images under tags that can be trusted\n\n"
		"usage: tagseal COMMAND [ARGS] [OPTIONS]\n\n"
		"commands:\n",
		TAGSEAL_VERSION);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out, "\n'tagseal help COMMAND' or 'tagseal COMMAND --help' for a command's options;\n"
		     "'man tagseal' for all of them. Every option can also be set as\n"
		     "TAGSEAL_OPT_<NAME> in the environment (a flag wins).\n"
		     "Exit codes: 0 ok, 1 internal error, 2 bad usage or input, 3 refused (tag exists\n"
		     "with other content, or immutable), 4 registry/network/TLS/auth failure,\n"
		     "5 verification failed (read-back mismatch, lost race, drift, lint findings).\n");
}

static const ts_command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const ts_command *cmd;
	int rc;

	if (argc < 2) {
		print_overview(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("tagseal %s\n", TAGSEAL_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			if (strcmp(argv[2], "--man") == 0 || strcmp(argv[2], "--markdown") == 0)
				return print_document(strcmp(argv[2], "--man") == 0);
			if (strcmp(argv[2], "--bash-completion") == 0)
				return print_completion();
			cmd = find_command(argv[2]);
			if (!cmd)
				return ts_msg_usage(NULL, "unknown command '%s'", argv[2]);
			return ts_msg_help(cmd);
		}
		print_overview(stdout);
		return 0;
	}
	cmd = find_command(argv[1]);
	if (!cmd)
		return ts_msg_usage(NULL, "unknown command '%s'", argv[1]);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "tagseal: error: cannot initialise libcurl\n");
		return 1;
	}
	git_libgit2_init();
	/* 'verify IMAGE --key PUB' is image verification (cmd_verify_image.c) */
	if (cmd == &ts_cmd_verify && ts_verify_is_image_form(argc - 1, argv + 1))
		rc = ts_verify_image_run(argc - 1, argv + 1);
	else
		rc = cmd->run(argc - 1, argv + 1);
	git_libgit2_shutdown();
	curl_global_cleanup();
	fflush(stdout);
	if (ferror(stdout) && rc == 0) {
		fprintf(stderr, "tagseal: error: cannot write to standard output\n");
		rc = 1;
	}
	return rc;
}
