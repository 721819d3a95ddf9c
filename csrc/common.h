/*
 * common.h -- status codes, error records and the allocator shared by every stage of the
 * heifip C core.
 *
 * Pipeline: reader -> dissect -> preprocess -> flows -> render -> png.  Every stage returns an
 * hf_status and, on failure, fills a caller-provided hf_error; no stage prints, aborts, keeps
 * global state or includes Python.h.  Only csrc/module.c (the binding) turns statuses into
 * Python exceptions (heifip.errors).
 *
 * Allocation goes through hf_malloc/hf_calloc/hf_realloc/hf_free so that tests can make the N-th
 * allocation fail (hf_alloc_fail_after, a per-thread countdown compiled in only with
 * HF_ALLOC_TESTING) and walk every error path, as SQLite's test_malloc.c does.
 */
#ifndef HF_COMMON_H
#define HF_COMMON_H

#include <stddef.h>
#include <stdint.h>

typedef enum hf_status {
    HF_OK = 0,
    HF_EOF,          /* no more records: a normal end, not an error */
    HF_TRUNCATED,    /* ran out of captured/available bytes */
    HF_INVALID,      /* a field contradicts its protocol or file format */
    HF_FORMAT,       /* not a capture file we can read (bad magic, unsupported version) */
    HF_UNSUPPORTED,  /* well-formed but not handled (e.g. an unknown link type where one is needed) */
    HF_NOMEM,        /* an allocation failed */
    HF_IO,           /* the operating system reported a read/write error (errno kept) */
    HF_NOTFOUND,     /* a file does not exist */
    HF_LIMIT,        /* a named limit was exceeded (e.g. HF_MAX_RECORD_LENGTH) */
    HF_ARGUMENT,     /* the caller passed an invalid argument (a bug in the caller or bad user input) */
    HF_INTERRUPTED   /* the caller asked the job to stop */
} hf_status;

/* Name of a status ("HF_TRUNCATED"); never NULL. */
const char *hf_status_name(hf_status status);

#define HF_ERROR_REASON_MAX 240

/* What went wrong and where.  Filled by the stage that failed; the caller owns the struct. */
typedef struct hf_error {
    hf_status status;                    /* HF_OK while nothing has been recorded */
    int64_t record_index;                /* 0-based record/packet index, -1 when not applicable */
    int64_t byte_offset;                 /* offset in the file or packet, -1 when not applicable */
    int os_errno;                        /* errno for HF_IO/HF_NOTFOUND, else 0 */
    char reason[HF_ERROR_REASON_MAX];    /* human-readable, NUL-terminated, no file name */
} hf_error;

/* Reset an error record to "nothing recorded". */
void hf_error_clear(hf_error *error);

/* Record an error (printf-style reason) and return `status`, so that a stage can write
 * `return hf_error_set(err, HF_INVALID, i, off, "...")`.  `error` may be NULL. */
hf_status hf_error_set(hf_error *error, hf_status status, int64_t record_index,
                       int64_t byte_offset, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* Defensive-only branches (SQLite's ALWAYS/NEVER): the condition is evaluated exactly once in
 * every build and its truth value returned -- so it may have side effects (a checked read) --
 * and a debug build (HF_DEBUG without NDEBUG) also asserts that it has the expected value.
 * (An earlier `(assert(x), 1)` form skipped x entirely when NDEBUG was set, as it is for Python
 * extensions: the sanitizer build caught it.) */
#if defined(HF_DEBUG)
#include <assert.h>
#define HF_ALWAYS(x) ((x) ? 1 : (assert(0 && "HF_ALWAYS: " #x), 0))
#define HF_NEVER(x) ((x) ? (assert(0 && "HF_NEVER: " #x), 1) : 0)
#else
#define HF_ALWAYS(x) ((x) ? 1 : 0)
#define HF_NEVER(x) ((x) ? 1 : 0)
#endif

/* Force inlining where a call site's constant arguments must specialise the body (GCC's
 * partial inlining otherwise keeps one generic out-of-line copy). */
#if defined(__GNUC__)
#define HF_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define HF_ALWAYS_INLINE inline
#endif

/* Allocation.  hf_free(NULL) does nothing.  hf_realloc returns NULL on failure and leaves the
 * old block valid (unlike a bare `p = realloc(p, n)` leak). */
void *hf_malloc(size_t size);
void *hf_calloc(size_t count, size_t size);
void *hf_realloc(void *pointer, size_t size);
void hf_free(void *pointer);

/* Test hook: after `n` more successful allocations on this thread, fail every allocation;
 * n < 0 disables.  A no-op unless built with HF_ALLOC_TESTING. */
void hf_alloc_fail_after(long n);

/* Checked size arithmetic: return 0 and store the result, or 1 on overflow. */
static inline int hf_size_add(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b) return 1;
    *out = a + b;
    return 0;
}
static inline int hf_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return 1;
    *out = a * b;
    return 0;
}

#endif /* HF_COMMON_H */
