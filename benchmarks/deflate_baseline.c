/*
 * deflate_baseline.c -- the PNG baseline: libdeflate called directly on the same pixels.
 *
 *   deflate_baseline RAW WIDTH HEIGHT [REPEATS [LEVEL [crc]]]
 *
 * RAW holds N images of WIDTH x HEIGHT 8-bit grey pixels back to back (benchmarks/run.py dumps
 * the pixels of the images heifip produced, so both sides compress exactly the same data).  For
 * each image, REPEATS times over the set, it builds the PNG scanlines with filter type 0 (a 0 byte
 * before each row, then the row) and compresses them with libdeflate_zlib_compress at LEVEL
 * (default 1) into a preallocated buffer, with one compressor allocated up front -- the least
 * any PNG writer on libdeflate has to do.  With "crc" it also computes the IDAT chunk's CRC-32
 * (libdeflate_crc32 over "IDAT" + data), which a PNG writer has to do as well.
 *
 * Prints one JSON object on stdout:
 *   {"images": N*REPEATS, "seconds": S, "raw_bytes": R, "compressed_bytes": C, "level": L}
 * seconds is CLOCK_MONOTONIC around the compression loop only (reading RAW is not timed).
 *
 * Built by benchmarks/run.py:
 *   gcc -O2 -o .cache/bench/bin/deflate_baseline benchmarks/deflate_baseline.c -ldeflate
 */
#define _DEFAULT_SOURCE
#include <libdeflate.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: deflate_baseline RAW WIDTH HEIGHT [REPEATS [LEVEL [crc]]]\n");
        return 2;
    }
    const char *path = argv[1];
    size_t w = strtoul(argv[2], NULL, 10), h = strtoul(argv[3], NULL, 10);
    long repeats = argc > 4 ? strtol(argv[4], NULL, 10) : 1;
    int level = argc > 5 ? atoi(argv[5]) : 1;
    int crc = argc > 6 && strcmp(argv[6], "crc") == 0;
    if (w == 0 || h == 0 || repeats < 1) {
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

    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
    if (!c) {
        fprintf(stderr, "deflate_baseline: bad level %d\n", level);
        return 1;
    }
    size_t filtered_len = (w + 1) * h;
    uint8_t *filtered = malloc(filtered_len);
    size_t bound = libdeflate_zlib_compress_bound(c, filtered_len);
    uint8_t *out = malloc(bound + 4);
    if (!filtered || !out)
        return 1;
    memcpy(out, "IDAT", 4);

    uint64_t total = 0;
    uint32_t check = 0;
    double t0 = now(), c0 = cpu_now();
    for (long r = 0; r < repeats; r++) {
        for (size_t i = 0; i < n; i++) {
            const uint8_t *src = pixels + i * image;
            uint8_t *dst = filtered;
            for (size_t y = 0; y < h; y++) {
                *dst++ = 0; /* filter type 0 (None) */
                memcpy(dst, src + y * w, w);
                dst += w;
            }
            size_t got = libdeflate_zlib_compress(c, filtered, filtered_len, out + 4, bound);
            if (got == 0) {
                fprintf(stderr, "deflate_baseline: compression failed\n");
                return 1;
            }
            if (crc)
                check += libdeflate_crc32(0, out, got + 4);
            total += got;
        }
    }
    double dt = now() - t0, dc = cpu_now() - c0;
    printf("{\"images\": %llu, \"seconds\": %.9f, \"cpu_seconds\": %.9f, \"raw_bytes\": %llu, \"compressed_bytes\": %llu, "
           "\"level\": %d, \"crc\": %d, \"check\": %u}\n",
           (unsigned long long)(n * (size_t)repeats), dt, dc,
           (unsigned long long)(image * n * (size_t)repeats), (unsigned long long)total, level, crc,
           check);
    libdeflate_free_compressor(c);
    free(pixels);
    free(filtered);
    free(out);
    return 0;
}
