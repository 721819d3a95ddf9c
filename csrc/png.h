/*
 * png.h -- 8-bit greyscale PNG encoding and atomic file writing.
 *
 * Pipeline position: reader -> dissect -> preprocess -> flows -> render -> **png**.  heifip 1.1.1
 * saves its uint8 images with Pillow as 8-bit greyscale PNGs (colour type 0) to
 * "<prefix>_processed.png" (reference-semantics.md section 4.4); only the decoded pixels have to be
 * identical, not the bytes, so we are free to choose filter and compression level.
 *
 * Design (why not stbi_write_png_to_mem): stb_image_write's compression level and filter are the
 * globals stbi_write_png_compression_level / stbi_write_force_png_filter, which cannot be set per
 * call without a race between threads, and its estimator uses int sums and int offsets
 * (stride * y) that overflow for large images.  So png.c includes the stb implementation
 * privately (STB_IMAGE_WRITE_STATIC) only for its PNG row filter stbiw__encode_png_line, runs the
 * per-row filter choice itself (the same minimum-sum-of-absolute-values rule as stb, in 64-bit),
 * and assembles signature, IHDR, one IDAT and IEND itself, compressing with the encoder's own
 * libdeflate compressor (libdeflate_zlib_compress) straight into the output buffer and
 * checksumming with libdeflate_crc32.  Level and filter are fields of the encoder object: no
 * global is read or written, nothing is _Thread_local.  (stb's STBIW_ZLIB_COMPRESS and
 * STBIW_CRC32 are mapped to libdeflate as well, so stb's own deflate is not compiled in.)
 *
 * Thread-safety: an hf_png_encoder is used by one thread at a time (it owns a libdeflate
 * compressor and scratch memory); different encoders run concurrently.  The one-shot functions
 * and the file writer are reentrant.
 */
#ifndef HF_PNG_H
#define HF_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "common.h"

/* Defaults: libdeflate level 1, filter 0 (None) on every row.  Measured on the flow images of
 * the heiFIP test captures (48 files, FlowImageTiledFixed 128x128 and 32x32, 2-core VM):
 *                       128x128 total / us per PNG     32x32 total / us per PNG
 *   Pillow default      45330 B / 617 us               16242 B / 122 us   (zlib 6, adaptive)
 *   level 1, filter 0   40809 B /  57 us               14446 B /  12 us   <- default
 *   level 6, filter 0   38569 B /  55 us               14039 B /  16 us
 *   level 1, adaptive   46010 B / 176 us               16134 B /  21 us
 *   level 6, adaptive   43693 B / 174 us               15731 B /  26 us
 * Packet bytes are not smooth, so the adaptive heuristic (made for photos) makes files larger
 * and costs 3x the time; filter 0 is both smaller and faster.  Level 1 already beats Pillow's
 * size by 10 %; level 6 saves 5 % more but on dense images (every tile full) takes 4.7x as long
 * (288 vs 61 us for 128x128), and a few hundred bytes are invisible on disk (4 KiB blocks).  The
 * issue's speed target (pipeline >= 50 % of a bare libpcap loop) decides: level 1. */
#define HF_PNG_DEFAULT_LEVEL 1
#define HF_PNG_DEFAULT_FILTER 0
#define HF_PNG_MAX_LEVEL 12
#define HF_PNG_FILTER_ADAPTIVE (-1)  /* per row, minimum sum of |signed byte| (stb, Pillow-like) */
#define HF_PNG_MAX_DIMENSION 2147483647u  /* PNG: width, height <= 2^31 - 1 (PNG spec 11.2.2) */
#define HF_PNG_MAX_IDAT 2147483647u       /* one IDAT chunk; we write exactly one */

typedef struct hf_png_options {
    int level;   /* libdeflate level 0..12 (0 = stored, no compression) */
    int filter;  /* 0..4 = PNG filter type for every row, -1 = adaptive per row */
} hf_png_options;

