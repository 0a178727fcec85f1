/*
 * ciinfo.c - reading the CI system's build facts from the environment.
 * One small reader per provider; each sets only what its CI documents.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tagseal/ciinfo.h"

/* The variable's value, or NULL when unset or empty. */
static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static char *dup_env(const char *name)
{
	const char *v = env(name);
	return v ? ts_strdup(v) : NULL;
}

static bool env_is(const char *name, const char *value)
{
	const char *v = env(name);
	return v && strcmp(v, value) == 0;
}

/* First set variable of a list. */
static char *dup_first(const char *a, const char *b, const char *c)
{
	char *v = dup_env(a);
	if (!v && b)
		v = dup_env(b);
	if (!v && c)
		v = dup_env(c);
	return v;
}

/* An attempt counter is kept only when it says this is a re-run. */
static char *attempt_over(const char *name, long first)
{
	const char *v = env(name);
	char *end;
	long n;
	if (!v)
		return NULL;
	n = strtol(v, &end, 10);
	return (*end == '\0' && n > first) ? ts_strdup(v) : NULL;
}

/* pull_request.head.sha from the GitHub event payload. */
static ts_code github_pr_head(ts_ciinfo *ci, ts_error *err)
{
	const char *path = env("GITHUB_EVENT_PATH");
	json_error_t jerr;
	json_t *root;
	const char *sha;

	if (!env_is("GITHUB_EVENT_NAME", "pull_request") || !path)
		return TS_OK;
	root = json_load_file(path, 0, &jerr);
	if (!root)
		return ts_error_set(err, TS_EUSAGE, "GITHUB_EVENT_PATH: %s: %s", path, jerr.text);
	sha = json_string_value(json_object_get(
		json_object_get(json_object_get(root, "pull_request"), "head"), "sha"));
	if (sha && strlen(sha) == 40)
		ci->head_commit = ts_strdup(sha);
	json_decref(root);
	if (!ci->head_commit)
		return ts_error_set(err, TS_EUSAGE,
				    "GITHUB_EVENT_PATH: %s: no pull_request.head.sha in a "
				    "pull_request event", path);
	return TS_OK;
}

static ts_code read_github(ts_ciinfo *ci, ts_error *err)
{
	const char *server = env("GITHUB_SERVER_URL"), *repo = env("GITHUB_REPOSITORY");
	const char *run = env("GITHUB_RUN_ID");

	ci->build = dup_env("GITHUB_RUN_NUMBER");
	ci->attempt = attempt_over("GITHUB_RUN_ATTEMPT", 1);
	if (server && repo && run)
		ci->run_url = ci->attempt
			? ts_asprintf("%s/%s/actions/runs/%s/attempts/%s", server, repo, run, ci->attempt)
			: ts_asprintf("%s/%s/actions/runs/%s", server, repo, run);
	ci->actor = dup_env("GITHUB_ACTOR");
	ci->ref = dup_env("GITHUB_REF");
	/* GITHUB_HEAD_REF is set only for pull requests: the PR's branch. */
	ci->branch = dup_env("GITHUB_HEAD_REF");
	if (!ci->branch && (env_is("GITHUB_REF_TYPE", "branch") ||
			    (!env("GITHUB_REF_TYPE") && env("GITHUB_REF") &&
			     strncmp(env("GITHUB_REF"), "refs/heads/", 11) == 0)))
		ci->branch = dup_env("GITHUB_REF_NAME");
	ci->commit = dup_env("GITHUB_SHA");
	return github_pr_head(ci, err);
}

static void read_gitlab(ts_ciinfo *ci)
{
	ci->build = dup_env("CI_PIPELINE_IID");
	ci->run_url = dup_first("CI_PIPELINE_URL", "CI_JOB_URL", NULL);
	ci->actor = dup_env("GITLAB_USER_LOGIN");
	ci->ref = dup_env("CI_COMMIT_REF_NAME");
	ci->branch = dup_first("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_BRANCH", NULL);
	if (!ci->branch && !env("CI_COMMIT_TAG"))
		ci->branch = dup_env("CI_COMMIT_REF_NAME");
	ci->commit = dup_env("CI_COMMIT_SHA");
	/* Merged-results pipelines build a merge commit of the MR into its
	 * target; the MR's own head is CI_MERGE_REQUEST_SOURCE_BRANCH_SHA. */
	if (env_is("CI_MERGE_REQUEST_EVENT_TYPE", "merged_result"))
		ci->head_commit = dup_env("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA");
}

