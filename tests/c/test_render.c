/*
 * test_render.c -- the image kinds of render.c against hand-computed arrays and against values
 * printed by the real heifip 1.1.1 classes (oracle venv, NumPy 1.26.4): every worked example of
 * reference-semantics.md section 3, fill wrapping (and its float path), empty packets, dim 0,
 * auto_dim, missing tiles, append padding, Markov zero rows, the MarkovFlow int64 rule, argument
 * errors and overflow limits; job.c's image paths, and fip's PNG files (hf_job_write_files).
 */
#define _POSIX_C_SOURCE 200809L   /* mkdtemp */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "job.h"
#include "render.h"

static const uint8_t A[] = {1, 2, 3};
static const uint8_t B[] = {4, 5};
static const uint8_t C[] = {6, 7, 8, 9, 10};
static const hf_packet_view ABC[3] = {{A, 3}, {B, 2}, {C, 5}};

/* Sentinel so that "written completely" is checked: every element starts as 0xAA bytes. */
static uint8_t image_u8[64 * 64];
static double image_f64[64 * 64];

static hf_image_params params_of(hf_image_kind kind, int64_t dim, int64_t fill)
{
    hf_image_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.dim = dim;
    p.fill = fill;
    return p;
}

/* Render a uint8 image and compare it to `expected` (rows x cols). */
static void check_u8(int line, const hf_image_params *p, const hf_packet_view *packets, size_t n,
                     size_t rows, size_t cols, const uint8_t *expected)
{
    hf_image_shape shape;
    hf_error error;
    hf_error_clear(&error);
    hf_status status = hf_render_shape(p, packets, n, &shape, &error);
    if (status != HF_OK) {
        fprintf(stderr, "line %d: shape failed: %s %s\n", line, hf_status_name(status),
                error.reason);
        CHECK(0);
        return;
    }
    CHECK_EQ_INT(shape.rows, rows);
    CHECK_EQ_INT(shape.cols, cols);
    CHECK_EQ_INT(shape.pixel_type, HF_PIXEL_UINT8);
    if (shape.rows != rows || shape.cols != cols) {
        fprintf(stderr, "  (from line %d)\n", line);
        return;
    }
    memset(image_u8, 0xAA, sizeof image_u8);
    CHECK_EQ_INT(hf_render_image(p, packets, n, &shape, image_u8, &error), HF_OK);
    int same = memcmp(image_u8, expected, rows * cols) == 0;
    if (!same) {
        fprintf(stderr, "line %d: pixels differ:", line);
        for (size_t i = 0; i < rows * cols; i++) fprintf(stderr, " %d", image_u8[i]);
        fprintf(stderr, "\n");
    }
    CHECK(same);
    CHECK_EQ_INT(image_u8[rows * cols], 0xAA);  /* nothing written beyond the image */
}

static void check_status(int line, const hf_image_params *p, const hf_packet_view *packets,
                         size_t n, hf_status expected)
{
    hf_image_shape shape = {0, 0, 0};
    hf_error error;
    hf_error_clear(&error);
    hf_status status = hf_render_shape(p, packets, n, &shape, &error);
    if (status != expected)
        fprintf(stderr, "line %d: got %s (%s), expected %s\n", line, hf_status_name(status),
                error.reason, hf_status_name(expected));
    CHECK_EQ_INT(status, expected);
    if (expected != HF_OK) {
        CHECK_EQ_INT(error.status, expected);
        CHECK(error.reason[0] != '\0');
        CHECK_EQ_INT(shape.rows, 0);  /* untouched */
    }
}

static void test_packet_image(void)
{
    static const uint8_t five[] = {1, 2, 3, 4, 5};
    hf_packet_view pkt = {five, 5};
    hf_image_params p = params_of(HF_IMAGE_PACKET, 3, 9);
    /* section 3.1 examples */
    check_u8(__LINE__, &p, &pkt, 1, 3, 3, (const uint8_t[]){1, 2, 3, 4, 5, 9, 9, 9, 9});
    p.dim = 2;
    check_u8(__LINE__, &p, &pkt, 1, 2, 2, (const uint8_t[]){1, 2, 3, 4});
    p.dim = 7;
    p.auto_dim = 1;  /* ceil(sqrt 5) = 3, dim ignored */
    check_u8(__LINE__, &p, &pkt, 1, 3, 3, (const uint8_t[]){1, 2, 3, 4, 5, 9, 9, 9, 9});
    p.dim = -3;      /* 1.1.1 accepts any dim with auto_dim: PacketImage(b'\x01\x02', -3, 0, True) */
    hf_packet_view two = {five, 2};
    p.fill = 0;
    check_u8(__LINE__, &p, &two, 1, 2, 2, (const uint8_t[]){1, 2, 0, 0});
    /* auto_dim of a perfect square is exact: 4 bytes -> 2x2, 16 -> 4x4 */
    static const uint8_t sixteen[16] = {0};
    hf_packet_view sq = {sixteen, 16};
    hf_image_shape shape;
    CHECK_EQ_INT(hf_render_shape(&p, &sq, 1, &shape, NULL), HF_OK);
    CHECK_EQ_INT(shape.rows, 4);
    sq.length = 17;
    CHECK_EQ_INT(hf_render_shape(&p, &sq, 1, &shape, NULL), HF_OK);
    CHECK_EQ_INT(shape.rows, 5);

    /* dim 0 -> (0, 0); empty packet with auto_dim -> (0, 0) */
    p = params_of(HF_IMAGE_PACKET, 0, 9);
    check_u8(__LINE__, &p, &pkt, 1, 0, 0, (const uint8_t[]){0});
    hf_packet_view empty = {NULL, 0};
    p.auto_dim = 1;
    check_u8(__LINE__, &p, &empty, 1, 0, 0, (const uint8_t[]){0});
    /* empty packet, dim 2, fill 300 -> all 44 (1.1.1 verified) */
    p = params_of(HF_IMAGE_PACKET, 2, 300);
    check_u8(__LINE__, &p, &empty, 1, 2, 2, (const uint8_t[]){44, 44, 44, 44});
    /* fill -1 -> 255; fills beyond int32 still wrap (int64 array, no float path) */
    hf_packet_view one = {five, 1};
    p.fill = -1;
    check_u8(__LINE__, &p, &one, 1, 2, 2, (const uint8_t[]){1, 255, 255, 255});
    p.fill = (int64_t)2147483653LL;  /* 2^31 + 5 */
    check_u8(__LINE__, &p, &one, 1, 2, 2, (const uint8_t[]){1, 5, 5, 5});
    p.fill = INT64_MIN;
    check_u8(__LINE__, &p, &one, 1, 2, 2, (const uint8_t[]){1, 0, 0, 0});

    /* errors: negative dim without auto_dim, packet count */
    p = params_of(HF_IMAGE_PACKET, -2, 0);
    check_status(__LINE__, &p, &pkt, 1, HF_ARGUMENT);
    p.dim = 2;
    check_status(__LINE__, &p, ABC, 2, HF_ARGUMENT);
    check_status(__LINE__, &p, ABC, 0, HF_ARGUMENT);
    hf_packet_view bad = {NULL, 3};
    check_status(__LINE__, &p, &bad, 1, HF_ARGUMENT);
}

