/*
 * cmd_keygen.c - 'tagseal keygen [PREFIX]': write an ECDSA P-256 key pair
 * for signing (PREFIX.key, mode 0600; PREFIX.pub). The work is in keys.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "tagseal/keys.h"

static int run(int argc, char **argv);

static const ts_optgroup keygen_groups[] = { TS_COMMON_GROUP, { NULL, NULL } };

static const ts_cmdspec keygen_spec = {
	"keygen [PREFIX]",
	"Writes PREFIX.key (the private key, PKCS#8 PEM, mode 0600) and PREFIX.pub\n"
	"(the public key, PEM) and prints the public key's path. PREFIX defaults to\n"
	"'tagseal'. Existing files are never overwritten.\n"
	"\n"
	"With TAGSEAL_KEY_PASSWORD set (in the environment, never as a flag) the\n"
	"private key is encrypted with that password (PKCS#8, PBKDF2 + AES-256);\n"
	"sign, attest and push --sign-key then need the same variable.\n",
	keygen_groups, NULL,
	"0 the pair was written\n2 bad usage, or a file exists or cannot be written\n",
};

const ts_command ts_cmd_keygen = { "keygen", run,
				   "make an ECDSA P-256 key pair for sign, attest and verify",
				   &keygen_spec };

/* keygen has only the common options */
static int no_options(void *ctx, int opt, const char *arg, const char *src)
{
	(void)ctx, (void)opt, (void)arg, (void)src;
	return -2;
}

static int run(int argc, char **argv)
{
	const char *prefix = "tagseal";
	ts_error err = TS_ERROR_INIT;
	char *pub = NULL;
	int rc = ts_cli_parse(&ts_cmd_keygen, &keygen_spec, argc, argv, no_options, NULL);

	if (rc >= 0)
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
		    getenv("TAGSEAL_KEY_PASSWORD") && *getenv("TAGSEAL_KEY_PASSWORD") ? ", encrypted" : "",
		    pub);
	printf("%s\n", pub);
	free(pub);
	return 0;
}
