/*
 * test_png.c -- png.c: PNGs decoded with stb_image must give back the pixels for every filter,
 * several levels and sizes; the zlib stream must carry the requested filter bytes and, for the
 * adaptive mode, exactly the rows stb_image_write's own encoder produces; argument and limit
 * errors; allocation failures; the atomic writer never leaves partial or temporary files.
 *
 * Measurements (2-core VM shared with other jobs, load ~3; gcc -O2; minimum of 15 trials;
 * benchmark sources /tmp/rw/png_bench2.c and write_bench.c, not part of the test run):
 *   level 1, filter 0     hf_png_encoder_encode            libdeflate_zlib_compress alone on the
 *                                                          same filtered bytes (reused compressor)
 *     16x16               7.26 us = 137,700 PNG/s          7.10 us = 140,800/s  -> 98 %
 *     32x32              10.18 us =  98,200 PNG/s          9.79 us = 102,100/s  -> 96 %
 *     128x128            61.6  us =  16,200 PNG/s         57.6  us =  17,400/s  -> 94 %
 *   (the remainder is the filter copy, two CRCs and the chunk framing; zlib's compress2 at level 6
 *   takes 48 us for the 16x16 image, mostly deflateInit).
 *   file writes, 900 bytes: ext4 new file: atomic 104 us vs fopen/fwrite/fclose 96 us; ext4
 *   replacing an existing file: 138 us vs 42 us (ext4's auto_da_alloc flushes on
 *   rename-over-existing); tmpfs: 7.4 vs 5.2 us; HF_PNG_WRITE_DURABLE on ext4: 7.5 ms per file.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <math.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>

#include <libdeflate.h>
#include <zlib.h>

#include "check.h"
#include "png.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#include "stb_image.h"

/* stb's own PNG writer, as the reference for the adaptive filter choice (this test is single
 * threaded, so its globals are fine here -- the reason png.c does not use them). */
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include "stb_image_write.h"

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void make_pixels(uint8_t *pixels, size_t height, size_t stride, uint32_t seed)
{
    uint32_t state = seed * 2654435761u + 1;
    for (size_t y = 0; y < height; y++) {
        for (size_t x = 0; x < stride; x++) {
            state = state * 1664525u + 1013904223u;
            /* mix smooth gradients (where Sub/Up/Paeth win) with noise */
            uint8_t noise = (uint8_t)(state >> 24);
            pixels[y * stride + x] = (y % 3 == 0) ? (uint8_t)(x * 3 + y) : (y % 3 == 1) ? noise
                                                                      : (uint8_t)(x ^ (noise & 7));
        }
    }
}

/* Decompress the IDAT of a PNG we wrote (exactly one IDAT at offset 33) into `filtered`. */
static int inflate_idat(const uint8_t *png, size_t png_length, uint8_t *filtered,
                        size_t filtered_size)
{
    if (png_length < 57) return 0;
    uint32_t zlen = get_be32(png + 33);
    if (memcmp(png + 37, "IDAT", 4) != 0 || 57 + (size_t)zlen != png_length) return 0;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    size_t actual = 0;
    enum libdeflate_result r =
        libdeflate_zlib_decompress(d, png + 41, zlen, filtered, filtered_size, &actual);
    libdeflate_free_decompressor(d);
    return r == LIBDEFLATE_SUCCESS && actual == filtered_size;
}

/* stb_image_write's filtered rows for the same image and forced filter (-1 = adaptive). */
static uint8_t *stb_filtered_rows(const uint8_t *pixels, size_t width, size_t height,
                                  size_t stride, int filter, size_t *filtered_size)
{
    int length = 0;
    stbi_write_force_png_filter = filter;
    unsigned char *png = stbi_write_png_to_mem(pixels, (int)stride, (int)width, (int)height, 1,
                                               &length);
    stbi_write_force_png_filter = -1;
    if (png == NULL) return NULL;
    *filtered_size = (width + 1) * height;
    uint8_t *filtered = malloc(*filtered_size);
    /* stb writes one IDAT at offset 33 too */
    uint32_t zlen = get_be32(png + 33);
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    size_t actual = 0;
    enum libdeflate_result r =
        libdeflate_zlib_decompress(d, png + 41, zlen, filtered, *filtered_size, &actual);
    libdeflate_free_decompressor(d);
    STBIW_FREE(png);
    if (r != LIBDEFLATE_SUCCESS || actual != *filtered_size) {
        free(filtered);
        return NULL;
    }
    return filtered;
}