static void test_flow_image(void)
{
    hf_image_params p = params_of(HF_IMAGE_FLOW, 16, 9);
    /* section 3.2 example, append=False: dim ignored */
    check_u8(__LINE__, &p, ABC, 3, 3, 5,
             (const uint8_t[]){1, 2, 3, 9, 9, 4, 5, 9, 9, 9, 6, 7, 8, 9, 10});
    p.dim = -5;  /* FlowImage(pkts, -5, 9): dim ignored, no error */
    check_u8(__LINE__, &p, ABC, 2, 2, 3, (const uint8_t[]){1, 2, 3, 4, 5, 9});
    /* append=True, dim 4, fill 9: padded with 0, not fill */
    p = params_of(HF_IMAGE_FLOW, 4, 9);
    p.append = 1;
    check_u8(__LINE__, &p, ABC, 3, 3, 4, (const uint8_t[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0});
    /* exact multiple: no padding row */
    static const uint8_t four[] = {1, 2, 3, 4};
    hf_packet_view halves[2] = {{four, 2}, {four + 2, 2}};
    p.dim = 2;
    check_u8(__LINE__, &p, halves, 2, 2, 2, (const uint8_t[]){1, 2, 3, 4});
    /* empty packets: (n, 0) without append, (0, dim) with append (1.1.1 verified) */
    hf_packet_view empties[2] = {{NULL, 0}, {NULL, 0}};
    p = params_of(HF_IMAGE_FLOW, 4, 9);
    check_u8(__LINE__, &p, empties, 2, 2, 0, (const uint8_t[]){0});
    p.append = 1;
    check_u8(__LINE__, &p, empties, 2, 0, 4, (const uint8_t[]){0});
    /* an empty packet in the middle of an appended flow */
    hf_packet_view mixed[3] = {{A, 3}, {NULL, 0}, {B, 2}};
    p.dim = 3;
    check_u8(__LINE__, &p, mixed, 3, 2, 3, (const uint8_t[]){1, 2, 3, 4, 5, 0});
    /* append with dim 0 -> ZeroDivisionError in 1.1.1, even for empty packets; dim < 0 too */
    p.dim = 0;
    check_status(__LINE__, &p, ABC, 1, HF_ARGUMENT);
    check_status(__LINE__, &p, empties, 1, HF_ARGUMENT);
    p.dim = -4;
    check_status(__LINE__, &p, ABC, 1, HF_ARGUMENT);
    /* zero packets: 1.1.1 builds no image (max([]) would raise) */
    p = params_of(HF_IMAGE_FLOW, 4, 9);
    check_status(__LINE__, &p, NULL, 0, HF_ARGUMENT);
    p.append = 1;
    check_status(__LINE__, &p, NULL, 0, HF_ARGUMENT);
}

static void test_tiled_fixed(void)
{
    hf_image_params p = params_of(HF_IMAGE_FLOW_TILED_FIXED, 2, 9);
    p.cols = 2;
    /* section 3.3 example: missing 4th tile is 0 */
    check_u8(__LINE__, &p, ABC, 3, 4, 4,
             (const uint8_t[]){1, 2, 4, 5, 3, 9, 9, 9, 6, 7, 0, 0, 8, 9, 0, 0});
    /* packets beyond cols^2 ignored: cols 1 -> only the first packet */
    p.cols = 1;
    check_u8(__LINE__, &p, ABC, 3, 2, 2, (const uint8_t[]){1, 2, 3, 9});
    /* a 3x3 grid of 1x1 tiles with 5 packets: row-major, 4 missing tiles */
    hf_packet_view five[5] = {{A, 3}, {B, 2}, {C, 5}, {A + 1, 2}, {C + 4, 1}};
    p = params_of(HF_IMAGE_FLOW_TILED_FIXED, 1, 9);
    p.cols = 3;
    check_u8(__LINE__, &p, five, 5, 3, 3, (const uint8_t[]){1, 4, 6, 2, 10, 0, 0, 0, 0});
    /* fill 300 -> 44 (1.1.1 verified, with and without a missing tile) */
    p = params_of(HF_IMAGE_FLOW_TILED_FIXED, 2, 300);
    p.cols = 2;
    check_u8(__LINE__, &p, ABC, 3, 4, 4,
             (const uint8_t[]){1, 2, 4, 5, 3, 44, 44, 44, 6, 7, 0, 0, 8, 9, 0, 0});
    hf_packet_view full[4] = {{A, 3}, {B, 2}, {C, 5}, {A, 3}};
    check_u8(__LINE__, &p, full, 4, 4, 4,
             (const uint8_t[]){1, 2, 4, 5, 3, 44, 44, 44, 6, 7, 1, 2, 8, 9, 3, 44});
    p.fill = -1;
    check_u8(__LINE__, &p, ABC, 3, 4, 4,
             (const uint8_t[]){1, 2, 4, 5, 3, 255, 255, 255, 6, 7, 0, 0, 8, 9, 0, 0});
    /* the float path (render.h): fill outside int32 -> 0 when a tile is missing, else wraps.
     * Values printed by 1.1.1: 2^31+5 -> 0 / 5; 2^31-1 -> 255 / 255; -2^31-1 -> 0 / 255. */
    p.fill = 2147483653LL;
    check_u8(__LINE__, &p, ABC, 3, 4, 4,
             (const uint8_t[]){1, 2, 4, 5, 3, 0, 0, 0, 6, 7, 0, 0, 8, 9, 0, 0});
    check_u8(__LINE__, &p, full, 4, 4, 4,
             (const uint8_t[]){1, 2, 4, 5, 3, 5, 5, 5, 6, 7, 1, 2, 8, 9, 3, 5});
    p.fill = 2147483647LL;
    check_u8(__LINE__, &p, ABC, 3, 4, 4,
             (const uint8_t[]){1, 2, 4, 5, 3, 255, 255, 255, 6, 7, 0, 0, 8, 9, 0, 0});
    p.fill = -2147483649LL;
    check_u8(__LINE__, &p, ABC, 3, 4, 4,
             (const uint8_t[]){1, 2, 4, 5, 3, 0, 0, 0, 6, 7, 0, 0, 8, 9, 0, 0});
    check_u8(__LINE__, &p, full, 4, 4, 4,
             (const uint8_t[]){1, 2, 4, 5, 3, 255, 255, 255, 6, 7, 1, 2, 8, 9, 3, 255});
    /* dim 0 -> (0, 0); an empty packet is a tile of fill */
    p = params_of(HF_IMAGE_FLOW_TILED_FIXED, 0, 9);
    p.cols = 2;
    check_u8(__LINE__, &p, ABC, 2, 0, 0, (const uint8_t[]){0});
    hf_packet_view with_empty[2] = {{NULL, 0}, {B, 2}};
    p.dim = 2;
    p.cols = 1;
    check_u8(__LINE__, &p, with_empty, 2, 2, 2, (const uint8_t[]){9, 9, 9, 9});
    /* errors: cols 0 / negative (ValueError), dim negative, zero packets */
    p.cols = 0;
    check_status(__LINE__, &p, ABC, 3, HF_ARGUMENT);
    p.cols = -1;
    check_status(__LINE__, &p, ABC, 3, HF_ARGUMENT);
    p.cols = 2;
    p.dim = -2;
    check_status(__LINE__, &p, ABC, 3, HF_ARGUMENT);
    p.dim = 2;
    check_status(__LINE__, &p, NULL, 0, HF_ARGUMENT);
}

static void test_tiled_auto(void)
{
    hf_image_params p = params_of(HF_IMAGE_FLOW_TILED_AUTO, 2, 9);
    /* section 3.4: 3 packets, dim 2 -> g = 2, same as 3.3 */
    check_u8(__LINE__, &p, ABC, 3, 4, 4,
             (const uint8_t[]){1, 2, 4, 5, 3, 9, 9, 9, 6, 7, 0, 0, 8, 9, 0, 0});
    /* auto_dim: dim = ceil(sqrt 5) = 3, 6x6 */
    p.auto_dim = 1;
    check_u8(__LINE__, &p, ABC, 3, 6, 6,
             (const uint8_t[]){1, 2, 3, 4, 5, 9,  9, 9, 9, 9, 9, 9,  9, 9, 9, 9, 9, 9,
                               6, 7, 8, 0, 0, 0,  9, 10, 9, 0, 0, 0, 9, 9, 9, 0, 0, 0});
    /* 5 packets, dim 1: g = ceil(sqrt 5) = 3 (1.1.1 verified: [[1,4,6],[1,4,0],[0,0,0]]) */
    hf_packet_view five[5] = {{A, 3}, {B, 2}, {C, 5}, {A, 3}, {B, 2}};
    p = params_of(HF_IMAGE_FLOW_TILED_AUTO, 1, 9);
    check_u8(__LINE__, &p, five, 5, 3, 3, (const uint8_t[]){1, 4, 6, 1, 4, 0, 0, 0, 0});
    /* 1 packet: g = 1 */
    p.dim = 2;
    check_u8(__LINE__, &p, ABC, 1, 2, 2, (const uint8_t[]){1, 2, 3, 9});
    /* full grid of 4, fill 300 -> 44 */
    hf_packet_view full[4] = {{A, 3}, {B, 2}, {C, 5}, {A, 3}};
    p.fill = 300;
    check_u8(__LINE__, &p, full, 4, 4, 4,
             (const uint8_t[]){1, 2, 4, 5, 3, 44, 44, 44, 6, 7, 1, 2, 8, 9, 3, 44});
    p.fill = 2147483653LL;  /* float path: missing tile with 3 packets */
    check_u8(__LINE__, &p, ABC, 3, 4, 4,
             (const uint8_t[]){1, 2, 4, 5, 3, 0, 0, 0, 6, 7, 0, 0, 8, 9, 0, 0});
    /* auto_dim over empty packets -> dim 0 -> (0, 0); dim 0 -> (0, 0) */
    hf_packet_view empties[2] = {{NULL, 0}, {NULL, 0}};
    p = params_of(HF_IMAGE_FLOW_TILED_AUTO, 2, 9);
    p.auto_dim = 1;
    check_u8(__LINE__, &p, empties, 2, 0, 0, (const uint8_t[]){0});
    p.auto_dim = 0;
    p.dim = 0;
    check_u8(__LINE__, &p, ABC, 2, 0, 0, (const uint8_t[]){0});
    /* auto_dim ignores a negative dim; without it a negative dim is an error */
    p.dim = -1;
    check_status(__LINE__, &p, ABC, 2, HF_ARGUMENT);
    p.auto_dim = 1;
    check_status(__LINE__, &p, ABC, 2, HF_OK);
    check_status(__LINE__, &p, NULL, 0, HF_ARGUMENT);
}

/* Render a float64 Markov image; the caller checks image_f64. */
static hf_image_shape render_markov(const hf_image_params *p, const hf_packet_view *packets,
                                    size_t n)
{
    hf_image_shape shape = {0, 0, 0};
    CHECK_EQ_INT(hf_render_shape(p, packets, n, &shape, NULL), HF_OK);
    memset(image_f64, 0xAA, sizeof image_f64);
    CHECK_EQ_INT(hf_render_image(p, packets, n, &shape, image_f64, NULL), HF_OK);
    return shape;
}

/* Count the entries of an image that are not +0.0 (the 0xAA sentinel is never 0.0). */
static size_t nonzero_count(const double *image, size_t count)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) n += image[i] != 0.0;
    return n;
}

