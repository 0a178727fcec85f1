/*
 * linkhdr.h - reading an HTTP Link header (RFC 8288) for the registry's
 * pagination: several links in one value or in several headers, quoted
 * parameters, relation types as space-separated lists, relative targets.
 */
#ifndef TAGSEAL_LINKHDR_H
#define TAGSEAL_LINKHDR_H

/* The target (URI-reference, as written) of the first link in `value`
 * whose rel lists `rel` (case-insensitive) and that has no anchor
 * parameter, or NULL (also for a malformed value). Caller frees. */
char *ts_link_find(const char *value, const char *rel);

#endif