static void check_roundtrip(size_t width, size_t height, size_t stride, int level, int filter,
                            uint32_t seed)
{
    uint8_t *pixels = malloc(stride * height);
    make_pixels(pixels, height, stride, seed);
    hf_png_options options = {level, filter};
    hf_buf png = HF_BUF_INIT;
    hf_error error;
    hf_error_clear(&error);
    hf_status status = hf_png_encode_gray8(pixels, width, height, stride, &options, &png, &error);
    CHECK_EQ_INT(status, HF_OK);
    if (status != HF_OK) {
        fprintf(stderr, "  %zux%zu level %d filter %d: %s\n", width, height, level, filter,
                error.reason);
        free(pixels);
        return;
    }
    /* header fields */
    CHECK(memcmp(png.data, "\x89PNG\r\n\x1a\n", 8) == 0);
    CHECK_EQ_INT(get_be32(png.data + 16), width);
    CHECK_EQ_INT(get_be32(png.data + 20), height);
    CHECK_EQ_INT(png.data[24], 8);
    CHECK_EQ_INT(png.data[25], 0);
    CHECK(memcmp(png.data + png.length - 12, "\0\0\0\0IEND\xae\x42\x60\x82", 12) == 0);

    /* decoded pixels */
    int w = 0, h = 0, channels = 0;
    unsigned char *decoded = stbi_load_from_memory(png.data, (int)png.length, &w, &h, &channels, 1);
    CHECK(decoded != NULL);
    if (decoded) {
        CHECK_EQ_INT(w, width);
        CHECK_EQ_INT(h, height);
        CHECK_EQ_INT(channels, 1);
        int same = 1;
        for (size_t y = 0; y < height; y++)
            same &= memcmp(decoded + y * width, pixels + y * stride, width) == 0;
        if (!same) fprintf(stderr, "  %zux%zu level %d filter %d: pixels differ\n", width,
                           height, level, filter);
        CHECK(same);
        stbi_image_free(decoded);
    }

    /* the filtered stream: requested filter bytes; identical to stb's for every mode */
    size_t filtered_size = (width + 1) * height;
    uint8_t *filtered = malloc(filtered_size);
    CHECK(inflate_idat(png.data, png.length, filtered, filtered_size));
    if (filter >= 0) {
        int types_ok = 1;
        for (size_t y = 0; y < height; y++) types_ok &= filtered[y * (width + 1)] == filter;
        CHECK(types_ok);
    }
    size_t stb_size = 0;
    uint8_t *stb = stb_filtered_rows(pixels, width, height, stride, filter, &stb_size);
    CHECK(stb != NULL);
    if (stb) {
        int same = stb_size == filtered_size && memcmp(stb, filtered, filtered_size) == 0;
        if (!same) fprintf(stderr, "  %zux%zu filter %d: rows differ from stb\n", width, height,
                           filter);
        CHECK(same);
    }
    free(stb);
    free(filtered);
    hf_buf_free(&png);
    free(pixels);
}

static void test_roundtrips(void)
{
    static const size_t sizes[][3] = {{1, 1, 1}, {16, 16, 16}, {7, 300, 7}, {300, 7, 300},
                                      {13, 9, 20}, {128, 128, 128}};
    static const int levels[] = {0, 1, 6, 12};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int filter = -1; filter <= 4; filter++)
            for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++)
                check_roundtrip(sizes[s][0], sizes[s][1], sizes[s][2], levels[l], filter,
                                (uint32_t)(s * 31 + (size_t)filter * 7 + l));
    /* the adaptive rows really differ between rows on this content (not all one type) */
    uint8_t pixels[64 * 64];
    make_pixels(pixels, 64, 64, 5);
    hf_buf png = HF_BUF_INIT;
    hf_png_options adaptive = {6, HF_PNG_FILTER_ADAPTIVE};
    CHECK_EQ_INT(hf_png_encode_gray8(pixels, 64, 64, 0, &adaptive, &png, NULL), HF_OK);
    uint8_t filtered[65 * 64];
    CHECK(inflate_idat(png.data, png.length, filtered, sizeof filtered));
    int seen[5] = {0};
    for (int y = 0; y < 64; y++) if (filtered[y * 65] < 5) seen[filtered[y * 65]] = 1;
    CHECK(seen[0] + seen[1] + seen[2] + seen[3] + seen[4] >= 2);
    hf_buf_free(&png);
}