static void test_markov_packet(void)
{
    hf_image_params p = params_of(HF_IMAGE_MARKOV_PACKET, 0, 0);
    /* section 3.5: AB AB -> nibbles 10,11,10,11: M[10][11] = M[11][10] = 1 */
    static const uint8_t abab[] = {0xAB, 0xAB};
    hf_packet_view pkt = {abab, 2};
    hf_image_shape shape = render_markov(&p, &pkt, 1);
    CHECK_EQ_INT(shape.rows, 16);
    CHECK_EQ_INT(shape.cols, 16);
    CHECK_EQ_INT(shape.pixel_type, HF_PIXEL_FLOAT64);
    CHECK(image_f64[10 * 16 + 11] == 1.0);
    CHECK(image_f64[11 * 16 + 10] == 1.0);
    CHECK_EQ_INT(nonzero_count(image_f64, 256), 2);
    /* 01 02 01 03 -> row 0 = [0, .5, .25, .25], row 1 = [1], row 2 = [1], row 3 sums to 0 */
    static const uint8_t bytes2[] = {0x01, 0x02, 0x01, 0x03};
    pkt.data = bytes2;
    pkt.length = 4;
    render_markov(&p, &pkt, 1);
    CHECK(image_f64[1] == 0.5 && image_f64[2] == 0.25 && image_f64[3] == 0.25);
    CHECK(image_f64[16] == 1.0 && image_f64[32] == 1.0);
    CHECK_EQ_INT(nonzero_count(image_f64, 256), 5);
    for (int b = 0; b < 16; b++) CHECK(image_f64[3 * 16 + b] == 0.0);
    /* non-dyadic values, bit-exact against 1.1.1 (float.hex of its matrix) */
    static const uint8_t bytes3[] = {0x12, 0x34, 0x1f, 0xf1, 0x23, 0x11, 0x2a};
    pkt.data = bytes3;
    pkt.length = 7;
    render_markov(&p, &pkt, 1);
    CHECK(image_f64[1 * 16 + 1] == 0x1.999999999999ap-3);
    CHECK(image_f64[1 * 16 + 2] == 0x1.3333333333333p-1);
    CHECK(image_f64[1 * 16 + 15] == 0x1.999999999999ap-3);
    CHECK(image_f64[2 * 16 + 3] == 0x1.5555555555555p-1);
    CHECK(image_f64[2 * 16 + 10] == 0x1.5555555555555p-2);
    CHECK(image_f64[3 * 16 + 1] == 0.5 && image_f64[3 * 16 + 4] == 0.5);
    CHECK(image_f64[4 * 16 + 1] == 1.0);
    CHECK(image_f64[15 * 16 + 1] == 0.5 && image_f64[15 * 16 + 15] == 0.5);
    CHECK_EQ_INT(nonzero_count(image_f64, 256), 10);
    /* 1 byte: one transition, already float64 */
    static const uint8_t single[] = {0x5C};
    pkt.data = single;
    pkt.length = 1;
    shape = render_markov(&p, &pkt, 1);
    CHECK_EQ_INT(shape.pixel_type, HF_PIXEL_FLOAT64);
    CHECK(image_f64[5 * 16 + 12] == 1.0);
    CHECK_EQ_INT(nonzero_count(image_f64, 256), 1);
    /* empty packet: all-zero int64 */
    hf_packet_view empty = {NULL, 0};
    CHECK_EQ_INT(hf_render_shape(&p, &empty, 1, &shape, NULL), HF_OK);
    CHECK_EQ_INT(shape.pixel_type, HF_PIXEL_INT64);
    CHECK_EQ_INT(shape.rows, 16);
    int64_t zeros[257];
    memset(zeros, 0x55, sizeof zeros);
    CHECK_EQ_INT(hf_render_image(&p, &empty, 1, &shape, zeros, NULL), HF_OK);
    int all_zero = 1;
    for (int i = 0; i < 256; i++) all_zero &= zeros[i] == 0;
    CHECK(all_zero);
    CHECK(zeros[256] == 0x5555555555555555LL);
    /* asking for float64 where 1.1.1 gives int64 is a shape mismatch */
    shape.pixel_type = HF_PIXEL_FLOAT64;
    CHECK_EQ_INT(hf_render_image(&p, &empty, 1, &shape, image_f64, NULL), HF_ARGUMENT);
    check_status(__LINE__, &p, ABC, 2, HF_ARGUMENT);
}

