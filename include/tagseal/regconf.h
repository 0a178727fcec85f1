/*
 * regconf.h - where a reference is pulled from: the containers'
 * registries.conf (v2: [[registry]] prefix/location/insecure/blocked and
 * [[registry.mirror]] location/insecure/pull-from-mirror) and --mirror
 * HOST=MIRROR, turned into the ordered list of sources to ask for a tag.
 *
 * The file is read by a small strict parser for exactly the TOML subset
 * registries.conf uses: [table] and [[array]] headers, key = value with bare
 * or quoted keys, basic and literal strings, booleans, arrays of strings
 * (over several lines, trailing comma allowed), comments. Anything else is
 * an error "FILE:LINE: ..." (exit 2), as is an unknown key inside a
 * [[registry]] or [[registry.mirror]] table; other top-level keys and tables
 * of the format (unqualified-search-registries, short-name-mode, [aliases],
 * ...) are read and ignored.
 */
#ifndef TAGSEAL_REGCONF_H
#define TAGSEAL_REGCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "tagseal/error.h"
#include "tagseal/ref.h"

typedef struct ts_regmirror {
	char *location;  /* host[:port][/namespace] */
	bool insecure;   /* plain HTTP or unverified TLS allowed */
	bool tags;       /* may be asked for tags (pull-from-mirror "all"/"tag-only") */
} ts_regmirror;

typedef struct ts_regentry {
	char *prefix;    /* host[:port][/namespace], or *.domain; normalised */
	char *location;  /* NULL: same as prefix */
	bool insecure;
	bool blocked;
	bool mirror_by_digest_only;
	ts_regmirror *mirrors;
	size_t nmirrors;
	char *origin;    /* "FILE:LINE" or "--mirror", for messages */
} ts_regentry;

typedef struct ts_regconf {
	ts_regentry *v;
	size_t n;
} ts_regconf;

#define TS_REGCONF_INIT { NULL, 0 }

/* Parse registries.conf bytes; `name` names the file in errors. Entries
 * are appended to `out` (which may already hold some). */
ts_code ts_regconf_parse(const char *name, const char *data, size_t len, ts_regconf *out,
			 ts_error *err);

/* Read `path` (given: must exist, and is the only file read), or with path
 * NULL as containers do: the first of $HOME/.config/containers/registries.conf
 * and /etc/containers/registries.conf that exists, then the drop-ins
 * /etc/containers/registries.conf.d/ *.conf and
 * $HOME/.config/containers/registries.conf.d/ *.conf in name order (none at
 * all: nothing added). A later [[registry]] with the same prefix replaces an
 * earlier one. *used (may be NULL) gets the paths read, ", "-separated, or
 * NULL; caller frees. */
ts_code ts_regconf_load(const char *path, ts_regconf *out, char **used, ts_error *err);

/* --mirror HOST=MIRROR (HOST may carry a namespace; docker.io, index.docker.io
 * and registry-1.docker.io are one): MIRROR is asked first for HOST,
 * before any registries.conf mirror. TS_EUSAGE naming --mirror. */
ts_code ts_regconf_add_mirror(ts_regconf *c, const char *spec, ts_error *err);

void ts_regconf_free(ts_regconf *c);

/* One place to ask for a reference. */
typedef struct ts_source {
	ts_ref ref;      /* host/path to open there (tag and digest unset) */
	bool insecure;   /* allow plain HTTP to this host */
	bool mirror;     /* a mirror (else the primary location) */
} ts_source;

typedef struct ts_sources {
	ts_source *v;
	size_t n;
} ts_sources;

/*
 * Where to resolve the tag of `r` (host and path normalised as ts_ref_parse
 * does): the mirrors of the longest matching prefix (--mirror ones first)
 * that serve tags, then the location (the reference's own registry, or the
 * entry's location). A blocked prefix is TS_EUSAGE naming the entry.
 */
ts_code ts_regconf_sources(const ts_regconf *c, const ts_ref *r, ts_sources *out, ts_error *err);
void ts_sources_free(ts_sources *s);

#endif