static void test_encoder_reuse(void)
{
    hf_png_encoder *encoder = NULL;
    hf_png_options options = {1, 0};
    CHECK_EQ_INT(hf_png_encoder_new(&options, &encoder, NULL), HF_OK);
    hf_buf png = HF_BUF_INIT;
    uint8_t big[100 * 40], small[3 * 2] = {0, 50, 100, 150, 200, 250};
    make_pixels(big, 40, 100, 9);
    /* small after big: the buffer content is replaced, scratch reused */
    CHECK_EQ_INT(hf_png_encoder_encode(encoder, big, 100, 40, 100, &png, NULL), HF_OK);
    size_t big_length = png.length;
    CHECK_EQ_INT(hf_png_encoder_encode(encoder, small, 3, 2, 3, &png, NULL), HF_OK);
    CHECK(png.length < big_length);
    int w, h, c;
    unsigned char *decoded = stbi_load_from_memory(png.data, (int)png.length, &w, &h, &c, 1);
    CHECK(decoded && w == 3 && h == 2 && memcmp(decoded, small, 6) == 0);
    stbi_image_free(decoded);
    CHECK_EQ_INT(hf_png_encoder_encode(encoder, big, 100, 40, 100, &png, NULL), HF_OK);
    CHECK_EQ_INT(png.length, big_length);  /* deterministic */
    /* a constant image compresses far below its raw size at level 1 */
    uint8_t flat[128 * 128];
    memset(flat, 77, sizeof flat);
    CHECK_EQ_INT(hf_png_encoder_encode(encoder, flat, 128, 128, 128, &png, NULL), HF_OK);
    CHECK(png.length < 400);
    hf_buf_free(&png);
    hf_png_encoder_free(encoder);
    hf_png_encoder_free(NULL);
}

/* A 1x1 image at level 0 (stored block), byte for byte: the chunk layout of png.c's table, the
 * zlib stream of RFC 1950/1951 by hand, CRCs recomputed with zlib (independent of libdeflate). */
static void test_exact_bytes(void)
{
    uint8_t pixel = 0x80;
    hf_png_options options = {0, 0};
    hf_buf png = HF_BUF_INIT;
    CHECK_EQ_INT(hf_png_encode_gray8(&pixel, 1, 1, 0, &options, &png, NULL), HF_OK);
    static const uint8_t expected_head[33] = {
        0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A,
        0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0,
        0, 0, 0, 0 /* CRC, checked below */};
    static const uint8_t expected_idat[8 + 13] = {
        0, 0, 0, 13, 'I', 'D', 'A', 'T',
        0x78, 0x01,                    /* CMF: deflate, 32K window; FLG: level 0, check bits */
        0x01, 0x02, 0x00, 0xFD, 0xFF,  /* final stored block, LEN 2, NLEN ~2 */
        0x00, 0x80,                    /* filter type 0, the pixel */
        0x00, 0x82, 0x00, 0x81};       /* Adler-32: b = 0x82, a = 0x81 */
    CHECK_EQ_INT(png.length, 33 + 21 + 4 + 12);
    if (png.length == 70) {
        CHECK(memcmp(png.data, expected_head, 29) == 0);
        CHECK_EQ_INT(get_be32(png.data + 29), crc32(0, png.data + 12, 17));
        CHECK(memcmp(png.data + 33, expected_idat, sizeof expected_idat) == 0);
        CHECK_EQ_INT(get_be32(png.data + 54), crc32(0, png.data + 37, 17));
        CHECK(memcmp(png.data + 58, "\0\0\0\0IEND\xae\x42\x60\x82", 12) == 0);
    }
    hf_buf_free(&png);
}

static void test_defaults(void)
{
    hf_png_options options = hf_png_default_options();
    CHECK_EQ_INT(options.level, 1);
    CHECK_EQ_INT(options.filter, 0);
    uint8_t pixels[8 * 8];
    make_pixels(pixels, 8, 8, 2);
    hf_buf png = HF_BUF_INIT;
    CHECK_EQ_INT(hf_png_encode_gray8(pixels, 8, 8, 0, NULL, &png, NULL), HF_OK);
    uint8_t filtered[9 * 8];
    CHECK(inflate_idat(png.data, png.length, filtered, sizeof filtered));
    int all_none = 1;
    for (int y = 0; y < 8; y++) all_none &= filtered[y * 9] == 0;
    CHECK(all_none);
    hf_buf_free(&png);
}

/* Encoders on two threads at different levels and filters give the single-threaded bytes: no
 * shared state (stb's globals are never touched). */
typedef struct thread_job {
    int level, filter;
    const uint8_t *pixels;
    hf_buf expected;
    int mismatches;
    hf_png_pool *pool;     /* test_pool only */
} thread_job;

