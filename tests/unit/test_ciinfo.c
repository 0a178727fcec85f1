/*
 * test_ciinfo.c - CI facts from the environment, each provider's variables
 * set the way that CI sets them.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "tagseal/ciinfo.h"

static const char *const all_vars[] = {
	"CI", "GITHUB_ACTIONS", "GITHUB_RUN_NUMBER", "GITHUB_RUN_ATTEMPT", "GITHUB_RUN_ID",
	"GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_ACTOR", "GITHUB_REF", "GITHUB_REF_NAME",
	"GITHUB_REF_TYPE", "GITHUB_HEAD_REF", "GITHUB_SHA", "GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH",
	"GITLAB_CI", "CI_PIPELINE_IID", "CI_PIPELINE_URL", "CI_JOB_URL", "GITLAB_USER_LOGIN",
	"CI_COMMIT_REF_NAME", "CI_COMMIT_BRANCH", "CI_COMMIT_TAG", "CI_COMMIT_SHA",
	"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
	"CI_MERGE_REQUEST_EVENT_TYPE", "BUILDKITE", "BUILDKITE_BUILD_NUMBER", "BUILDKITE_RETRY_COUNT",
	"BUILDKITE_BUILD_URL", "BUILDKITE_BUILD_CREATOR", "BUILDKITE_BUILD_AUTHOR", "BUILDKITE_TAG",
	"BUILDKITE_BRANCH", "BUILDKITE_COMMIT", "CI_PIPELINE_NUMBER", "CI_PIPELINE_FORGE_URL",
	"CI_PIPELINE_AUTHOR", "CI_COMMIT_AUTHOR", "CI_COMMIT_REF", "CI_COMMIT_SOURCE_BRANCH",
	"DRONE", "DRONE_BUILD_NUMBER", "DRONE_BUILD_LINK", "DRONE_COMMIT_AUTHOR", "DRONE_COMMIT_REF",
	"DRONE_TAG", "DRONE_SOURCE_BRANCH", "DRONE_BRANCH", "DRONE_COMMIT_SHA", "DRONE_COMMIT",
	"JENKINS_URL", "JENKINS_HOME", "BUILD_NUMBER", "BUILD_URL", "BUILD_USER_ID", "CHANGE_AUTHOR",
	"TAG_NAME", "GIT_BRANCH", "BRANCH_NAME", "CHANGE_BRANCH", "GIT_COMMIT",
};

static void clean_env(void)
{
	for (size_t i = 0; i < sizeof(all_vars) / sizeof(all_vars[0]); i++)
		unsetenv(all_vars[i]);
}

static void set(const char *k, const char *v)
{
	setenv(k, v, 1);
}

static void load(ts_ciinfo *ci)
{
	ts_error err = TS_ERROR_INIT;
	ck_assert_msg(ts_ciinfo_from_env(ci, &err) == TS_OK, "%s", err.msg);
}


START_TEST(outside_ci)
{
	ts_ciinfo ci;
	load(&ci);
	ck_assert_ptr_null(ci.provider);
	ck_assert_ptr_null(ci.build);
	ts_ciinfo_free(&ci);
}
END_TEST

static void github_common(void)
{
	set("CI", "true");
	set("GITHUB_ACTIONS", "true");
	set("GITHUB_RUN_NUMBER", "17");
	set("GITHUB_RUN_ID", "9876543210");
	set("GITHUB_RUN_ATTEMPT", "1");
	set("GITHUB_SERVER_URL", "https://github.com");
	set("GITHUB_REPOSITORY", "org/app");
	set("GITHUB_ACTOR", "octocat");
	set("GITHUB_SHA", "1111111111111111111111111111111111111111");
}

START_TEST(github_push)
{
	ts_ciinfo ci;
	github_common();
	set("GITHUB_EVENT_NAME", "push");
	set("GITHUB_REF", "refs/heads/main");
	set("GITHUB_REF_NAME", "main");
	set("GITHUB_REF_TYPE", "branch");
	set("GITHUB_HEAD_REF", ""); /* GitHub sets it empty outside PRs */
	load(&ci);
	ck_assert_str_eq(ci.provider, "github");
	ck_assert_str_eq(ci.build, "17");
	ck_assert_ptr_null(ci.attempt);
	ck_assert_str_eq(ci.run_url, "https://github.com/org/app/actions/runs/9876543210");
	ck_assert_str_eq(ci.actor, "octocat");
	ck_assert_str_eq(ci.ref, "refs/heads/main");
	ck_assert_str_eq(ci.branch, "main");
	ck_assert_str_eq(ci.commit, "1111111111111111111111111111111111111111");
	ck_assert_ptr_null(ci.head_commit);
	ts_ciinfo_free(&ci);
}
END_TEST

