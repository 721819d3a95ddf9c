/*
 * deflate_baseline.c -- the PNG baseline: libdeflate called directly on the same pixels.
 *
 *   deflate_baseline RAW WIDTH HEIGHT [REPEATS [LEVEL [crc|nocrc [THREADS]]]]
 *
 * RAW holds N images of WIDTH x HEIGHT 8-bit grey pixels back to back (benchmarks/run.py dumps
 * the pixels of the images heifip produced, so both sides compress exactly the same data).  For
 * each image, REPEATS times over the set, it builds the PNG scanlines with filter type 0 (a 0 byte
 * before each row, then the row) and compresses them with libdeflate_zlib_compress at LEVEL
 * (default 1) into a preallocated buffer, with one compressor allocated up front -- the least
 * any PNG writer on libdeflate has to do.  With "crc" it also computes the IDAT chunk's CRC-32
 * (libdeflate_crc32 over "IDAT" + data), which a PNG writer has to do as well.  With THREADS > 1
 * the REPEATS passes are shared out among that many threads (pass r on thread r % THREADS), each
 * with its own compressor and buffers: the same work, so 1 and 2 threads side by side give the
 * most two cores of this machine scale on compression alone -- no Python, no files, no locks
 * (benchmarks/run.py's ceiling of the thread-scaling target).
 *
 * Prints one JSON object on stdout:
 *   {"images": N*REPEATS, "seconds": S, "raw_bytes": R, "compressed_bytes": C, "level": L, ...}
 * seconds is CLOCK_MONOTONIC around the compression loop only (reading RAW is not timed; with
 * threads, from before the threads start to after the last one ends).
 *
 * Built by benchmarks/run.py:
 *   gcc -O2 -o .cache/bench/bin/deflate_baseline benchmarks/deflate_baseline.c -ldeflate
 */
#define _DEFAULT_SOURCE
#include <libdeflate.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

/* One thread's share: passes first, first + step, ... < repeats over the n images. */
typedef struct share {
    const uint8_t *pixels;
    size_t w, h, n;
    long first, step, repeats;
    int level, crc;
    uint64_t total;        /* OUT: compressed bytes */
    uint32_t check;        /* OUT: sum of the CRCs (keeps them from being optimised away) */
    int failed;            /* OUT */
} share;

static void *compress_share(void *arg)
{
    share *s = arg;
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(s->level);
    size_t image = s->w * s->h, filtered_len = (s->w + 1) * s->h;
    uint8_t *filtered = malloc(filtered_len);
    size_t bound = c ? libdeflate_zlib_compress_bound(c, filtered_len) : 0;
    uint8_t *out = malloc(bound + 4);
    if (!c || !filtered || !out) {
        s->failed = 1;
        goto done;
    }
    memcpy(out, "IDAT", 4);
    for (long r = s->first; r < s->repeats; r += s->step) {
        for (size_t i = 0; i < s->n; i++) {
            const uint8_t *src = s->pixels + i * image;
            uint8_t *dst = filtered;
            for (size_t y = 0; y < s->h; y++) {
                *dst++ = 0; /* filter type 0 (None) */
                memcpy(dst, src + y * s->w, s->w);
                dst += s->w;
            }
            size_t got = libdeflate_zlib_compress(c, filtered, filtered_len, out + 4, bound);
            if (got == 0) {
                s->failed = 1;
                goto done;
            }
            if (s->crc)
                s->check += libdeflate_crc32(0, out, got + 4);
            s->total += got;
        }
    }
done:
    libdeflate_free_compressor(c);
    free(filtered);
    free(out);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: deflate_baseline RAW WIDTH HEIGHT "
                        "[REPEATS [LEVEL [crc|nocrc [THREADS]]]]\n");
        return 2;
    }
    const char *path = argv[1];
    size_t w = strtoul(argv[2], NULL, 10), h = strtoul(argv[3], NULL, 10);
    long repeats = argc > 4 ? strtol(argv[4], NULL, 10) : 1;
    int level = argc > 5 ? atoi(argv[5]) : 1;
    int crc = argc > 6 && strcmp(argv[6], "crc") == 0;
    int threads = argc > 7 ? atoi(argv[7]) : 1;
    if (w == 0 || h == 0 || repeats < 1 || threads < 1 || threads > 64) {
        fprintf(stderr, "deflate_baseline: bad arguments\n");
        return 2;
    }

    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    size_t image = w * h;
    if (size <= 0 || (size_t)size % image != 0) {
        fprintf(stderr, "deflate_baseline: %s: size %ld is not a multiple of %zu\n", path, size, image);
        return 1;
    }
    size_t n = (size_t)size / image;
    uint8_t *pixels = malloc((size_t)size);
    if (!pixels || fread(pixels, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "deflate_baseline: cannot read %s\n", path);
        return 1;
    }
    fclose(f);

    if (level < 0 || level > 12) {
        fprintf(stderr, "deflate_baseline: bad level %d\n", level);
        return 1;
    }
    share shares[64];
    memset(shares, 0, sizeof shares);
    for (int t = 0; t < threads; t++)
        shares[t] = (share){pixels, w, h, n, t, threads, repeats, level, crc, 0, 0, 0};
    pthread_t ids[64];
    double t0 = now(), c0 = cpu_now();
    for (int t = 1; t < threads; t++)
        if (pthread_create(&ids[t], NULL, compress_share, &shares[t]) != 0) {
            fprintf(stderr, "deflate_baseline: cannot start a thread\n");
            return 1;
        }
    compress_share(&shares[0]);
    for (int t = 1; t < threads; t++)
        pthread_join(ids[t], NULL);
    double dt = now() - t0, dc = cpu_now() - c0;
    uint64_t total = 0;
    uint32_t check = 0;
    for (int t = 0; t < threads; t++) {
        if (shares[t].failed) {
            fprintf(stderr, "deflate_baseline: compression failed\n");
            return 1;
        }
        total += shares[t].total;
        check += shares[t].check;
    }
    printf("{\"images\": %llu, \"seconds\": %.9f, \"cpu_seconds\": %.9f, \"raw_bytes\": %llu, \"compressed_bytes\": %llu, "
           "\"level\": %d, \"crc\": %d, \"threads\": %d, \"check\": %u}\n",
           (unsigned long long)(n * (size_t)repeats), dt, dc,
           (unsigned long long)(image * n * (size_t)repeats), (unsigned long long)total, level, crc,
           threads, check);
    free(pixels);
    return 0;
}