/* pthreads rather than C11 <threads.h>: gcc 12's ThreadSanitizer does not intercept thrd_create,
 * and this test is meant to be run under TSan too (no report with -fsanitize=thread). */
static void *encode_many(void *argument)
{
    thread_job *job = argument;
    hf_png_options options = {job->level, job->filter};
    hf_png_encoder *encoder = NULL;
    if (hf_png_encoder_new(&options, &encoder, NULL) != HF_OK) {
        job->mismatches = -1;
        return NULL;
    }
    hf_buf png = HF_BUF_INIT;
    for (int i = 0; i < 200; i++) {
        if (hf_png_encoder_encode(encoder, job->pixels, 48, 40, 48, &png, NULL) != HF_OK ||
            png.length != job->expected.length ||
            memcmp(png.data, job->expected.data, png.length) != 0)
            job->mismatches++;
    }
    hf_buf_free(&png);
    hf_png_encoder_free(encoder);
    return NULL;
}

static void test_threads(void)
{
    static uint8_t pixels[48 * 40];
    make_pixels(pixels, 40, 48, 11);
    thread_job jobs[2] = {{1, HF_PNG_FILTER_ADAPTIVE, pixels, HF_BUF_INIT, 0},
                          {9, 4, pixels, HF_BUF_INIT, 0}};
    for (int j = 0; j < 2; j++) {
        hf_png_options options = {jobs[j].level, jobs[j].filter};
        CHECK_EQ_INT(hf_png_encode_gray8(pixels, 48, 40, 48, &options, &jobs[j].expected, NULL),
                     HF_OK);
    }
    CHECK(jobs[0].expected.length != jobs[1].expected.length ||
          memcmp(jobs[0].expected.data, jobs[1].expected.data, jobs[0].expected.length) != 0);
    pthread_t threads[2];
    for (int j = 0; j < 2; j++)
        CHECK_EQ_INT(pthread_create(&threads[j], NULL, encode_many, &jobs[j]), 0);
    for (int j = 0; j < 2; j++) {
        CHECK_EQ_INT(pthread_join(threads[j], NULL), 0);
        CHECK_EQ_INT(jobs[j].mismatches, 0);
        hf_buf_free(&jobs[j].expected);
    }
}

/* The encoder pool: a given-back encoder is reused for its level (with the new filter), other
 * levels get their own, the pool keeps at most max_idle, and two threads share it. */
static void *pool_many(void *argument)
{
    thread_job *job = argument;
    hf_png_options options = {job->level, job->filter};
    for (int i = 0; i < 200; i++) {
        hf_png_encoder *encoder = NULL;
        if (hf_png_pool_take(job->pool, &options, &encoder, NULL) != HF_OK) {
            job->mismatches = -1;
            return NULL;
        }
        hf_buf *png = hf_png_encoder_buffer(encoder);
        if (hf_png_encoder_encode(encoder, job->pixels, 48, 40, 48, png, NULL) != HF_OK ||
            png->length != job->expected.length ||
            memcmp(png->data, job->expected.data, png->length) != 0)
            job->mismatches++;
        hf_png_pool_give(job->pool, encoder);
    }
    return NULL;
}

