/*
 * common.c -- status names, error records and the (optionally failure-injecting) allocator.
 * See common.h for the contract.
 */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *hf_status_name(hf_status status)
{
    switch (status) {
    case HF_OK: return "HF_OK";
    case HF_EOF: return "HF_EOF";
    case HF_TRUNCATED: return "HF_TRUNCATED";
    case HF_INVALID: return "HF_INVALID";
    case HF_FORMAT: return "HF_FORMAT";
    case HF_UNSUPPORTED: return "HF_UNSUPPORTED";
    case HF_NOMEM: return "HF_NOMEM";
    case HF_IO: return "HF_IO";
    case HF_NOTFOUND: return "HF_NOTFOUND";
    case HF_LIMIT: return "HF_LIMIT";
    case HF_ARGUMENT: return "HF_ARGUMENT";
    case HF_INTERRUPTED: return "HF_INTERRUPTED";
    }
    return "HF_UNKNOWN_STATUS";
}

void hf_error_clear(hf_error *error)
{
    if (error == NULL) return;
    error->status = HF_OK;
    error->record_index = -1;
    error->byte_offset = -1;
    error->os_errno = 0;
    error->reason[0] = '\0';
}

hf_status hf_error_set(hf_error *error, hf_status status, int64_t record_index,
                       int64_t byte_offset, const char *format, ...)
{
    if (error == NULL) return status;
    error->status = status;
    error->record_index = record_index;
    error->byte_offset = byte_offset;
    va_list args;
    va_start(args, format);
    vsnprintf(error->reason, sizeof error->reason, format, args);
    va_end(args);
    return status;
}

#ifdef HF_ALLOC_TESTING
/* Per-thread so that the countdown of one test thread never fails another's allocations. */
static _Thread_local long allocations_left = -1;

void hf_alloc_fail_after(long n) { allocations_left = n; }

static int allocation_allowed(void)
{
    if (allocations_left < 0) return 1;
    if (allocations_left == 0) return 0;
    allocations_left--;
    return 1;
}
#else
void hf_alloc_fail_after(long n) { (void)n; }
static int allocation_allowed(void) { return 1; }
#endif

void *hf_malloc(size_t size)
{
    if (!allocation_allowed()) return NULL;
    return malloc(size ? size : 1);
}

void *hf_calloc(size_t count, size_t size)
{
    if (!allocation_allowed()) return NULL;
    if (count == 0 || size == 0) return calloc(1, 1);
    return calloc(count, size);
}

void *hf_realloc(void *pointer, size_t size)
{
    if (!allocation_allowed()) return NULL;
    return realloc(pointer, size ? size : 1);
}

void hf_free(void *pointer) { free(pointer); }

/* ---- hf_buf (declared in bytes.h) ---- */
#include "bytes.h"

hf_status hf_buf_reserve(hf_buf *buffer, size_t additional)
{
    size_t needed;
    if (hf_size_add(buffer->length, additional, &needed)) return HF_NOMEM;
    if (needed <= buffer->capacity) return HF_OK;
    size_t capacity = buffer->capacity ? buffer->capacity : 64;
    while (capacity < needed) {
        if (capacity > SIZE_MAX / 2) { capacity = needed; break; }
        capacity *= 2;
    }
    uint8_t *grown = hf_realloc(buffer->data, capacity);
    if (grown == NULL) return HF_NOMEM;
    buffer->data = grown;
    buffer->capacity = capacity;
    return HF_OK;
}

hf_status hf_buf_append(hf_buf *buffer, const void *bytes, size_t n)
{
    if (n == 0) return HF_OK;
    hf_status status = hf_buf_reserve(buffer, n);
    if (status != HF_OK) return status;
    memcpy(buffer->data + buffer->length, bytes, n);
    buffer->length += n;
    return HF_OK;
}

hf_status hf_buf_append_byte(hf_buf *buffer, uint8_t byte)
{
    return hf_buf_append(buffer, &byte, 1);
}

hf_status hf_buf_append_be16(hf_buf *buffer, uint16_t value)
{
    uint8_t b[2] = {(uint8_t)(value >> 8), (uint8_t)value};
    return hf_buf_append(buffer, b, 2);
}

void hf_buf_free(hf_buf *buffer)
{
    hf_free(buffer->data);
    buffer->data = NULL;
    buffer->length = 0;
    buffer->capacity = 0;
}
