/*
 * measure.c -- whole-process figures of one command, for benchmarks/run.py.
 *
 *   measure OUTFILE COMMAND [ARG...]
 *
 * Runs COMMAND (stdin/stdout/stderr inherited), waits for it with wait4 and writes
 *   {"status": S, "wall": SECONDS, "user": SECONDS, "sys": SECONDS, "maxrss_kib": KIB}
 * to OUTFILE.  Why not getrusage from Python: Linux counts the memory a process had before
 * execve in its ru_maxrss, and a child forked (or vforked) from the Python parent starts with the
 * parent's ~17 MiB -- so the parent's size, not the benchmark's, would be the floor of every
 * figure.  Forked from this small process, the floor is ~1 MiB.  Exit status: COMMAND's.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: measure OUTFILE COMMAND [ARG...]\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("measure: fork");
        return 127;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror("measure: exec");
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("measure: wait4");
        return 127;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 127;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(f, "{\"status\": %d, \"wall\": %.6f, \"user\": %.6f, \"sys\": %.6f, \"maxrss_kib\": %ld}\n",
            code, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9,
            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6,
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6, ru.ru_maxrss);
    fclose(f);
    return code;
}