static void test_pool(void)
{
    hf_png_pool *pool = NULL;
    CHECK_EQ_INT(hf_png_pool_new(2, &pool, NULL), HF_OK);
    hf_png_options a = {1, 0}, b = {1, 2}, c = {6, 0}, bad = {1, 7}, badlevel = {13, 0};
    hf_png_encoder *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;
    CHECK_EQ_INT(hf_png_pool_take(pool, &a, &e1, NULL), HF_OK);
    hf_png_pool_give(pool, e1);
    CHECK_EQ_INT(hf_png_pool_take(pool, &b, &e2, NULL), HF_OK);
    CHECK(e2 == e1);                       /* same level: reused */
    static uint8_t pixels[48 * 40];
    make_pixels(pixels, 40, 48, 5);
    hf_buf expected = HF_BUF_INIT;
    CHECK_EQ_INT(hf_png_encode_gray8(pixels, 48, 40, 48, &b, &expected, NULL), HF_OK);
    CHECK_EQ_INT(hf_png_encoder_encode(e2, pixels, 48, 40, 48, hf_png_encoder_buffer(e2), NULL),
                 HF_OK);
    CHECK(hf_png_encoder_buffer(e2)->length == expected.length &&
          memcmp(hf_png_encoder_buffer(e2)->data, expected.data, expected.length) == 0);
    hf_buf_free(&expected);
    hf_png_pool_give(pool, e2);
    CHECK_EQ_INT(hf_png_pool_take(pool, &c, &e3, NULL), HF_OK);
    CHECK(e3 != e1);                       /* another level: a new encoder */
    CHECK_EQ_INT(hf_png_pool_take(pool, &a, &e4, NULL), HF_OK);
    CHECK(e4 == e1);
    CHECK_EQ_INT(hf_png_pool_take(pool, &bad, &e1, NULL), HF_ARGUMENT);
    CHECK(e1 == NULL);
    CHECK_EQ_INT(hf_png_pool_take(pool, &badlevel, &e1, NULL), HF_ARGUMENT);
    hf_png_encoder *e5 = NULL;
    CHECK_EQ_INT(hf_png_pool_take(pool, &a, &e5, NULL), HF_OK);
    hf_png_pool_give(pool, e3);
    hf_png_pool_give(pool, e4);
    hf_png_pool_give(pool, e5);            /* third for two places: the oldest is freed */
    hf_png_pool_give(pool, NULL);
    hf_png_pool_free(pool);                /* frees the idle ones (ASan: no leak) */
    hf_png_pool_free(NULL);

    CHECK_EQ_INT(hf_png_pool_new(1, &pool, NULL), HF_OK);
    thread_job jobs[2] = {{1, 0, pixels, HF_BUF_INIT, 0, pool},
                          {1, HF_PNG_FILTER_ADAPTIVE, pixels, HF_BUF_INIT, 0, pool}};
    for (int j = 0; j < 2; j++) {
        hf_png_options options = {jobs[j].level, jobs[j].filter};
        CHECK_EQ_INT(hf_png_encode_gray8(pixels, 48, 40, 48, &options, &jobs[j].expected, NULL),
                     HF_OK);
    }
    pthread_t threads[2];
    for (int j = 0; j < 2; j++)
        CHECK_EQ_INT(pthread_create(&threads[j], NULL, pool_many, &jobs[j]), 0);
    for (int j = 0; j < 2; j++) {
        CHECK_EQ_INT(pthread_join(threads[j], NULL), 0);
        CHECK_EQ_INT(jobs[j].mismatches, 0);
        hf_buf_free(&jobs[j].expected);
    }
    hf_png_pool_free(pool);
}

static void test_errors(void)
{
    uint8_t pixels[16] = {0};
    hf_buf png = HF_BUF_INIT;
    hf_error error;
    hf_error_clear(&error);
    CHECK_EQ_INT(hf_png_encode_gray8(pixels, 0, 5, 0, NULL, &png, &error), HF_ARGUMENT);
    CHECK(strstr(error.reason, "cannot save an empty image") != NULL);
    CHECK_EQ_INT(hf_png_encode_gray8(pixels, 5, 0, 0, NULL, &png, &error), HF_ARGUMENT);
    CHECK_EQ_INT(hf_png_encode_gray8(pixels, 0, 0, 0, NULL, &png, &error), HF_ARGUMENT);
    CHECK_EQ_INT(png.length, 0);
    CHECK_EQ_INT(hf_png_encode_gray8(NULL, 4, 4, 0, NULL, &png, &error), HF_ARGUMENT);
    CHECK_EQ_INT(hf_png_encode_gray8(pixels, 4, 4, 3, NULL, &png, &error), HF_ARGUMENT);
    hf_png_options bad_level = {13, 0}, negative_level = {-1, 0}, bad_filter = {6, 5},
                   bad_filter2 = {6, -2};
    CHECK_EQ_INT(hf_png_encode_gray8(pixels, 4, 4, 0, &bad_level, &png, &error), HF_ARGUMENT);
    CHECK_EQ_INT(hf_png_encode_gray8(pixels, 4, 4, 0, &negative_level, &png, &error), HF_ARGUMENT);
    CHECK_EQ_INT(hf_png_encode_gray8(pixels, 4, 4, 0, &bad_filter, &png, &error), HF_ARGUMENT);
    CHECK_EQ_INT(hf_png_encode_gray8(pixels, 4, 4, 0, &bad_filter2, &png, &error), HF_ARGUMENT);
    /* PNG's 2^31-1 limit, checked before any pixel is read or memory reserved */
    CHECK_EQ_INT(hf_png_encode_gray8(pixels, (size_t)1 << 31, 1, 0, NULL, &png, &error), HF_LIMIT);
    CHECK_EQ_INT(hf_png_encode_gray8(pixels, 1, (size_t)1 << 31, 0, NULL, &png, &error), HF_LIMIT);
    CHECK_EQ_INT(hf_png_encode_gray8(pixels, 1, 1, (size_t)1 << 31, NULL, &png, &error), HF_LIMIT);
    CHECK_EQ_INT(error.status, HF_LIMIT);
    hf_png_encoder *encoder = (hf_png_encoder *)1;
    CHECK_EQ_INT(hf_png_encoder_new(&bad_level, &encoder, NULL), HF_ARGUMENT);
    CHECK(encoder == NULL);
    CHECK_EQ_INT(hf_png_encoder_new(NULL, NULL, NULL), HF_ARGUMENT);
    CHECK_EQ_INT(hf_png_encoder_encode(NULL, pixels, 4, 4, 0, &png, NULL), HF_ARGUMENT);
    hf_buf_free(&png);
}

