/*
 * png.c -- 8-bit greyscale PNG encoder (stb_image_write's row filter + libdeflate) and the
 * atomic file writer.  Contract: png.h.
 *
 * Normative references: PNG specification (ISO/IEC 15948, W3C PNG 2nd edition) sections 5
 * (datastream: signature, chunk = length | type | data | CRC-32 over type and data), 11.2.2
 * (IHDR), 9 (filters); RFC 1950 (zlib stream inside IDAT).  heifip 1.1.1 side:
 * reference-semantics.md section 4.4 (decoded pixels must equal Pillow's output).
 *
 * The file we write:
 *
 *   offset  size  content
 *   0       8     signature 89 50 4E 47 0D 0A 1A 0A
 *   8       4     13 (IHDR length, big endian)
 *   12      4     "IHDR"
 *   16      4     width                     (1 .. 2^31-1)
 *   20      4     height                    (1 .. 2^31-1)
 *   24      1     bit depth 8
 *   25      1     colour type 0 (greyscale)
 *   26      3     compression 0, filter method 0, interlace 0
 *   29      4     CRC-32 of bytes 12..28
 *   33      4     n = zlib stream length
 *   37      4     "IDAT"
 *   41      n     zlib stream of height rows of (filter type byte, width filtered bytes)
 *   41+n    4     CRC-32 of "IDAT" and the stream
 *   45+n    12    00 00 00 00 "IEND" AE 42 60 82
 */
#define _POSIX_C_SOURCE 200809L

#include "png.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libdeflate.h>

/* ---- stb_image_write, private to this file ------------------------------------------------
 * Only stbiw__encode_png_line (one row through one PNG filter) is called.  STBIW_ZLIB_COMPRESS
 * and STBIW_CRC32 point at libdeflate so stb's own deflate and CRC table are not compiled in;
 * its allocations go through hf_malloc.  stb's mutable globals (compression level, forced
 * filter, flip flag) are never written by this file, and the only one the row filter reads,
 * stbi__flip_vertically_on_write, therefore stays 0 -- reading an unchanging static is safe from
 * any thread.  (STBI_WRITE_NO_STDIO is not set: with STB_IMAGE_WRITE_STATIC it leaves
 * stbi_write_hdr_to_func declared but undefined; the unused stdio writers cost nothing.) */
static unsigned char *stb_zlib_compress_libdeflate(unsigned char *data, int data_len,
                                                   int *out_len, int quality);
static unsigned int stb_crc32_libdeflate(unsigned char *buffer, int len)
{
    return libdeflate_crc32(0, buffer, (size_t)len);
}
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBIW_MALLOC(size) hf_malloc(size)
#define STBIW_REALLOC(pointer, size) hf_realloc(pointer, size)
#define STBIW_FREE(pointer) hf_free(pointer)
#define STBIW_ZLIB_COMPRESS stb_zlib_compress_libdeflate
#define STBIW_CRC32 stb_crc32_libdeflate
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#include "stb_image_write.h"
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* STBIW_ZLIB_COMPRESS contract: a STBIW_MALLOC'd zlib stream, or NULL.  Only stb's own writers
 * (unused here) would call it; kept correct anyway. */
static unsigned char *stb_zlib_compress_libdeflate(unsigned char *data, int data_len,
                                                   int *out_len, int quality)
{
    int level = quality < 0 ? 0 : quality > HF_PNG_MAX_LEVEL ? HF_PNG_MAX_LEVEL : quality;
    struct libdeflate_compressor *compressor = libdeflate_alloc_compressor(level);
    if (compressor == NULL || data_len < 0) {
        libdeflate_free_compressor(compressor);
        return NULL;
    }
    size_t bound = libdeflate_zlib_compress_bound(compressor, (size_t)data_len);
    unsigned char *out = bound <= INT_MAX ? hf_malloc(bound) : NULL;
    size_t n = out ? libdeflate_zlib_compress(compressor, data, (size_t)data_len, out, bound) : 0;
    libdeflate_free_compressor(compressor);
    if (n == 0) {
        hf_free(out);
        return NULL;
    }
    *out_len = (int)n;
    return out;
}

/* ---- encoder ---------------------------------------------------------------------------- */

struct hf_png_encoder {
    struct libdeflate_compressor *compressor;  /* owned; for `level` */
    int level;
    int filter;                                /* 0..4 or HF_PNG_FILTER_ADAPTIVE */
    uint8_t *filtered;                         /* owned scratch: (width + 1) * height bytes */
    size_t filtered_capacity;
    hf_buf output;                             /* owned: hf_png_encoder_buffer */
};

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
static const uint8_t png_iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};