static void test_markov_flow(void)
{
    static const uint8_t abab[] = {0xAB, 0xAB};
    static const uint8_t bytes2[] = {0x01, 0x02, 0x01, 0x03};
    hf_packet_view packets[5] = {{abab, 2}, {NULL, 0}, {bytes2, 4}, {abab, 2}, {abab, 2}};
    hf_image_params p = params_of(HF_IMAGE_MARKOV_FLOW, 99, 99);  /* dim, fill unused */
    p.cols = 2;
    /* 1.1.1: (32, 32) float64, nonzeros (10,11) (11,10) (16,1) (16,2) (16,3) (17,0) (18,0) */
    hf_image_shape shape = render_markov(&p, packets, 3);
    CHECK_EQ_INT(shape.rows, 32);
    CHECK_EQ_INT(shape.cols, 32);
    CHECK_EQ_INT(shape.pixel_type, HF_PIXEL_FLOAT64);
    CHECK(image_f64[10 * 32 + 11] == 1.0 && image_f64[11 * 32 + 10] == 1.0);
    CHECK(image_f64[16 * 32 + 1] == 0.5 && image_f64[16 * 32 + 2] == 0.25);
    CHECK(image_f64[16 * 32 + 3] == 0.25);
    CHECK(image_f64[17 * 32 + 0] == 1.0 && image_f64[18 * 32 + 0] == 1.0);
    CHECK_EQ_INT(nonzero_count(image_f64, 32 * 32), 7);
    CHECK(image_f64[32 * 32] != 0.0);  /* sentinel beyond the image untouched */
    /* packets beyond cols^2 ignored: 5 packets in a 2x2 grid; tile 3 = abab */
    render_markov(&p, packets, 5);
    CHECK(image_f64[(16 + 10) * 32 + 16 + 11] == 1.0);
    CHECK_EQ_INT(nonzero_count(image_f64, 32 * 32), 9);

    /* the int64 rule (1.1.1 verified): 4 empty packets in 2x2 -> int64; 3 empty -> float64
     * (a missing np.zeros tile); 4 empty + 1 more non-empty (ignored) -> int64 */
    hf_packet_view empties[5] = {{NULL, 0}, {NULL, 0}, {NULL, 0}, {NULL, 0}, {abab, 2}};
    CHECK_EQ_INT(hf_render_shape(&p, empties, 4, &shape, NULL), HF_OK);
    CHECK_EQ_INT(shape.pixel_type, HF_PIXEL_INT64);
    CHECK_EQ_INT(hf_render_shape(&p, empties, 3, &shape, NULL), HF_OK);
    CHECK_EQ_INT(shape.pixel_type, HF_PIXEL_FLOAT64);
    render_markov(&p, empties, 3);
    CHECK_EQ_INT(nonzero_count(image_f64, 32 * 32), 0);
    CHECK_EQ_INT(hf_render_shape(&p, empties, 5, &shape, NULL), HF_OK);
    CHECK_EQ_INT(shape.pixel_type, HF_PIXEL_INT64);
    static int64_t ints[32 * 32 + 1];
    memset(ints, 0x55, sizeof ints);
    CHECK_EQ_INT(hf_render_image(&p, empties, 5, &shape, ints, NULL), HF_OK);
    int all_zero = 1;
    for (int i = 0; i < 32 * 32; i++) all_zero &= ints[i] == 0;
    CHECK(all_zero);
    CHECK(ints[32 * 32] == 0x5555555555555555LL);
    /* one non-empty among the first cols^2 -> float64 */
    empties[2] = packets[0];
    CHECK_EQ_INT(hf_render_shape(&p, empties, 4, &shape, NULL), HF_OK);
    CHECK_EQ_INT(shape.pixel_type, HF_PIXEL_FLOAT64);
    /* cols 1 */
    p.cols = 1;
    shape = render_markov(&p, packets, 3);
    CHECK_EQ_INT(shape.rows, 16);
    CHECK_EQ_INT(nonzero_count(image_f64, 256), 2);
    /* errors */
    p.cols = 0;
    check_status(__LINE__, &p, packets, 3, HF_ARGUMENT);
    p.cols = -3;
    check_status(__LINE__, &p, packets, 3, HF_ARGUMENT);
    p.cols = 4;
    check_status(__LINE__, &p, NULL, 0, HF_ARGUMENT);
}