static void test_allocation_failures(void)
{
    uint8_t pixels[20 * 20];
    make_pixels(pixels, 20, 20, 3);
    int nomem = 0, ok = 0;
    for (long n = 0; n < 20 && !ok; n++) {
        hf_buf png = HF_BUF_INIT;
        hf_alloc_fail_after(n);
        hf_status status = hf_png_encode_gray8(pixels, 20, 20, 0, NULL, &png, NULL);
        hf_alloc_fail_after(-1);
        if (status == HF_NOMEM) {
            nomem++;
            CHECK_EQ_INT(png.length, 0);
        } else {
            CHECK_EQ_INT(status, HF_OK);
            ok = 1;
        }
        hf_buf_free(&png);  /* ASan reports any leak on the failure paths */
    }
    CHECK(ok);
    CHECK(nomem >= 3);  /* encoder struct, scratch, output buffer */
}

/* ---- atomic writer ---- */

static int count_entries(const char *directory)
{
    DIR *d = opendir(directory);
    if (d == NULL) return -1;
    int n = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

static size_t read_file(const char *path, uint8_t *buffer, size_t capacity)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return (size_t)-1;
    size_t n = fread(buffer, 1, capacity, f);
    fclose(f);
    return n;
}

static void test_atomic_writer(void)
{
    char directory[] = "/tmp/hf_test_png_XXXXXX";
    CHECK(mkdtemp(directory) != NULL);
    char path[256], other[256];
    uint8_t buffer[64];
    hf_error error;
    hf_error_clear(&error);

    snprintf(path, sizeof path, "%s/a_processed.png", directory);
    CHECK_EQ_INT(hf_png_write_file_atomic(path, (const uint8_t *)"first", 5, &error), HF_OK);
    CHECK_EQ_INT(read_file(path, buffer, sizeof buffer), 5);
    CHECK(memcmp(buffer, "first", 5) == 0);
    CHECK_EQ_INT(count_entries(directory), 1);  /* no temporary left */
    /* mode 0666 & ~umask, like Pillow's open(path, "wb") */
    mode_t mask = umask(022);
    umask(mask);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0666 & ~mask);

    /* overwrite: replaced, still one entry; durable variant */
    CHECK_EQ_INT(hf_png_write_file_atomic_ex(path, (const uint8_t *)"second!", 7,
                                             HF_PNG_WRITE_DURABLE, &error), HF_OK);
    CHECK_EQ_INT(read_file(path, buffer, sizeof buffer), 7);
    CHECK(memcmp(buffer, "second!", 7) == 0);
    CHECK_EQ_INT(count_entries(directory), 1);
    /* empty file */
    CHECK_EQ_INT(hf_png_write_file_atomic(path, NULL, 0, &error), HF_OK);
    CHECK_EQ_INT(read_file(path, buffer, sizeof buffer), 0);

    /* missing directory: HF_NOTFOUND, ENOENT, nothing created anywhere */
    snprintf(other, sizeof other, "%s/missing/b.png", directory);
    hf_error_clear(&error);
    CHECK_EQ_INT(hf_png_write_file_atomic(other, (const uint8_t *)"x", 1, &error), HF_NOTFOUND);
    CHECK_EQ_INT(error.os_errno, ENOENT);
    CHECK(error.reason[0] != '\0');
    CHECK_EQ_INT(count_entries(directory), 1);

    /* rename fails (the target is a directory): HF_IO, temporary removed, target intact */
    snprintf(other, sizeof other, "%s/sub", directory);
    CHECK(mkdir(other, 0755) == 0);
    hf_error_clear(&error);
    CHECK_EQ_INT(hf_png_write_file_atomic(other, (const uint8_t *)"x", 1, &error), HF_IO);
    CHECK_EQ_INT(error.os_errno, EISDIR);
    CHECK_EQ_INT(count_entries(directory), 2);  /* a_processed.png and sub */
    CHECK_EQ_INT(count_entries(other), 0);

    /* a very long (255-byte) name still gets a valid temporary name */
    char long_name[300];
    int prefix = snprintf(long_name, sizeof long_name, "%s/", directory);
    memset(long_name + prefix, 'n', 255);
    long_name[prefix + 255] = '\0';
    CHECK_EQ_INT(hf_png_write_file_atomic(long_name, (const uint8_t *)"long", 4, &error), HF_OK);
    CHECK_EQ_INT(read_file(long_name, buffer, sizeof buffer), 4);
    CHECK_EQ_INT(count_entries(directory), 3);
    unlink(long_name);

    /* a relative path without a directory part */
    char cwd[512];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(directory) == 0);
    CHECK_EQ_INT(hf_png_write_file_atomic_ex("rel.png", (const uint8_t *)"r", 1,
                                             HF_PNG_WRITE_DURABLE, &error), HF_OK);
    CHECK_EQ_INT(read_file("rel.png", buffer, sizeof buffer), 1);
    unlink("rel.png");
    CHECK(chdir(cwd) == 0);

    /* an unwritable directory (only meaningful when not root) */
    if (geteuid() != 0) {
        CHECK(chmod(other, 0555) == 0);
        snprintf(path, sizeof path, "%s/sub/c.png", directory);
        CHECK_EQ_INT(hf_png_write_file_atomic(path, (const uint8_t *)"x", 1, &error), HF_IO);
        CHECK_EQ_INT(error.os_errno, EACCES);
        CHECK(chmod(other, 0755) == 0);
    }

    /* argument errors */
    CHECK_EQ_INT(hf_png_write_file_atomic(NULL, (const uint8_t *)"x", 1, &error), HF_ARGUMENT);
    CHECK_EQ_INT(hf_png_write_file_atomic("", (const uint8_t *)"x", 1, &error), HF_ARGUMENT);
    CHECK_EQ_INT(hf_png_write_file_atomic(path, NULL, 1, &error), HF_ARGUMENT);

    /* allocation failure in the writer: HF_NOMEM, nothing written */
    snprintf(path, sizeof path, "%s/nomem.png", directory);
    hf_alloc_fail_after(0);
    CHECK_EQ_INT(hf_png_write_file_atomic(path, (const uint8_t *)"x", 1, &error), HF_NOMEM);
    hf_alloc_fail_after(-1);
    CHECK(access(path, F_OK) != 0);

    /* a real PNG written and decoded from the file */
    uint8_t pixels[16 * 16];
    make_pixels(pixels, 16, 16, 1);
    hf_buf png = HF_BUF_INIT;
    CHECK_EQ_INT(hf_png_encode_gray8(pixels, 16, 16, 0, NULL, &png, NULL), HF_OK);
    snprintf(path, sizeof path, "%s/img_processed.png", directory);
    CHECK_EQ_INT(hf_png_write_file_atomic(path, png.data, png.length, &error), HF_OK);
    uint8_t file_bytes[4096];
    size_t n = read_file(path, file_bytes, sizeof file_bytes);
    CHECK_EQ_INT(n, png.length);
    int w, h, c;
    unsigned char *decoded = stbi_load_from_memory(file_bytes, (int)n, &w, &h, &c, 1);
    CHECK(decoded && w == 16 && h == 16 && memcmp(decoded, pixels, sizeof pixels) == 0);
    stbi_image_free(decoded);
    hf_buf_free(&png);
    unlink(path);

    snprintf(path, sizeof path, "%s/a_processed.png", directory);
    unlink(path);
    rmdir(other);
    CHECK(rmdir(directory) == 0);  /* empty: nothing was left behind */
}