hf_png_options hf_png_default_options(void)
{
    hf_png_options options = {HF_PNG_DEFAULT_LEVEL, HF_PNG_DEFAULT_FILTER};
    return options;
}

hf_status hf_png_encoder_new(const hf_png_options *options, hf_png_encoder **out,
                             hf_error *error)
{
    hf_png_options chosen = options ? *options : hf_png_default_options();
    if (out == NULL) return hf_error_set(error, HF_ARGUMENT, -1, -1, "png: NULL output pointer");
    *out = NULL;
    if (chosen.level < 0 || chosen.level > HF_PNG_MAX_LEVEL)
        return hf_error_set(error, HF_ARGUMENT, -1, -1,
                            "png: compression level must be 0..%d, got %d", HF_PNG_MAX_LEVEL,
                            chosen.level);
    if (chosen.filter < HF_PNG_FILTER_ADAPTIVE || chosen.filter > 4)
        return hf_error_set(error, HF_ARGUMENT, -1, -1,
                            "png: filter must be -1 (adaptive) or 0..4, got %d", chosen.filter);
    hf_png_encoder *encoder = hf_calloc(1, sizeof *encoder);
    if (encoder == NULL) return hf_error_set(error, HF_NOMEM, -1, -1, "png: out of memory");
    /* libdeflate allocates with malloc (its allocator hook is process-global, so we leave it
     * alone); a NULL here is out of memory since the level was checked. */
    encoder->compressor = libdeflate_alloc_compressor(chosen.level);
    if (encoder->compressor == NULL) {
        hf_free(encoder);
        return hf_error_set(error, HF_NOMEM, -1, -1, "png: cannot allocate a compressor");
    }
    encoder->level = chosen.level;
    encoder->filter = chosen.filter;
    *out = encoder;
    return HF_OK;
}

void hf_png_encoder_free(hf_png_encoder *encoder)
{
    if (encoder == NULL) return;
    libdeflate_free_compressor(encoder->compressor);
    hf_free(encoder->filtered);
    hf_buf_free(&encoder->output);
    hf_free(encoder);
}

hf_buf *hf_png_encoder_buffer(hf_png_encoder *encoder) { return &encoder->output; }

/* ---- encoder pool ------------------------------------------------------------------------ */

struct hf_png_pool {
    pthread_mutex_t lock;        /* guards idle[0 .. n_idle) */
    size_t max_idle;
    size_t n_idle;
    hf_png_encoder **idle;       /* owned, and so is every encoder in it */
};

hf_status hf_png_pool_new(size_t max_idle, hf_png_pool **out, hf_error *error)
{
    if (out == NULL) return hf_error_set(error, HF_ARGUMENT, -1, -1, "png: NULL output pointer");
    *out = NULL;
    hf_png_pool *pool = hf_calloc(1, sizeof *pool);
    if (pool == NULL) return hf_error_set(error, HF_NOMEM, -1, -1, "png: out of memory");
    pool->idle = hf_calloc(max_idle ? max_idle : 1, sizeof *pool->idle);
    if (pool->idle == NULL) {
        hf_free(pool);
        return hf_error_set(error, HF_NOMEM, -1, -1, "png: out of memory");
    }
    if (pthread_mutex_init(&pool->lock, NULL) != 0) {
        hf_free(pool->idle);
        hf_free(pool);
        return hf_error_set(error, HF_NOMEM, -1, -1, "png: cannot create a mutex");
    }
    pool->max_idle = max_idle;
    *out = pool;
    return HF_OK;
}

void hf_png_pool_free(hf_png_pool *pool)
{
    if (pool == NULL) return;
    for (size_t i = 0; i < pool->n_idle; i++) hf_png_encoder_free(pool->idle[i]);
    pthread_mutex_destroy(&pool->lock);
    hf_free(pool->idle);
    hf_free(pool);
}

