/*
 * bare_loop.c -- the baseline of the benchmark suite: a bare libpcap read loop.
 *
 *   bare_loop FILE...            (files listed one per line on stdin with "-")
 *
 * Opens each capture with pcap_open_offline and calls pcap_next_ex until the end, touching every
 * packet: it sums the captured lengths and folds the first and last captured byte into a checksum
 * (so the packet data is really read, not just the record headers).  This is the floor any reader
 * built on libpcap pays; heifip's arrays target is >= 50 % of its packets/s on the same file.
 *
 * Prints one JSON object on stdout:
 *   {"packets": N, "bytes": SUM_CAPLEN, "files": F, "seconds": LOOP_SECONDS, "check": X}
 * where seconds is CLOCK_MONOTONIC around the open+read loop of all files (process start and
 * exit are not included; benchmarks/run.py records whole-process figures separately).
 *
 * Built by benchmarks/run.py:  gcc -O2 -o .cache/bench/bin/bare_loop benchmarks/bare_loop.c -lpcap
 */
#define _DEFAULT_SOURCE  /* u_char etc. for pcap.h, getline, strdup */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

typedef struct totals {
    uint64_t packets, bytes, files, check;
} totals;

static int run_file(const char *path, totals *t)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, errbuf);
    if (p == NULL) {
        fprintf(stderr, "bare_loop: %s: %s\n", path, errbuf);
        return -1;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        t->packets++;
        t->bytes += h->caplen;
        if (h->caplen)
            t->check += (uint64_t)data[0] + ((uint64_t)data[h->caplen - 1] << 8);
    }
    if (rc == PCAP_ERROR)
        fprintf(stderr, "bare_loop: %s: %s (counted the records before it)\n", path, pcap_geterr(p));
    pcap_close(p);
    t->files++;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bare_loop FILE... | bare_loop - < list\n");
        return 2;
    }
    /* Collect the file names first so that reading the list is not timed. */
    char **paths = NULL;
    size_t n = 0, cap = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-") == 0) {
            char *line = NULL;
            size_t len = 0;
            ssize_t got;
            while ((got = getline(&line, &len, stdin)) > 0) {
                while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
                    line[--got] = '\0';
                if (got == 0)
                    continue;
                if (n == cap) {
                    cap = cap ? 2 * cap : 256;
                    paths = realloc(paths, cap * sizeof *paths);
                    if (!paths)
                        return 1;
                }
                paths[n++] = strdup(line);
            }
            free(line);
        } else {
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                paths = realloc(paths, cap * sizeof *paths);
                if (!paths)
                    return 1;
            }
            paths[n++] = argv[i];
        }
    }
    totals t = {0};
    double t0 = now(), c0 = cpu_now();
    for (size_t i = 0; i < n; i++)
        if (run_file(paths[i], &t) != 0)
            return 1;
    double dt = now() - t0, dc = cpu_now() - c0;
    printf("{\"packets\": %llu, \"bytes\": %llu, \"files\": %llu, \"seconds\": %.9f, \"cpu_seconds\": %.9f, \"check\": %llu}\n",
           (unsigned long long)t.packets, (unsigned long long)t.bytes, (unsigned long long)t.files,
           dt, dc, (unsigned long long)t.check);
    return 0;
}
