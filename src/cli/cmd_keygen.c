/*
 * cmd_keygen.c - 'tagseal keygen [PREFIX]': write an ECDSA P-256 key pair
 * for signing (PREFIX.key, mode 0600; PREFIX.pub). The work is in keys.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "tagseal/keys.h"

static int run(int argc, char **argv);

const ts_command ts_cmd_keygen = {
	"keygen", run, "make an ECDSA P-256 key pair for sign, attest and verify",
	"usage: tagseal keygen [PREFIX] [OPTIONS]\n"
	"\n"
	"Writes PREFIX.key (the private key, PKCS#8 PEM, mode 0600) and PREFIX.pub\n"
	"(the public key, PEM) and prints the public key's path. PREFIX defaults to\n"
	"'tagseal'. Existing files are never overwritten.\n"
	"\n"
	"With TAGSEAL_KEY_PASSWORD set (in the environment, never as a flag) the\n"
	"private key is encrypted with that password (PKCS#8, PBKDF2 + AES-256);\n"
	"sign, attest and push --sign-key then need the same variable.\n"
	"\n"
	"options:\n"
	TS_COMMON_USAGE,
};

static int run(int argc, char **argv)
{
	static const struct option longopts[] = { TS_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	const char *prefix = "tagseal";
	ts_error err = TS_ERROR_INIT;
	char *pub = NULL;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, TS_COMMON_SHORTOPTS, longopts, NULL)) != -1)
		if ((rc = ts_cli_common_opt(&ts_cmd_keygen, opt)) >= 0)
			return rc;
	if (optind < argc)
		prefix = argv[optind++];
	if (optind < argc)
		return ts_msg_usage("keygen", "unexpected argument '%s'", argv[optind]);
	if (!*prefix)
		return ts_msg_usage("keygen", "PREFIX is empty");
	if (ts_keygen(prefix, &pub, &err) != TS_OK)
		return ts_msg_fail(&err);
	ts_msg_info("wrote %s.key (private, mode 0600%s) and %s", prefix,
		    getenv("TAGSEAL_KEY_PASSWORD") ? ", encrypted" : "", pub);
	printf("%s\n", pub);
	free(pub);
	return 0;
}
