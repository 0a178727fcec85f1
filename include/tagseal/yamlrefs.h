/*
 * yamlrefs.h - the image-reference finder shared by 'pin' and 'lint'.
 *
 * Parses YAML with libyaml's event API and reports, with exact byte ranges,
 * every scalar that holds (part of) an image reference:
 *   - Kubernetes pod specs at any depth: `image:` of the items of
 *     `containers`, `initContainers`, `ephemeralContainers`;
 *   - kustomization `images:` entries (name/newName/newTag/digest);
 *   - Helm values: a mapping with `repository` and `tag` (and optionally
 *     `registry` and `digest`);
 *   - Compose: `services.*.image`;
 *   - explicit markers, a trailing comment on the scalar's line:
 *     `# tagseal: REPO` (the scalar is a full reference),
 *     `# tagseal: REPO:tag` (just the tag), `# tagseal: REPO:digest` (just
 *     the digest).
 * Nothing here changes a file; pin.h builds its edits on these findings.
 */
#ifndef TAGSEAL_YAMLREFS_H
#define TAGSEAL_YAMLREFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tagseal/error.h"
#include "tagseal/ref.h"

typedef enum ts_yref_kind {
	TS_YREF_POD,
	TS_YREF_KUSTOMIZE,
	TS_YREF_HELM,
	TS_YREF_COMPOSE,
	TS_YREF_MARKER,        /* '# tagseal: REPO' */
	TS_YREF_MARKER_TAG,    /* '# tagseal: REPO:tag' */
	TS_YREF_MARKER_DIGEST  /* '# tagseal: REPO:digest' */
} ts_yref_kind;

/* "pod", "kustomize", "helm", "compose", "marker", "marker-tag", "marker-digest" */
const char *ts_yref_kind_name(ts_yref_kind kind);

typedef enum ts_ystyle {
	TS_YSTYLE_PLAIN,
	TS_YSTYLE_SINGLE,  /* 'quoted' */
	TS_YSTYLE_DOUBLE,  /* "quoted" */
	TS_YSTYLE_LITERAL, /* | block scalar: never rewritten */
	TS_YSTYLE_FOLDED,  /* > block scalar: never rewritten */
	TS_YSTYLE_ALIAS    /* *alias: never rewritten */
} ts_ystyle;

/* One scalar of a finding. */
typedef struct ts_yscalar {
	bool present;
	ts_ystyle style;
	size_t start, end;   /* bytes [start, end) in the file: quotes included,
			      * anchor and tag excluded; an alias: '*name' */
	size_t line, column; /* 1-based, of start */
	char *value;         /* decoded value (an alias: the anchored scalar's) */
} ts_yscalar;

/* The scalars a finding may consist of. */
typedef enum ts_yfield {
	TS_YF_IMAGE,      /* pod, compose, markers: the one scalar */
	TS_YF_REGISTRY,   /* helm */
	TS_YF_REPOSITORY, /* helm */
	TS_YF_NAME,       /* kustomize */
	TS_YF_NEW_NAME,   /* kustomize */
	TS_YF_TAG,        /* helm tag, kustomize newTag */
	TS_YF_DIGEST,     /* helm digest, kustomize digest */
	TS_YF_COUNT
} ts_yfield;

typedef struct ts_yref {
	ts_yref_kind kind;
	size_t line, column; /* 1-based: where the finding starts */
	char *reference;     /* the current reference as the file spells it
			      * (helm: registry/repository:tag@digest) */
	char *repo;          /* the repository part as the file (or marker) spells it */
	bool valid;          /* `match` holds a parsed repository */
	ts_ref match;        /* parsed reference (tag/digest as found); markers:
			      * the marker's repository plus what the scalar holds */
	ts_yscalar field[TS_YF_COUNT];
	/* kustomize: where missing keys go; insert_at == SIZE_MAX when they cannot */
	size_t insert_at;
	char *insert_prefix; /* "\n    ", "\r\n    " or ", " */
} ts_yref;

typedef struct ts_yrefs {
	ts_yref *v;
	size_t n;
} ts_yrefs;

#define TS_YREFS_INIT { NULL, 0 }

/*
 * Find the references in `len` bytes of YAML. `name` is the file's path: it
 * names the file in errors, and a base name of kustomization.yaml/.yml or
 * Kustomization marks a kustomization. A file with NUL bytes (binary, UTF-16)
 * or that libyaml cannot parse, or an invalid marker, fails with TS_EUSAGE
 * and "NAME:LINE:COL: ...". Findings are in file order. Time and memory grow
 * in proportion to `len` (n log n in the findings), however many documents.
 */
ts_code ts_yrefs_find(const char *name, const char *data, size_t len, ts_yrefs *out,
		      ts_error *err);
void ts_yrefs_free(ts_yrefs *refs);

/*
 * Build a reference string from its parts, as the finder reports it:
 * helm joins registry and repository with '/', then ":tag" and "@digest"
 * when non-empty. Exposed so the rewriter can predict what it wrote.
 */
char *ts_yref_compose(const char *registry, const char *repository, const char *tag,
		      const char *digest);

#endif