START_TEST(github_rerun_and_tag_push)
{
	ts_ciinfo ci;
	github_common();
	set("GITHUB_RUN_ATTEMPT", "3");
	set("GITHUB_EVENT_NAME", "push");
	set("GITHUB_REF", "refs/tags/v1.2.3");
	set("GITHUB_REF_NAME", "v1.2.3");
	set("GITHUB_REF_TYPE", "tag");
	load(&ci);
	ck_assert_str_eq(ci.build, "17"); /* a re-run keeps the build number */
	ck_assert_str_eq(ci.attempt, "3");
	ck_assert_str_eq(ci.run_url, "https://github.com/org/app/actions/runs/9876543210/attempts/3");
	ck_assert_ptr_null(ci.branch);
	ts_ciinfo_free(&ci);
}
END_TEST

START_TEST(github_pull_request)
{
	ts_ciinfo ci;
	ts_error err = TS_ERROR_INIT;
	char path[] = "/tmp/ts-event-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fputs("{\"action\":\"synchronize\",\"number\":7,\"pull_request\":{\"head\":{\"ref\":"
	      "\"feature/x\",\"sha\":\"2222222222222222222222222222222222222222\"},\"base\":"
	      "{\"sha\":\"3333333333333333333333333333333333333333\"}}}", f);
	fclose(f);
	github_common();
	set("GITHUB_EVENT_NAME", "pull_request");
	set("GITHUB_EVENT_PATH", path);
	set("GITHUB_REF", "refs/pull/7/merge");
	set("GITHUB_REF_NAME", "7/merge");
	set("GITHUB_REF_TYPE", "branch");
	set("GITHUB_HEAD_REF", "feature/x");
	load(&ci);
	ck_assert_str_eq(ci.branch, "feature/x");
	ck_assert_str_eq(ci.head_commit, "2222222222222222222222222222222222222222");
	ts_ciinfo_free(&ci);

	/* an unreadable payload in a PR build is an error, not a silent guess */
	f = fopen(path, "w");
	fputs("{not json", f);
	fclose(f);
	ck_assert_int_eq(ts_ciinfo_from_env(&ci, &err), TS_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "GITHUB_EVENT_PATH"));
	unlink(path);
}
END_TEST

START_TEST(gitlab_branch_and_mr)
{
	ts_ciinfo ci;
	set("CI", "true");
	set("GITLAB_CI", "true");
	set("CI_PIPELINE_IID", "311");
	set("CI_PIPELINE_URL", "https://gitlab.com/org/app/-/pipelines/123456");
	set("GITLAB_USER_LOGIN", "dev");
	set("CI_COMMIT_REF_NAME", "main");
	set("CI_COMMIT_BRANCH", "main");
	set("CI_COMMIT_SHA", "4444444444444444444444444444444444444444");
	load(&ci);
	ck_assert_str_eq(ci.provider, "gitlab");
	ck_assert_str_eq(ci.build, "311");
	ck_assert_str_eq(ci.run_url, "https://gitlab.com/org/app/-/pipelines/123456");
	ck_assert_str_eq(ci.actor, "dev");
	ck_assert_str_eq(ci.branch, "main");
	ck_assert_ptr_null(ci.head_commit);
	ts_ciinfo_free(&ci);

	/* merged-results MR pipeline: detached, CI_COMMIT_BRANCH unset */
	unsetenv("CI_COMMIT_BRANCH");
	set("CI_COMMIT_REF_NAME", "refs/merge-requests/9/merge");
	set("CI_MERGE_REQUEST_EVENT_TYPE", "merged_result");
	set("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/Login+SSO");
	set("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", "5555555555555555555555555555555555555555");
	load(&ci);
	ck_assert_str_eq(ci.branch, "feature/Login+SSO");
	ck_assert_str_eq(ci.head_commit, "5555555555555555555555555555555555555555");
	ts_ciinfo_free(&ci);
}
END_TEST