/* {HF_PNG_DEFAULT_LEVEL, HF_PNG_DEFAULT_FILTER}. */
hf_png_options hf_png_default_options(void);

typedef struct hf_png_encoder hf_png_encoder;

/*
 * A reusable encoder: holds a libdeflate compressor for options->level (allocating one costs
 * more than compressing a 16x16 image) and grows scratch memory as needed.
 *   options : NULL = hf_png_default_options().
 *   OUT: *out : the new encoder, owned by the caller (hf_png_encoder_free); NULL on failure.
 * Errors: HF_ARGUMENT (level outside 0..12, filter outside -1..4, out NULL), HF_NOMEM.
 */
hf_status hf_png_encoder_new(const hf_png_options *options,
                             hf_png_encoder **out,
                             hf_error *error);

/* Free an encoder; NULL is allowed. */
void hf_png_encoder_free(hf_png_encoder *encoder);

/*
 * Encode width x height 8-bit grey pixels as a PNG.
 *   pixels : row y starts at pixels + y * stride; only read.
 *   stride : bytes between row starts, >= width (0 means width).
 *   out    : OUT: out->data[0 .. out->length) is the PNG file; the previous content is replaced,
 *            its memory reused.  On failure out->length is 0 and out stays valid (free it with
 *            hf_buf_free as usual).
 * Errors: HF_ARGUMENT (width or height 0: "cannot save an empty image" -- 1.1.1 cannot save a
 * (0, 0) image either, section 3.1; NULL pixels; stride < width), HF_LIMIT (width or height
 * > 2^31 - 1, stride > INT_MAX, compressed data > HF_PNG_MAX_IDAT), HF_NOMEM.
 */
hf_status hf_png_encoder_encode(hf_png_encoder *encoder,
                                const uint8_t *pixels,
                                size_t width,
                                size_t height,
                                size_t stride,
                                hf_buf *out,
                                hf_error *error);

/* One-shot form of the above (a temporary encoder; options NULL = defaults).  Same errors. */
hf_status hf_png_encode_gray8(const uint8_t *pixels,
                              size_t width,
                              size_t height,
                              size_t stride,
                              const hf_png_options *options,
                              hf_buf *out,
                              hf_error *error);

/* The encoder's own output buffer, for callers that encode one image at a time and copy the
 * PNG out (module.c): pass it as `out` to keep its memory across calls.  Owned by the encoder,
 * valid until hf_png_encoder_free. */
hf_buf *hf_png_encoder_buffer(hf_png_encoder *encoder);

/*
 * A thread-safe pool of idle encoders, so that one-image calls do not allocate a compressor per
 * image (28 vs 18 us for a 16x16 image, tests/c/test_png.c).  Any number of threads may take
 * and give concurrently (one mutex, held only to pop or push a pointer); an encoder taken is
 * used by that thread alone until it is given back.  At most `max_idle` idle encoders are kept
 * (more are freed on return), so the pool holds at most max_idle compressors (~0.5-1 MiB each
 * at levels 1-9).
 */
typedef struct hf_png_pool hf_png_pool;

/* OUT: *out (owned: hf_png_pool_free).  Errors: HF_ARGUMENT (out NULL), HF_NOMEM (also when
 * the mutex cannot be created). */
hf_status hf_png_pool_new(size_t max_idle, hf_png_pool **out, hf_error *error);

/* Free the pool and its idle encoders; NULL is allowed.  Encoders still taken are not the
 * pool's: their takers free them (hf_png_encoder_free) instead of giving them back. */
void hf_png_pool_free(hf_png_pool *pool);

/* An encoder for `options` (NULL = defaults): an idle one of the same level (its filter is set
 * to options->filter) or a new one.  OUT: *out, owned by the caller until hf_png_pool_give.
 * Errors: as hf_png_encoder_new. */
hf_status hf_png_pool_take(hf_png_pool *pool,
                           const hf_png_options *options,
                           hf_png_encoder **out,
                           hf_error *error);