static void test_limits(void)
{
    static const uint8_t byte[1] = {7};
    hf_packet_view pkt = {byte, 1};
    hf_image_shape shape;
    hf_image_params p = params_of(HF_IMAGE_PACKET, 46340, 0);  /* 46340^2 < 2^31 */
    CHECK_EQ_INT(hf_render_shape(&p, &pkt, 1, &shape, NULL), HF_OK);
    CHECK_EQ_INT(shape.rows, 46340);
    p.dim = 46341;  /* 46341^2 = 2147488281 > 2^31 */
    check_status(__LINE__, &p, &pkt, 1, HF_LIMIT);
    p.dim = (int64_t)1 << 32;  /* dim*dim overflows 64 bits */
    check_status(__LINE__, &p, &pkt, 1, HF_LIMIT);
    p.dim = INT64_MAX;
    check_status(__LINE__, &p, &pkt, 1, HF_LIMIT);
    /* tiled: cols * dim overflow, cols^2 overflow, and plain too large */
    p = params_of(HF_IMAGE_FLOW_TILED_FIXED, INT64_MAX, 0);
    p.cols = INT64_MAX;
    check_status(__LINE__, &p, &pkt, 1, HF_LIMIT);
    p.dim = 1;
    check_status(__LINE__, &p, &pkt, 1, HF_LIMIT);
    p.dim = 0;  /* (0, 0) image but cols^2 tiles overflow */
    check_status(__LINE__, &p, &pkt, 1, HF_LIMIT);
    p.cols = 8;
    p.dim = 5793;  /* 46344^2 > 2^31 */
    check_status(__LINE__, &p, &pkt, 1, HF_LIMIT);
    p.dim = 5792;  /* 46336^2 < 2^31 */
    check_status(__LINE__, &p, &pkt, 1, HF_OK);
    /* Markov float64: (16 cols)^2 * 8 <= 2^31 <=> cols <= 1024 */
    p = params_of(HF_IMAGE_MARKOV_FLOW, 0, 0);
    p.cols = 1024;
    check_status(__LINE__, &p, &pkt, 1, HF_OK);
    p.cols = 1025;
    check_status(__LINE__, &p, &pkt, 1, HF_LIMIT);
    /* FlowImage: lengths summing past SIZE_MAX (shape never reads the bytes) */
    hf_packet_view huge[2] = {{byte, SIZE_MAX / 2 + 1}, {byte, SIZE_MAX / 2 + 1}};
    p = params_of(HF_IMAGE_FLOW, 16, 0);
    p.append = 1;
    check_status(__LINE__, &p, huge, 2, HF_LIMIT);
    p.append = 0;  /* 2 rows of 2^63 bytes */
    check_status(__LINE__, &p, huge, 2, HF_LIMIT);
    hf_packet_view big[2] = {{byte, 1u << 30}, {byte, 1u << 30}};
    check_status(__LINE__, &p, big, 2, HF_OK);  /* exactly 2^31 bytes */
    check_status(__LINE__, &p, huge, 0, HF_ARGUMENT);
    /* PacketImage auto_dim of a huge length */
    p = params_of(HF_IMAGE_PACKET, 0, 0);
    p.auto_dim = 1;
    check_status(__LINE__, &p, &huge[0], 1, HF_LIMIT);
    /* unknown kind */
    p.kind = (hf_image_kind)42;
    check_status(__LINE__, &p, &pkt, 1, HF_ARGUMENT);
}