START_TEST(jenkins)
{
	ts_ciinfo ci;
	set("JENKINS_URL", "https://ci.example.com/");
	set("BUILD_NUMBER", "88");
	set("BUILD_URL", "https://ci.example.com/job/app/88/");
	set("GIT_BRANCH", "origin/release/2.x");
	set("GIT_COMMIT", "6666666666666666666666666666666666666666");
	load(&ci);
	ck_assert_str_eq(ci.provider, "jenkins");
	ck_assert_str_eq(ci.build, "88");
	ck_assert_str_eq(ci.run_url, "https://ci.example.com/job/app/88/");
	ck_assert_str_eq(ci.branch, "release/2.x");
	ts_ciinfo_free(&ci);
	set("BRANCH_NAME", "PR-12");
	set("CHANGE_BRANCH", "feature/y");
	load(&ci);
	ck_assert_str_eq(ci.branch, "feature/y");
	ts_ciinfo_free(&ci);
	/* BUILD_NUMBER without Jenkins' other variables */
	clean_env();
	set("BUILD_NUMBER", "5");
	load(&ci);
	ck_assert_str_eq(ci.provider, "generic");
	ck_assert_str_eq(ci.build, "5");
	ts_ciinfo_free(&ci);
}
END_TEST

START_TEST(buildkite)
{
	ts_ciinfo ci;
	set("CI", "true");
	set("BUILDKITE", "true");
	set("BUILDKITE_BUILD_NUMBER", "1024");
	set("BUILDKITE_RETRY_COUNT", "0");
	set("BUILDKITE_BUILD_URL", "https://buildkite.com/org/app/builds/1024");
	set("BUILDKITE_BUILD_CREATOR", "Dev One");
	set("BUILDKITE_BRANCH", "main");
	set("BUILDKITE_TAG", "");
	set("BUILDKITE_COMMIT", "7777777777777777777777777777777777777777");
	load(&ci);
	ck_assert_str_eq(ci.provider, "buildkite");
	ck_assert_str_eq(ci.build, "1024");
	ck_assert_ptr_null(ci.attempt);
	ck_assert_str_eq(ci.branch, "main");
	ck_assert_str_eq(ci.actor, "Dev One");
	ts_ciinfo_free(&ci);
	set("BUILDKITE_RETRY_COUNT", "2");
	load(&ci);
	ck_assert_str_eq(ci.attempt, "2");
	ts_ciinfo_free(&ci);
}
END_TEST

START_TEST(woodpecker)
{
	ts_ciinfo ci;
	set("CI", "woodpecker");
	set("CI_PIPELINE_NUMBER", "77");
	set("CI_PIPELINE_URL", "https://ci.example.org/repos/3/pipeline/77");
	set("CI_COMMIT_BRANCH", "main");
	set("CI_COMMIT_REF", "refs/heads/main");
	set("CI_COMMIT_SHA", "8888888888888888888888888888888888888888");
	set("CI_COMMIT_AUTHOR", "dev");
	load(&ci);
	ck_assert_str_eq(ci.provider, "woodpecker");
	ck_assert_str_eq(ci.build, "77");
	ck_assert_str_eq(ci.branch, "main");
	ck_assert_str_eq(ci.run_url, "https://ci.example.org/repos/3/pipeline/77");
	ts_ciinfo_free(&ci);
}
END_TEST

START_TEST(drone)
{
	ts_ciinfo ci;
	set("CI", "true");
	set("DRONE", "true");
	set("DRONE_BUILD_NUMBER", "9");
	set("DRONE_BUILD_LINK", "https://drone.example.org/org/app/9");
	set("DRONE_BRANCH", "main");
	set("DRONE_SOURCE_BRANCH", "feature/z");
	set("DRONE_COMMIT_SHA", "9999999999999999999999999999999999999999");
	set("DRONE_COMMIT_AUTHOR", "dev");
	load(&ci);
	ck_assert_str_eq(ci.provider, "drone");
	ck_assert_str_eq(ci.build, "9");
	ck_assert_str_eq(ci.branch, "feature/z");
	ck_assert_str_eq(ci.commit, "9999999999999999999999999999999999999999");
	ts_ciinfo_free(&ci);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ciinfo");
	TCase *tc = tcase_create("ciinfo");

	tcase_add_checked_fixture(tc, clean_env, NULL);
	tcase_add_test(tc, outside_ci);
	tcase_add_test(tc, github_push);
	tcase_add_test(tc, github_rerun_and_tag_push);
	tcase_add_test(tc, github_pull_request);
	tcase_add_test(tc, gitlab_branch_and_mr);
	tcase_add_test(tc, jenkins);
	tcase_add_test(tc, buildkite);
	tcase_add_test(tc, woodpecker);
	tcase_add_test(tc, drone);
	suite_add_tcase(s, tc);
	return ts_check_run(s);
}