hf_status hf_png_pool_take(hf_png_pool *pool, const hf_png_options *options,
                           hf_png_encoder **out, hf_error *error)
{
    hf_png_options chosen = options ? *options : hf_png_default_options();
    if (out == NULL) return hf_error_set(error, HF_ARGUMENT, -1, -1, "png: NULL output pointer");
    *out = NULL;
    if (chosen.filter < HF_PNG_FILTER_ADAPTIVE || chosen.filter > 4)
        return hf_error_set(error, HF_ARGUMENT, -1, -1,
                            "png: filter must be -1 (adaptive) or 0..4, got %d", chosen.filter);
    hf_png_encoder *found = NULL;
    pthread_mutex_lock(&pool->lock);
    for (size_t i = pool->n_idle; i-- > 0;) {   /* most recently given first (warm caches) */
        if (pool->idle[i]->level == chosen.level) {
            found = pool->idle[i];
            pool->idle[i] = pool->idle[--pool->n_idle];
            break;
        }
    }
    pthread_mutex_unlock(&pool->lock);
    if (found == NULL) return hf_png_encoder_new(&chosen, out, error);
    found->filter = chosen.filter;
    *out = found;
    return HF_OK;
}

void hf_png_pool_give(hf_png_pool *pool, hf_png_encoder *encoder)
{
    if (encoder == NULL) return;
    if (pool != NULL) {
        pthread_mutex_lock(&pool->lock);
        if (pool->n_idle < pool->max_idle) {
            pool->idle[pool->n_idle++] = encoder;
            encoder = NULL;
        } else if (pool->n_idle > 0) {
            /* full: evict the oldest (it may be of a level no longer used) */
            hf_png_encoder *oldest = pool->idle[0];
            memmove(pool->idle, pool->idle + 1, (pool->n_idle - 1) * sizeof *pool->idle);
            pool->idle[pool->n_idle - 1] = encoder;
            encoder = oldest;
        }
        pthread_mutex_unlock(&pool->lock);
    }
    hf_png_encoder_free(encoder);
}

static void put_be32(uint8_t *p, uint32_t value)
{
    p[0] = (uint8_t)(value >> 24);
    p[1] = (uint8_t)(value >> 16);
    p[2] = (uint8_t)(value >> 8);
    p[3] = (uint8_t)value;
}

/* Filter row y with PNG filter `type` into dst (width bytes).  stb computes the row address as
 * pixels + stride * y in int, which overflows past 2 GiB, so we hand it a base pointer at most
 * one row back and y in {0, 1}: row 0 (stb maps its filters to the "no prior row" variants) or
 * "row 1 of the two rows starting at the previous row". */
static void filter_row(const uint8_t *row, size_t stride, size_t width, size_t y, int type,
                       uint8_t *dst)
{
    unsigned char *base = (unsigned char *)(y == 0 ? row : row - stride);  /* stb only reads */
    stbiw__encode_png_line(base, (int)stride, (int)width, 2, y == 0 ? 0 : 1, 1, type,
                           (signed char *)dst);
}

/* stb's estimate of how well a filtered row compresses: sum of |byte as signed char|. */
static uint64_t row_cost(const uint8_t *filtered, size_t width)
{
    uint64_t cost = 0;
    for (size_t i = 0; i < width; i++) {
        int value = filtered[i] < 128 ? filtered[i] : 256 - filtered[i];
        cost += (uint64_t)value;
    }
    return cost;
}

/* Filter every row into encoder->filtered (height rows of 1 + width bytes). */
static void filter_image(const hf_png_encoder *encoder, const uint8_t *pixels, size_t width,
                         size_t height, size_t stride)
{
    uint8_t *dst = encoder->filtered;
    const uint8_t *row = pixels;
    for (size_t y = 0; y < height; y++, dst += width + 1, row += stride) {
        int type = encoder->filter;
        if (type == 0) {
            memcpy(dst + 1, row, width);  /* stb's filter 0 is this memcpy, without the call */
        } else if (type > 0) {
            filter_row(row, stride, width, y, type, dst + 1);
        } else {
            /* Adaptive, as stbi_write_png_to_mem: try 0..4 in order, keep the first minimum,
             * redo the best one unless it was the last tried. */
            uint64_t best_cost = UINT64_MAX;
            int best = 0;
            for (int candidate = 0; candidate < 5; candidate++) {
                filter_row(row, stride, width, y, candidate, dst + 1);
                uint64_t cost = row_cost(dst + 1, width);
                if (cost < best_cost) {
                    best_cost = cost;
                    best = candidate;
                }
            }
            if (best != 4) filter_row(row, stride, width, y, best, dst + 1);
            type = best;
        }
        dst[0] = (uint8_t)type;
    }
}