static void read_buildkite(ts_ciinfo *ci)
{
	ci->build = dup_env("BUILDKITE_BUILD_NUMBER");
	ci->attempt = attempt_over("BUILDKITE_RETRY_COUNT", 0);
	ci->run_url = dup_env("BUILDKITE_BUILD_URL");
	ci->actor = dup_first("BUILDKITE_BUILD_CREATOR", "BUILDKITE_BUILD_AUTHOR", NULL);
	ci->ref = dup_first("BUILDKITE_TAG", "BUILDKITE_BRANCH", NULL);
	ci->branch = env("BUILDKITE_TAG") ? NULL : dup_env("BUILDKITE_BRANCH");
	ci->commit = dup_env("BUILDKITE_COMMIT");
	if (ci->commit && strcmp(ci->commit, "HEAD") == 0) {
		free(ci->commit);
		ci->commit = NULL;
	}
}

static void read_woodpecker(ts_ciinfo *ci)
{
	ci->build = dup_env("CI_PIPELINE_NUMBER");
	ci->run_url = dup_first("CI_PIPELINE_URL", "CI_PIPELINE_FORGE_URL", NULL);
	ci->actor = dup_first("CI_PIPELINE_AUTHOR", "CI_COMMIT_AUTHOR", NULL);
	ci->ref = dup_env("CI_COMMIT_REF");
	ci->branch = dup_first("CI_COMMIT_SOURCE_BRANCH", "CI_COMMIT_BRANCH", NULL);
	ci->commit = dup_env("CI_COMMIT_SHA");
}

static void read_drone(ts_ciinfo *ci)
{
	ci->build = dup_env("DRONE_BUILD_NUMBER");
	ci->run_url = dup_env("DRONE_BUILD_LINK");
	ci->actor = dup_first("DRONE_COMMIT_AUTHOR", NULL, NULL);
	ci->ref = dup_env("DRONE_COMMIT_REF");
	ci->branch = env("DRONE_TAG") ? NULL : dup_first("DRONE_SOURCE_BRANCH", "DRONE_BRANCH", NULL);
	ci->commit = dup_first("DRONE_COMMIT_SHA", "DRONE_COMMIT", NULL);
}

/* Strip "origin/" (any remote name) from Jenkins' GIT_BRANCH. */
static char *jenkins_branch(void)
{
	const char *b = env("CHANGE_BRANCH");
	if (!b)
		b = env("BRANCH_NAME");
	if (!b && (b = env("GIT_BRANCH")) != NULL) {
		const char *slash = strchr(b, '/');
		if (strncmp(b, "refs/heads/", 11) == 0)
			b += 11;
		else if (slash && strncmp(b, "origin/", 7) == 0)
			b = slash + 1;
	}
	return b ? ts_strdup(b) : NULL;
}

static void read_jenkins(ts_ciinfo *ci)
{
	ci->build = dup_env("BUILD_NUMBER");
	ci->run_url = dup_env("BUILD_URL");
	ci->actor = dup_first("BUILD_USER_ID", "CHANGE_AUTHOR", NULL);
	ci->ref = dup_first("TAG_NAME", "GIT_BRANCH", "BRANCH_NAME");
	ci->branch = env("TAG_NAME") ? NULL : jenkins_branch();
	ci->commit = dup_env("GIT_COMMIT");
}

ts_code ts_ciinfo_from_env(ts_ciinfo *out, ts_error *err)
{
	ts_ciinfo ci = TS_CIINFO_INIT;
	ts_code rc = TS_OK;
	const char *name = NULL;

	if (env_is("GITHUB_ACTIONS", "true")) {
		name = "github";
		rc = read_github(&ci, err);
	} else if (env_is("GITLAB_CI", "true")) {
		name = "gitlab";
		read_gitlab(&ci);
	} else if (env_is("BUILDKITE", "true")) {
		name = "buildkite";
		read_buildkite(&ci);
	} else if (env_is("CI", "woodpecker") || env("CI_PIPELINE_NUMBER")) {
		name = "woodpecker";
		read_woodpecker(&ci);
	} else if (env_is("DRONE", "true")) {
		name = "drone";
		read_drone(&ci);
	} else if (env("JENKINS_URL") || env("BUILD_NUMBER")) {
		name = env("JENKINS_URL") ? "jenkins" : "generic";
		read_jenkins(&ci);
	}
	ci.provider = name ? ts_strdup(name) : NULL;
	if (rc != TS_OK) {
		ts_ciinfo_free(&ci);
		return rc;
	}
	*out = ci;
	return TS_OK;
}

void ts_ciinfo_free(ts_ciinfo *ci)
{
	if (!ci)
		return;
	free(ci->provider);
	free(ci->build);
	free(ci->attempt);
	free(ci->run_url);
	free(ci->actor);
	free(ci->ref);
	free(ci->branch);
	free(ci->commit);
	free(ci->head_commit);
	memset(ci, 0, sizeof(*ci));
}
