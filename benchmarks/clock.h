/* clock.h -- the timers of the C benchmark programs: wall (monotonic) and process CPU seconds. */
#ifndef HF_BENCH_CLOCK_H
#define HF_BENCH_CLOCK_H

#include <time.h>

static inline double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
#define now() clock_s(CLOCK_MONOTONIC)
#define cpu_now() clock_s(CLOCK_PROCESS_CPUTIME_ID)

#endif /* HF_BENCH_CLOCK_H */