static void test_shape_mismatch_and_needs(void)
{
    hf_image_params p = params_of(HF_IMAGE_FLOW_TILED_FIXED, 2, 9);
    p.cols = 2;
    hf_image_shape shape = {4, 5, HF_PIXEL_UINT8};
    memset(image_u8, 0xAA, 32);
    CHECK_EQ_INT(hf_render_image(&p, ABC, 3, &shape, image_u8, NULL), HF_ARGUMENT);
    CHECK_EQ_INT(image_u8[0], 0xAA);  /* nothing written on failure */
    shape.cols = 4;
    CHECK_EQ_INT(hf_render_image(&p, ABC, 3, &shape, NULL, NULL), HF_ARGUMENT);
    CHECK_EQ_INT(hf_render_image(&p, ABC, 3, NULL, image_u8, NULL), HF_ARGUMENT);
    CHECK_EQ_INT(hf_render_shape(NULL, ABC, 3, &shape, NULL), HF_ARGUMENT);
    CHECK_EQ_INT(hf_render_shape(&p, ABC, 3, NULL, NULL), HF_ARGUMENT);

    CHECK(hf_render_bytes_needed(&p) == 4);
    CHECK(hf_render_packets_needed(&p) == 4);
    p.dim = 16;
    p.cols = 8;
    CHECK(hf_render_bytes_needed(&p) == 256);
    CHECK(hf_render_packets_needed(&p) == 64);
    p.kind = HF_IMAGE_PACKET;
    CHECK(hf_render_bytes_needed(&p) == 256);
    CHECK(hf_render_packets_needed(&p) == SIZE_MAX);
    p.auto_dim = 1;
    CHECK(hf_render_bytes_needed(&p) == SIZE_MAX);
    p.kind = HF_IMAGE_FLOW_TILED_AUTO;
    CHECK(hf_render_bytes_needed(&p) == SIZE_MAX);
    p.auto_dim = 0;
    CHECK(hf_render_bytes_needed(&p) == 256);
    CHECK(hf_render_packets_needed(&p) == SIZE_MAX);
    p.kind = HF_IMAGE_FLOW;
    CHECK(hf_render_bytes_needed(&p) == SIZE_MAX);
    p.kind = HF_IMAGE_MARKOV_FLOW;
    CHECK(hf_render_bytes_needed(&p) == SIZE_MAX);
    CHECK(hf_render_packets_needed(&p) == 64);
    p.cols = 0;
    CHECK(hf_render_packets_needed(&p) == SIZE_MAX);
    p.kind = HF_IMAGE_PACKET;
    p.dim = -1;
    CHECK(hf_render_bytes_needed(&p) == SIZE_MAX);
    p.dim = INT64_MAX;
    CHECK(hf_render_bytes_needed(&p) == SIZE_MAX);
    CHECK(hf_render_bytes_needed(NULL) == SIZE_MAX);

    /* truncating to bytes_needed / packets_needed gives the same image */
    static uint8_t long_packet[300];
    for (int i = 0; i < 300; i++) long_packet[i] = (uint8_t)(i * 7);
    hf_packet_view many[70];
    for (int i = 0; i < 70; i++) many[i] = (hf_packet_view){long_packet + i, 300 - (size_t)i};
    p = params_of(HF_IMAGE_FLOW_TILED_FIXED, 4, 3);
    p.cols = 8;
    static uint8_t full_image[32 * 32], cut_image[32 * 32];
    CHECK_EQ_INT(hf_render_shape(&p, many, 70, &shape, NULL), HF_OK);
    CHECK_EQ_INT(hf_render_image(&p, many, 70, &shape, full_image, NULL), HF_OK);
    hf_packet_view cut[64];
    for (int i = 0; i < 64; i++) cut[i] = (hf_packet_view){many[i].data, hf_render_bytes_needed(&p)};
    CHECK_EQ_INT(hf_render_image(&p, cut, hf_render_packets_needed(&p), &shape, cut_image, NULL),
                 HF_OK);
    CHECK(memcmp(full_image, cut_image, sizeof full_image) == 0);
    CHECK_EQ_INT(full_image[0], 0);
    CHECK_EQ_INT(full_image[1], 7);
    CHECK_EQ_INT(full_image[32], 28);      /* tile 0, row 1: byte 4 */
    CHECK_EQ_INT(full_image[4], 7);        /* tile 1 starts at long_packet[1] */
    CHECK_EQ_INT(full_image[31 * 32 + 31], (uint8_t)((63 + 15) * 7));
}

/* job.c's image path: keep limits give the images of the whole packet list, and a batch on two
 * threads gives the one-thread results (files written here: pcap, Ethernet/IPv4/UDP frames). */
static void write_capture(const char *path, int packets, int seed)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f == NULL) return;
    const uint8_t header[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                0xff, 0xff, 0, 0, 1, 0, 0, 0};
    fwrite(header, 1, sizeof header, f);
    uint32_t state = (uint32_t)seed * 2654435761u + 1;
    for (int i = 0; i < packets; i++) {
        uint8_t frame[14 + 20 + 8 + 300];
        size_t payload = (state >> 8) % 300;
        size_t length = 14 + 20 + 8 + payload;
        for (size_t k = 0; k < length; k++) {
            state = state * 1103515245u + 12345u;
            frame[k] = (uint8_t)(state >> 16);
        }
        frame[12] = 0x08; frame[13] = 0x00;                        /* IPv4 */
        frame[14] = 0x45; frame[15] = 0;
        frame[16] = (uint8_t)((length - 14) >> 8); frame[17] = (uint8_t)(length - 14);
        frame[20] = 0x40; frame[21] = 0; frame[22] = 64; frame[23] = 17;   /* DF, ttl, UDP */
        frame[34 + 4] = (uint8_t)((length - 34) >> 8); frame[34 + 5] = (uint8_t)(length - 34);
        uint32_t record[4] = {(uint32_t)i, 0, (uint32_t)length, (uint32_t)length};
        fwrite(record, 4, 4, f);   /* little-endian host, as the magic says */
        fwrite(frame, 1, length, f);
    }
    fclose(f);
}