hf_status hf_png_encoder_encode(hf_png_encoder *encoder, const uint8_t *pixels, size_t width,
                                size_t height, size_t stride, hf_buf *out, hf_error *error)
{
    if (encoder == NULL || out == NULL)
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "png: NULL encoder or output buffer");
    out->length = 0;
    if (width == 0 || height == 0)
        return hf_error_set(error, HF_ARGUMENT, -1, -1,
                            "cannot save an empty image (%zu x %zu pixels)", width, height);
    if (pixels == NULL) return hf_error_set(error, HF_ARGUMENT, -1, -1, "png: NULL pixels");
    if (stride == 0) stride = width;
    if (stride < width)
        return hf_error_set(error, HF_ARGUMENT, -1, -1,
                            "png: stride %zu is smaller than the width %zu", stride, width);
    if (width > HF_PNG_MAX_DIMENSION || height > HF_PNG_MAX_DIMENSION)
        return hf_error_set(error, HF_LIMIT, -1, -1,
                            "png: %zu x %zu pixels exceeds PNG's limit of 2^31-1 per side",
                            width, height);
    if (stride > INT_MAX)
        return hf_error_set(error, HF_LIMIT, -1, -1, "png: stride %zu exceeds INT_MAX", stride);

    size_t filtered_size, bound, total;
    if (hf_size_mul(width + 1, height, &filtered_size))
        return hf_error_set(error, HF_LIMIT, -1, -1, "png: image too large");
    bound = libdeflate_zlib_compress_bound(encoder->compressor, filtered_size);
    if (hf_size_add(bound, 8 + 25 + 12 + 12, &total))
        return hf_error_set(error, HF_LIMIT, -1, -1, "png: image too large");

    if (encoder->filtered_capacity < filtered_size) {
        uint8_t *grown = hf_malloc(filtered_size);  /* old content is scratch: no realloc copy */
        if (grown == NULL) return hf_error_set(error, HF_NOMEM, -1, -1, "png: out of memory");
        hf_free(encoder->filtered);
        encoder->filtered = grown;
        encoder->filtered_capacity = filtered_size;
    }
    if (hf_buf_reserve(out, total) != HF_OK)
        return hf_error_set(error, HF_NOMEM, -1, -1, "png: out of memory");

    filter_image(encoder, pixels, width, height, stride);

    uint8_t *p = out->data;
    memcpy(p, png_signature, 8);
    put_be32(p + 8, 13);
    memcpy(p + 12, "IHDR", 4);
    put_be32(p + 16, (uint32_t)width);
    put_be32(p + 20, (uint32_t)height);
    p[24] = 8;  /* bit depth */
    p[25] = 0;  /* colour type: greyscale */
    p[26] = p[27] = p[28] = 0;
    put_be32(p + 29, libdeflate_crc32(0, p + 12, 17));
    memcpy(p + 37, "IDAT", 4);
    size_t zlen = libdeflate_zlib_compress(encoder->compressor, encoder->filtered, filtered_size,
                                           p + 41, bound);
    if (HF_NEVER(zlen == 0))  /* cannot happen: the output has the bound's room */
        return hf_error_set(error, HF_LIMIT, -1, -1, "png: compression did not fit its bound");
    if (zlen > HF_PNG_MAX_IDAT)
        return hf_error_set(error, HF_LIMIT, -1, -1,
                            "png: compressed image (%zu bytes) exceeds one IDAT chunk", zlen);
    put_be32(p + 33, (uint32_t)zlen);
    put_be32(p + 41 + zlen, libdeflate_crc32(0, p + 37, zlen + 4));
    memcpy(p + 45 + zlen, png_iend, sizeof png_iend);
    out->length = 57 + zlen;
    return HF_OK;
}

hf_status hf_png_encode_gray8(const uint8_t *pixels, size_t width, size_t height, size_t stride,
                              const hf_png_options *options, hf_buf *out, hf_error *error)
{
    if (out != NULL) out->length = 0;
    if (width == 0 || height == 0)  /* before allocating anything */
        return hf_error_set(error, HF_ARGUMENT, -1, -1,
                            "cannot save an empty image (%zu x %zu pixels)", width, height);
    hf_png_encoder *encoder = NULL;
    hf_status status = hf_png_encoder_new(options, &encoder, error);
    if (status != HF_OK) return status;
    status = hf_png_encoder_encode(encoder, pixels, width, height, stride, out, error);
    hf_png_encoder_free(encoder);
    return status;
}

/* ---- what save_image writes ------------------------------------------------------------- */

void hf_png_gray8_from_float64(const double *in, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        double t = trunc(in[i] * 255.0);
        out[i] = t >= 255.0 ? 255 : t > 0.0 ? (uint8_t)t : 0;   /* NaN fails both: 0 */
    }
}