/* hf_png_gray8_from_*: the values 1.1.1's save_image writes (uint8(trunc(255 p)), clipped). */
static void test_gray8(void)
{
    const double p[9] = {-1.0, 0.0, 0.5, 0.2, 0.999, 1.0, 2.0, NAN, 1e300};
    const uint8_t want[9] = {0, 0, 127, 51, 254, 255, 255, 0, 255};
    uint8_t out[9];
    hf_png_gray8_from_float64(p, 9, out);
    CHECK(memcmp(out, want, sizeof want) == 0);
    const int64_t counts[4] = {0, 255, 7, 128};
    hf_error error;
    hf_error_clear(&error);
    CHECK_EQ_INT(hf_png_gray8_from_int64(counts, 4, out, &error), HF_OK);
    CHECK(out[0] == 0 && out[1] == 255 && out[2] == 7 && out[3] == 128);
    const int64_t high[2] = {1, 256}, low[1] = {-1};
    CHECK_EQ_INT(hf_png_gray8_from_int64(high, 2, out, &error), HF_ARGUMENT);
    CHECK(strstr(error.reason, "0..255") != NULL);
    CHECK_EQ_INT(hf_png_gray8_from_int64(low, 1, out, &error), HF_ARGUMENT);
    CHECK_EQ_INT(hf_png_gray8_from_int64(low, 0, out, &error), HF_OK);
}

