/* check.h -- the two macros the C unit tests need (Redis testhelp.h style). */
#ifndef HF_TEST_CHECK_H
#define HF_TEST_CHECK_H
#include <stdio.h>
#include <stdlib.h>

static int check_failures = 0;
static int check_count = 0;

#define CHECK(cond) do { check_count++; if (!(cond)) { check_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)

#define CHECK_EQ_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); check_count++; \
    if (a_ != b_) { check_failures++; fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", \
    __FILE__, __LINE__, #a, a_, #b, b_); } } while (0)

#define CHECK_REPORT() (printf("%d passed, %d failed\n", check_count - check_failures, check_failures), \
    check_failures ? 1 : 0)
#endif