hf_status hf_png_gray8_from_int64(const int64_t *in, size_t n, uint8_t *out, hf_error *error)
{
    for (size_t i = 0; i < n; i++) {
        if (in[i] < 0 || in[i] > 255)
            return hf_error_set(error, HF_ARGUMENT, -1, -1,
                                "integer image values must be within 0..255 to be saved as 8-bit");
        out[i] = (uint8_t)in[i];
    }
    return HF_OK;
}

/* ---- atomic file writer ----------------------------------------------------------------- */

static hf_status os_error(hf_error *error, int errno_value, const char *what)
{
    char message[128];
    if (strerror_r(errno_value, message, sizeof message) != 0)
        snprintf(message, sizeof message, "errno %d", errno_value);
    hf_status status = errno_value == ENOENT ? HF_NOTFOUND : HF_IO;
    hf_error_set(error, status, -1, -1, "%s: %s", what, message);
    if (error) error->os_errno = errno_value;
    return status;
}

/* Longest part of the final name copied into the temporary name, so that the temporary name
 * stays below NAME_MAX (255) even for a 255-byte final name. */
#define TEMP_NAME_PREFIX_MAX 160
#define TEMP_NAME_ATTEMPTS 64

static int write_all(int fd, const uint8_t *bytes, size_t length)
{
    while (length > 0) {
        size_t chunk = length < (size_t)1 << 30 ? length : (size_t)1 << 30;
        ssize_t n = write(fd, bytes, chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        bytes += n;
        length -= (size_t)n;
    }
    return 0;
}

/* os.makedirs(exist_ok=True) of path[0 .. length), a directory part ending in '/': every
 * missing component, mode 0777 & ~umask.  0 or an errno (a component that exists but is no
 * directory shows when the file is created: ENOTDIR). */
static int make_directories(const char *path, size_t length)
{
    char *directory = hf_malloc(length + 1);
    if (directory == NULL) return ENOMEM;
    memcpy(directory, path, length);
    directory[length] = '\0';
    int result = 0;
    for (size_t i = 1; i < length && result == 0; i++) {   /* i = 0: the root's '/' */
        if (directory[i] != '/') continue;
        directory[i] = '\0';
        if (mkdir(directory, 0777) != 0 && errno != EEXIST) result = errno;
        directory[i] = '/';
    }
    hf_free(directory);
    return result;
}

static int fsync_directory(const char *directory)
{
    int fd = open(directory, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    int result = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return result;
}

hf_status hf_png_write_file_atomic_ex(const char *path, const uint8_t *bytes, size_t length,
                                      unsigned flags, hf_error *error)
{
    if (path == NULL || path[0] == '\0')
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "png: empty output path");
    if (bytes == NULL && length > 0)
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "png: NULL bytes");

    /* Split "dir/name": the temporary file must live in the same directory (same file system)
     * for rename(2) to be atomic. */
    const char *slash = strrchr(path, '/');
    size_t directory_length = slash ? (size_t)(slash - path) + 1 : 0;  /* including the '/' */
    const char *name = path + directory_length;
    size_t name_length = strlen(name);
    if (name_length > TEMP_NAME_PREFIX_MAX) name_length = TEMP_NAME_PREFIX_MAX;

    size_t temp_size = directory_length + name_length + 64;
    char *temp_path = hf_malloc(temp_size);
    if (temp_path == NULL) return hf_error_set(error, HF_NOMEM, -1, -1, "png: out of memory");

    /* A name no other writer uses: pid + clock + attempt, and O_EXCL settles any collision
     * (two threads of one process in the same nanosecond simply take the next attempt). */
    struct timespec now;
    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) now.tv_sec = now.tv_nsec = 0;
    unsigned long long stamp = (unsigned long long)now.tv_sec * 1000000000ull +
                               (unsigned long long)now.tv_nsec;
    int fd = -1, saved_errno = 0;
    for (int attempt = 0; attempt < TEMP_NAME_ATTEMPTS; attempt++) {
        snprintf(temp_path, temp_size, "%.*s.%.*s.hf-%ld-%llx-%d.tmp", (int)directory_length,
                 path, (int)name_length, name, (long)getpid(), stamp, attempt);
        fd = open(temp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno == ENOENT && (flags & HF_PNG_WRITE_MAKE_DIRS) && directory_length) {
            flags &= ~HF_PNG_WRITE_MAKE_DIRS;   /* once */
            if ((saved_errno = make_directories(path, directory_length)) != 0) break;
            attempt--;
            continue;
        }
        if (fd >= 0 || errno != EEXIST) break;
    }
    if (fd < 0) {
        const char *what = saved_errno ? "cannot create the output directory"
                                       : "cannot create the temporary output file";
        if (!saved_errno) saved_errno = errno;
        hf_free(temp_path);
        if (saved_errno == ENOMEM)
            return hf_error_set(error, HF_NOMEM, -1, -1, "png: out of memory");
        return os_error(error, saved_errno, what);
    }

    hf_status status = HF_OK;
    if ((saved_errno = write_all(fd, bytes, length)) != 0) {
        status = os_error(error, saved_errno, "cannot write the output file");
    } else if ((flags & HF_PNG_WRITE_DURABLE) && fsync(fd) != 0) {
        status = os_error(error, errno, "cannot flush the output file");
    }
    /* close() reports delayed write errors (NFS, quotas): a failure means the data is not safe. */
    if (close(fd) != 0 && status == HF_OK) status = os_error(error, errno, "cannot close the output file");
    if (status == HF_OK && rename(temp_path, path) != 0)
        status = os_error(error, errno, "cannot rename the temporary file onto the output file");
    if (status != HF_OK) {
        unlink(temp_path);  /* never leave a partial file behind */
        hf_free(temp_path);
        return status;
    }
    hf_free(temp_path);

    if (flags & HF_PNG_WRITE_DURABLE) {
        char *directory = hf_malloc(directory_length + 2);
        if (directory == NULL) return hf_error_set(error, HF_NOMEM, -1, -1, "png: out of memory");
        if (directory_length) {
            memcpy(directory, path, directory_length);
            directory[directory_length] = '\0';
        } else {
            memcpy(directory, ".", 2);
        }
        saved_errno = fsync_directory(directory);
        hf_free(directory);
        if (saved_errno != 0)
            return os_error(error, saved_errno, "cannot flush the output directory");
    }
    return HF_OK;
}

