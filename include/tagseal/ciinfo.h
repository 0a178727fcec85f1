/*
 * ciinfo.h - what the CI system says about the current build, read from
 * the environment: provider, build number, run attempt, run URL, actor,
 * ref, branch, and which commit the build is about. Tag generation uses the
 * build number and branch; change records store the rest.
 *
 * Providers, detected in this order:
 *   github     GITHUB_ACTIONS=true   build GITHUB_RUN_NUMBER, attempt GITHUB_RUN_ATTEMPT
 *   gitlab     GITLAB_CI=true        build CI_PIPELINE_IID
 *   buildkite  BUILDKITE=true        build BUILDKITE_BUILD_NUMBER
 *   woodpecker CI=woodpecker         build CI_PIPELINE_NUMBER
 *   drone      DRONE=true            build DRONE_BUILD_NUMBER
 *   jenkins    JENKINS_URL set       build BUILD_NUMBER
 *   generic    BUILD_NUMBER set (no provider above)
 */
#ifndef TAGSEAL_CIINFO_H
#define TAGSEAL_CIINFO_H

#include <stdbool.h>

#include "tagseal/error.h"

typedef struct ts_ciinfo {
	char *provider;  /* "github", "gitlab", ...; NULL outside CI */
	char *build;     /* build/run/pipeline number; NULL when unknown */
	char *attempt;   /* re-run attempt when > 1 (GitHub, Buildkite retries); else NULL */
	char *run_url;   /* link to the build in the CI's web UI, NULL when unknown */
	char *actor;     /* who triggered the build, NULL when unknown */
	char *ref;       /* "refs/heads/main", "refs/pull/7/merge", "main", ... */
	char *branch;    /* source branch of the build (the PR's head branch for PRs) */
	char *commit;    /* commit the CI checked out (may be a synthetic merge) */
	/* The PR/MR head commit when the CI checked out a synthetic merge
	 * commit (GitHub pull_request event, GitLab merged-results pipeline);
	 * tags name this commit rather than the merge. NULL otherwise. */
	char *head_commit;
} ts_ciinfo;

#define TS_CIINFO_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

/* Read the environment. Only a GitHub event file that exists but cannot
 * be parsed is an error (TS_EUSAGE naming GITHUB_EVENT_PATH). */
ts_code ts_ciinfo_from_env(ts_ciinfo *out, ts_error *err);

void ts_ciinfo_free(ts_ciinfo *ci);

#endif