/* HF_PNG_WRITE_MAKE_DIRS: missing directories made (only then), a file in the way reported. */
static void test_make_dirs(void)
{
    char directory[] = "/tmp/hf_test_png_dirs_XXXXXX";
    CHECK(mkdtemp(directory) != NULL);
    char path[256], sub[256];
    hf_error error;
    hf_error_clear(&error);
    snprintf(path, sizeof path, "%s/a//b/c/x.png", directory);
    CHECK_EQ_INT(hf_png_write_file_atomic_ex(path, (const uint8_t *)"x", 1, 0, &error),
                 HF_NOTFOUND);
    CHECK_EQ_INT(count_entries(directory), 0);
    CHECK_EQ_INT(hf_png_write_file_atomic_ex(path, (const uint8_t *)"xy", 2,
                                             HF_PNG_WRITE_MAKE_DIRS, &error), HF_OK);
    uint8_t buffer[8];
    CHECK_EQ_INT(read_file(path, buffer, sizeof buffer), 2);
    snprintf(sub, sizeof sub, "%s/a/b/c", directory);
    CHECK_EQ_INT(count_entries(sub), 1);   /* x.png, no temporary */
    mode_t mask = umask(022);
    umask(mask);
    struct stat st;
    CHECK(stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK_EQ_INT(st.st_mode & 0777, 0777 & ~mask);
    /* out of memory while making them: HF_NOMEM, nothing made */
    snprintf(path, sizeof path, "%s/m/x.png", directory);
    hf_alloc_fail_after(1);   /* the temporary name is allocated, the directory copy is not */
    CHECK_EQ_INT(hf_png_write_file_atomic_ex(path, (const uint8_t *)"m", 1,
                                             HF_PNG_WRITE_MAKE_DIRS, &error), HF_NOMEM);
    hf_alloc_fail_after(-1);
    snprintf(sub, sizeof sub, "%s/m", directory);
    CHECK(access(sub, F_OK) != 0);
    /* existing directories are fine; a file where a directory must go is ENOTDIR */
    snprintf(path, sizeof path, "%s/a/b/y.png", directory);
    CHECK_EQ_INT(hf_png_write_file_atomic_ex(path, (const uint8_t *)"y", 1,
                                             HF_PNG_WRITE_MAKE_DIRS, &error), HF_OK);
    snprintf(path, sizeof path, "%s/a/b/y.png/z.png", directory);
    hf_error_clear(&error);
    CHECK_EQ_INT(hf_png_write_file_atomic_ex(path, (const uint8_t *)"z", 1,
                                             HF_PNG_WRITE_MAKE_DIRS, &error), HF_IO);
    CHECK_EQ_INT(error.os_errno, ENOTDIR);
    snprintf(path, sizeof path, "%s/a/b/y.png/deeper/z.png", directory);
    hf_error_clear(&error);
    CHECK_EQ_INT(hf_png_write_file_atomic_ex(path, (const uint8_t *)"z", 1,
                                             HF_PNG_WRITE_MAKE_DIRS, &error), HF_IO);
    CHECK_EQ_INT(error.os_errno, ENOTDIR);
    snprintf(path, sizeof path, "%s/a/b/c/x.png", directory);
    unlink(path);
    snprintf(path, sizeof path, "%s/a/b/y.png", directory);
    unlink(path);
    snprintf(sub, sizeof sub, "%s/a/b/c", directory);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/a/b", directory);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/a", directory);
    rmdir(sub);
    CHECK(rmdir(directory) == 0);
}

int main(void)
{
    test_roundtrips();
    test_encoder_reuse();
    test_exact_bytes();
    test_defaults();
    test_threads();
    test_pool();
    test_errors();
    test_allocation_failures();
    test_atomic_writer();
    test_gray8();
    test_make_dirs();
    return CHECK_REPORT();
}
