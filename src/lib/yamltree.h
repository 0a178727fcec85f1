/*
 * yamltree.h - internal: libyaml's events folded, one document at a time,
 * into a node tree with exact byte positions, for yamlrefs.c.
 *
 * libyaml marks count characters, not bytes (a UTF-8 BOM is not counted,
 * CRLF counts two): a character-to-byte map translates them. Aliases stay
 * aliases, pointing to the latest node of the same document with their
 * anchor, so that they can be refused rather than edited through. Each
 * document's tree is handed to a callback and freed before the next one is
 * read, so memory follows the largest document, not the file.
 */
#ifndef TAGSEAL_YAMLTREE_H
#define TAGSEAL_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "tagseal/error.h"
#include "tagseal/yamlrefs.h"

enum { N_SCALAR, N_SEQ, N_MAP, N_ALIAS };

typedef struct ynode ynode;
typedef struct ylookup ylookup;

/* A document's nodes and strings live in an arena freed when it ends. */
typedef struct ychunk ychunk;

struct ynode {
	unsigned char type; /* N_* */
	bool flow;
	unsigned char seen; /* free for the caller: what it examined the node for */
	unsigned char style; /* ts_ystyle */
	size_t start, end;  /* bytes: a scalar's without its anchor and tag */
	char *anchor;
	union {
		char *value;   /* scalars */
		ynode *target; /* aliases: NULL when the anchor is unknown */
		struct {       /* sequences: items; maps: key, value, key, value ... */
			ynode **kid;
			size_t nkid, capkid;
			ylookup *lookups; /* ts_ynode_get's memory, for merged maps */
		};
	};
};

typedef struct ytree {
	const char *data;
	size_t len;
	size_t *ck;    /* byte offset of every CK_STEP-th character */
	size_t nchars;
	size_t last_char, last_byte; /* byte_at's last answer */
	size_t *lines; /* byte offset of each line start */
	size_t nlines;
	char *eol;     /* the first line break ("\n" when none) */
	ynode **all;   /* the nodes of the current document */
	size_t nall, capall;
	ychunk *arena; /* their memory (the newest chunk first) */
	void *anchors; /* tsearch tree: the current document's latest node per anchor */
} ytree;

/* Called for each scalar as it is read (its value, style and bytes set), and
 * with each document's root (NULL for an empty document) at its end. */
typedef ts_code (*ytree_scalar_fn)(void *ctx, const ynode *scalar);
typedef void (*ytree_document_fn)(void *ctx, const ynode *root);

/* Parse `len` bytes of YAML (no NUL bytes). Fails with TS_EUSAGE and
 * "NAME:LINE:COL: not valid YAML: ..." or "NAME:LINE: nested deeper than
 * ...", or with what on_scalar returned. Free `t` with ts_ytree_free in
 * either case. */
ts_code ts_ytree_parse(ytree *t, const char *name, const char *data, size_t len,
		       ytree_scalar_fn on_scalar, ytree_document_fn on_document, void *ctx,
		       ts_error *err);
void ts_ytree_free(ytree *t);

/* Length of the line break at byte i, 0 if none. Like libyaml (YAML 1.1):
 * CRLF, LF, a lone CR, NEL, LS and PS. */
size_t ts_ytree_break_len(const ytree *t, size_t i);

/* 1-based line and byte column of a byte offset. */
void ts_ytree_line_col(const ytree *t, size_t off, size_t *line, size_t *col);

/* An alias's target; any other node itself. */
const ynode *ts_ynode_deref(const ynode *n);

/* A mapping's value for `key` (scalar keys, the first that matches), looking
 * into '<<' merge keys too, at most 8 deep; NULL when absent or not a map. */
const ynode *ts_ynode_get(const ynode *map, const char *key);

#endif