/* Give an encoder back (NULL is allowed); the pool frees it when it already holds max_idle. */
void hf_png_pool_give(hf_png_pool *pool, hf_png_encoder *encoder);

/* One image of a batch write (hf_png_write_files). */
typedef struct hf_png_job {
    const char *path;          /* borrowed */
    const uint8_t *pixels;     /* borrowed; row y at pixels + y * stride; NULL = skip this job
                                  (its status and error are left as they are) */
    size_t width, height, stride;
    hf_status status;          /* OUT */
    hf_error error;            /* OUT, when status != HF_OK */
} hf_png_job;

/* The largest number of threads hf_png_write_files starts. */
#define HF_PNG_MAX_THREADS 64

/* Encode and write (hf_png_write_file_atomic) jobs[0..n) with `options` (NULL = defaults) on
 * `threads` threads (<= 1: the calling thread only; at most HF_PNG_MAX_THREADS and n), each with
 * one encoder from `pool` (may be NULL: encoders of their own).  Every job gets its own status;
 * a failure does not stop the others.  Jobs are handed out in order; the files written do not
 * depend on the thread count.  When a thread cannot be started, the others do its share. */
void hf_png_write_files(hf_png_job *jobs,
                        size_t n,
                        const hf_png_options *options,
                        hf_png_pool *pool,
                        int threads);

/* The 8-bit grey values heifip's save_image writes (reference-semantics.md §4.4; Python's
 * heifip.extractor.as_gray8), for n pixels into out[0..n):
 *   float64 p -> trunc(255 p) clipped to 0..255, NaN 0 (NumPy's
 *                nan_to_num(clip(trunc(a * 255.0), 0, 255)).astype(uint8)); never fails;
 *   int64 v   -> v, when every v is in 0..255; otherwise HF_ARGUMENT ("integer image values must
 *                be within 0..255 to be saved as 8-bit"), out then undefined. */
void hf_png_gray8_from_float64(const double *in, size_t n, uint8_t *out);
hf_status hf_png_gray8_from_int64(const int64_t *in, size_t n, uint8_t *out, hf_error *error);

/* Flags of hf_png_write_file_atomic_ex. */
#define HF_PNG_WRITE_DURABLE 1u  /* fsync the file before and its directory after the rename */
#define HF_PNG_WRITE_MAKE_DIRS 2u  /* create the missing directories of `path` (mode 0777 &
                                      ~umask, as os.makedirs), only when the file is written */

/*
 * Write `length` bytes to `path` so that no half-written file is ever visible under `path`:
 * the bytes go to a new temporary file in the same directory (".<name>.hf-<pid>-<n>.tmp",
 * created with O_EXCL and mode 0666 & ~umask like Pillow's open(path, "wb")), which is then
 * renamed over `path` (an existing file is replaced, as 1.1.1 does).  On any failure the
 * temporary file is removed and `path` is untouched.  Creates no directories (but see
 * HF_PNG_WRITE_MAKE_DIRS).
 *
 * No fsync by default: rename alone already hides partial files from every reader; fsync only
 * adds durability across a power loss, costs a disk flush per image (measured: see
 * tests/c/test_png.c: 7.5 ms instead of ~0.1 ms per file on this VM's ext4) and Pillow does
 * not do it either.  hf_png_write_file_atomic_ex with
 * HF_PNG_WRITE_DURABLE adds fsync of the file and of the directory.
 *
 * Errors: HF_ARGUMENT (NULL path, NULL bytes with length > 0, empty path), HF_NOTFOUND (the
 * directory does not exist; error->os_errno = ENOENT), HF_IO (any other system error, errno in
 * error->os_errno), HF_NOMEM.
 */
hf_status hf_png_write_file_atomic(const char *path,
                                   const uint8_t *bytes,
                                   size_t length,
                                   hf_error *error);

hf_status hf_png_write_file_atomic_ex(const char *path,
                                      const uint8_t *bytes,
                                      size_t length,
                                      unsigned flags,
                                      hf_error *error);

#endif /* HF_PNG_H */