hf_status hf_png_write_file_atomic(const char *path, const uint8_t *bytes, size_t length,
                                   hf_error *error)
{
    return hf_png_write_file_atomic_ex(path, bytes, length, 0, error);
}

/* ---- batch writer ------------------------------------------------------------------------ */

typedef struct write_batch {
    hf_png_job *jobs;
    size_t n;
    hf_png_options options;
    hf_png_pool *pool;
    atomic_size_t next;
} write_batch;

static void *write_worker(void *argument)
{
    write_batch *b = argument;
    hf_png_encoder *encoder = NULL;
    hf_error setup_error;
    hf_error_clear(&setup_error);
    hf_status setup = b->pool ? hf_png_pool_take(b->pool, &b->options, &encoder, &setup_error)
                              : hf_png_encoder_new(&b->options, &encoder, &setup_error);
    for (;;) {
        size_t i = atomic_fetch_add(&b->next, 1);
        if (i >= b->n) break;
        hf_png_job *job = &b->jobs[i];
        if (job->pixels == NULL) continue;   /* failed before the batch: left as it is */
        hf_error_clear(&job->error);
        if (setup != HF_OK) {
            job->status = setup;
            job->error = setup_error;
            continue;
        }
        hf_buf *png = hf_png_encoder_buffer(encoder);
        job->status = hf_png_encoder_encode(encoder, job->pixels, job->width, job->height,
                                            job->stride, png, &job->error);
        if (job->status == HF_OK)
            job->status = hf_png_write_file_atomic(job->path, png->data, png->length, &job->error);
    }
    if (b->pool) hf_png_pool_give(b->pool, encoder);
    else hf_png_encoder_free(encoder);
    return NULL;
}

void hf_png_write_files(hf_png_job *jobs, size_t n, const hf_png_options *options,
                        hf_png_pool *pool, int threads)
{
    write_batch b;
    b.jobs = jobs;
    b.n = n;
    b.options = options ? *options : hf_png_default_options();
    b.pool = pool;
    atomic_init(&b.next, 0);
    if (n == 0) return;
    size_t wanted = threads < 1 ? 1 : (size_t)threads;
    if (wanted > HF_PNG_MAX_THREADS) wanted = HF_PNG_MAX_THREADS;
    if (wanted > n) wanted = n;
    pthread_t workers[HF_PNG_MAX_THREADS];
    size_t started = 0;
    while (started + 1 < wanted && pthread_create(&workers[started], NULL, write_worker, &b) == 0)
        started++;
    write_worker(&b);
    for (size_t t = 0; t < started; t++) pthread_join(workers[t], NULL);
}