static int same_images(const hf_image_list *a, const hf_image_list *b)
{
    if (a->count != b->count) return 0;
    for (size_t i = 0; i < a->count; i++) {
        const hf_image *x = &a->items[i], *y = &b->items[i];
        if (x->shape.rows != y->shape.rows || x->shape.cols != y->shape.cols ||
            x->shape.pixel_type != y->shape.pixel_type)
            return 0;
        size_t bytes = x->shape.rows * x->shape.cols * hf_render_pixel_size(x->shape.pixel_type);
        if (bytes && memcmp(x->pixels, y->pixels, bytes) != 0) return 0;
    }
    return 1;
}

static void test_job_images(void)
{
    char paths[4][64];
    const char *path_list[5];
    for (int i = 0; i < 4; i++) {
        snprintf(paths[i], sizeof paths[i], "/tmp/hf-test-render-%d-%d.pcap", (int)(uintptr_t)&paths % 100000, i);
        write_capture(paths[i], 20 + 37 * i, i);
        path_list[i] = paths[i];
    }
    path_list[4] = "/nonexistent/hf-test.pcap";
    hf_job_config config;
    memset(&config, 0, sizeof config);
    config.mode = HF_PREPROCESS_NONE;
    hf_anonymizer_init(&config.anonymizer, HF_ANONYMIZE_RANDOM, 5);
    config.scapy_compat = 1;
    const hf_image_params kinds[4] = {
        {HF_IMAGE_FLOW_TILED_FIXED, 4, 7, 0, 0, 3},
        {HF_IMAGE_MARKOV_FLOW, 0, 0, 0, 0, 2},
        {HF_IMAGE_FLOW_TILED_AUTO, 5, 1, 0, 0, 0},
        {HF_IMAGE_PACKET, 6, 2, 0, 0, 0},
    };
    for (int k = 0; k < 4; k++) {
        for (int64_t min_packets = 0; min_packets <= 60; min_packets += 30) {
            hf_image_request request = {kinds[k], 0, 0, min_packets, k == 2 ? 7 : 0};
            for (int i = 0; i < 4; i++) {
                /* whole list, then render */
                hf_packet_list all;
                hf_packet_list_init(&all);
                hf_error error, damage;
                CHECK_EQ_INT(hf_job_read_file(paths[i], &config, &all, &damage, &error), HF_OK);
                hf_image_list want, got;
                hf_image_list_init(&want);
                hf_image_list_init(&got);
                CHECK_EQ_INT(hf_job_render(&all, &request, &want, &error), HF_OK);
                size_t packets = 0;
                CHECK_EQ_INT(hf_job_extract_file(paths[i], &config, &request, &got, &packets,
                                                 &damage, &error), HF_OK);
                CHECK_EQ_INT(packets, all.count);
                CHECK(same_images(&want, &got));
                /* a list cut for another image is refused, not misdrawn */
                hf_job_config cut = config;
                hf_job_config_keep_for_image(&cut, &kinds[0]);
                hf_packet_list limited;
                hf_packet_list_init(&limited);
                CHECK_EQ_INT(hf_job_read_file(paths[i], &cut, &limited, &damage, &error), HF_OK);
                CHECK_EQ_INT(limited.total, all.count);
                CHECK(limited.count <= 9);
                hf_image_list other;
                hf_image_list_init(&other);
                hf_image_request flow = {{HF_IMAGE_FLOW, 0, 0, 0, 0, 0}, 0, 0, 0, 0};
                if (limited.count < limited.total)
                    CHECK_EQ_INT(hf_job_render(&limited, &flow, &other, &error), HF_ARGUMENT);
                hf_image_list_free(&other);
                hf_packet_list_free(&limited);
                hf_image_list_free(&want);
                hf_image_list_free(&got);
                hf_packet_list_free(&all);
            }
            hf_file_result one[5], two[5];
            hf_job_extract_files(path_list, 5, &config, &request, 1, one);
            hf_job_extract_files(path_list, 5, &config, &request, 2, two);
            for (int i = 0; i < 5; i++) {
                CHECK_EQ_INT(one[i].status, two[i].status);
                CHECK(same_images(&one[i].images, &two[i].images));
                CHECK_EQ_INT(one[i].packets, two[i].packets);
            }
            CHECK_EQ_INT(one[4].status, HF_NOTFOUND);
            hf_file_results_free(one, 5);
            hf_file_results_free(two, 5);
        }
    }
    for (int i = 0; i < 4; i++) remove(paths[i]);
}

/* The bytes hf_job_write_files must have written for `image`: its 8-bit grey pixels
 * encoded by `encoder` (the writer's own steps, each tested in test_png.c). */
