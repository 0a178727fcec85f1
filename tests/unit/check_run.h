/*
 * check_run.h - the end of every unit test's main(): run the suite with
 * Check and turn its result into the exit status ctest reads.
 */
#ifndef TAGSEAL_CHECK_RUN_H
#define TAGSEAL_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

static inline int ts_check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