static int file_holds_png_of(const char *path, const hf_image *image, hf_png_encoder *encoder)
{
    size_t n = image->shape.rows * image->shape.cols;
    uint8_t *gray = malloc(n ? n : 1);
    hf_error error;
    if (image->shape.pixel_type == HF_PIXEL_UINT8) memcpy(gray, image->pixels, n);
    else if (image->shape.pixel_type == HF_PIXEL_FLOAT64)
        hf_png_gray8_from_float64(image->pixels, n, gray);
    else if (hf_png_gray8_from_int64(image->pixels, n, gray, &error) != HF_OK) n = 0;
    hf_buf want = HF_BUF_INIT;
    int same = n > 0 && hf_png_encoder_encode(encoder, gray, image->shape.cols,
                                              image->shape.rows, image->shape.cols, &want,
                                              &error) == HF_OK;
    FILE *f = fopen(path, "rb");
    same = same && f != NULL;
    if (same) {
        uint8_t *got = malloc(want.length + 1);
        same = fread(got, 1, want.length + 1, f) == want.length &&
               memcmp(got, want.data, want.length) == 0;
        free(got);
    }
    if (f) fclose(f);
    hf_buf_free(&want);
    free(gray);
    return same;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* hf_job_write_files: fip's names, the bytes of the extracted images' PNGs, directories made,
 * a file's first image written last (so a failed write leaves it out), failures per file and
 * the cancel flag. */
static void test_job_write_files(void)
{
    char root[] = "/tmp/hf-test-write-XXXXXX";
    CHECK(mkdtemp(root) != NULL);
    char captures[3][96], prefixes[4][128];
    for (int i = 0; i < 3; i++) {
        snprintf(captures[i], sizeof captures[i], "%s/cap%d.pcap", root, i);
        write_capture(captures[i], 5 + 4 * i, 11 + i);
        snprintf(prefixes[i], sizeof prefixes[i], "%s/out/sub%d/deeper/cap%d.pcap", root, i, i);
    }
    snprintf(prefixes[3], sizeof prefixes[3], "%s/out/missing.pcap", root);
    hf_image_file files[4] = {{captures[0], prefixes[0]}, {captures[1], prefixes[1]},
                              {captures[2], prefixes[2]}, {"/nonexistent/hf.pcap", prefixes[3]}};
    hf_job_config config;
    memset(&config, 0, sizeof config);
    config.mode = HF_PREPROCESS_NONE;
    hf_anonymizer_init(&config.anonymizer, HF_ANONYMIZE_ZERO, 0);
    config.packet_limit = 64;
    config.scapy_compat = 1;
    hf_png_options options = {6, -1};
    hf_png_encoder *encoder = NULL, *reference = NULL;
    hf_error error;
    CHECK_EQ_INT(hf_png_encoder_new(&options, &encoder, &error), HF_OK);
    CHECK_EQ_INT(hf_png_encoder_new(&options, &reference, &error), HF_OK);
    const hf_image_params kinds[3] = {
        {HF_IMAGE_PACKET, 6, 2, 0, 0, 0},            /* uint8, one image per packet, numbered */
        {HF_IMAGE_MARKOV_FLOW, 0, 0, 0, 0, 2},       /* float64 -> trunc(255 p) */
        {HF_IMAGE_FLOW_TILED_FIXED, 4, 7, 0, 0, 3},  /* one image: 1.1.1's plain name */
    };
    char name[200];
    for (int k = 0; k < 3; k++) {
        int numbered = kinds[k].kind == HF_IMAGE_PACKET;
        hf_image_request request = {kinds[k], 0, 0, 0, 0};
        hf_write_request write = {numbered, encoder, NULL};
        hf_written_file results[4];
        hf_job_write_files(files, 4, &config, &request, &write, results);
        for (int i = 0; i < 3; i++) {
            CHECK_EQ_INT(results[i].status, HF_OK);
            CHECK(results[i].failed_output == NULL);
            hf_image_list want;
            hf_image_list_init(&want);
            size_t packets = 0;
            hf_error damage;
            CHECK_EQ_INT(hf_job_extract_file(captures[i], &config, &request, &want, &packets,
                                             &damage, &error), HF_OK);
            CHECK_EQ_INT(results[i].images, want.count);
            CHECK_EQ_INT(results[i].packets, packets);
            CHECK_EQ_INT(want.count, numbered ? (size_t)(5 + 4 * i) : 1);
            for (size_t j = 0; j < want.count; j++) {
                if (numbered)
                    snprintf(name, sizeof name, "%s_%05zu_processed.png", prefixes[i], j);
                else
                    snprintf(name, sizeof name, "%s_processed.png", prefixes[i]);
                CHECK(file_holds_png_of(name, &want.items[j], reference));
                CHECK(unlink(name) == 0);
            }
            hf_image_list_free(&want);
        }
        CHECK_EQ_INT(results[3].status, HF_NOTFOUND);
        CHECK(results[3].failed_output == NULL);
        hf_written_files_free(results, 4);
    }
    /* image 2 of cap1 cannot be written (a directory has its name): cap1 fails naming it,
     * images 3.. exist, 1 and 0 (the completion mark) do not; the other files are written */
    hf_image_request packets = {kinds[0], 0, 0, 0, 0};
    hf_write_request write = {1, encoder, NULL};
    snprintf(name, sizeof name, "%s_%05d_processed.png", prefixes[1], 2);
    CHECK(mkdir(name, 0755) == 0);
    hf_written_file results[4];
    hf_job_write_files(files, 3, &config, &packets, &write, results);
    CHECK_EQ_INT(results[0].status, HF_OK);
    CHECK_EQ_INT(results[1].status, HF_IO);
    CHECK_EQ_INT(results[1].error.os_errno, EISDIR);
    CHECK(results[1].failed_output != NULL && strcmp(results[1].failed_output, name) == 0);
    CHECK_EQ_INT(results[2].status, HF_OK);
    hf_written_files_free(results, 3);
    CHECK(rmdir(name) == 0);
    for (int j = 0; j < 9; j++) {
        snprintf(name, sizeof name, "%s_%05d_processed.png", prefixes[1], j);
        CHECK_EQ_INT(exists(name), j >= 3);
        unlink(name);
    }
    for (int i = 0; i < 3; i += 2)
        for (int j = 0; j < 5 + 4 * i; j++) {
            snprintf(name, sizeof name, "%s_%05d_processed.png", prefixes[i], j);
            CHECK(unlink(name) == 0);
        }
    /* cancelled before the call: every file HF_INTERRUPTED, nothing written */
    atomic_int cancel;
    atomic_init(&cancel, 1);
    write.cancel = &cancel;
    hf_job_write_files(files, 3, &config, &packets, &write, results);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(results[i].status, HF_INTERRUPTED);
        snprintf(name, sizeof name, "%s_%05d_processed.png", prefixes[i], 0);
        CHECK(!exists(name));
    }
    hf_written_files_free(results, 3);
    hf_png_encoder_free(encoder);
    hf_png_encoder_free(reference);
    for (int i = 0; i < 3; i++) {
        remove(captures[i]);
        snprintf(name, sizeof name, "%s/out/sub%d/deeper", root, i);
        CHECK(rmdir(name) == 0);   /* empty: no temporary left behind */
        snprintf(name, sizeof name, "%s/out/sub%d", root, i);
        rmdir(name);
    }
    snprintf(name, sizeof name, "%s/out", root);
    CHECK(rmdir(name) == 0);
    CHECK(rmdir(root) == 0);
}

int main(void)
{
    test_packet_image();
    test_flow_image();
    test_tiled_fixed();
    test_tiled_auto();
    test_markov_packet();
    test_markov_flow();
    test_limits();
    test_shape_mismatch_and_needs();
    test_job_images();
    test_job_write_files();
    return CHECK_REPORT();
}
