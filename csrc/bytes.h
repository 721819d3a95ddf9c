/*
 * bytes.h -- the bounded cursor through which every packet and file byte is read, and the
 * growable byte buffer the stages write into.
 *
 * A cursor is a window [start, start + end) with a read position `pos`.  Every read checks
 * that enough bytes remain by comparing *remaining space* (end - pos >= n, in size_t), never
 * `pos + n <= end`, which can wrap (tcpdump's ND_TTEST_LEN, CERT INT30-C).  A read that does not
 * fit returns HF_TRUNCATED and leaves the cursor unchanged.  Multi-byte values are assembled
 * byte by byte: no alignment assumption, no struct overlaid on packet memory.
 *
 * Entering a protocol layer narrows the window with hf_cursor_narrow() to min(remaining, the
 * length the header claims); the caller learns whether the claim was believed.
 *
 * Thread-safety: cursors and buffers are plain values; use one per thread.
 */
#ifndef HF_BYTES_H
#define HF_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common.h"

typedef struct hf_cursor {
    const uint8_t *start;  /* borrowed: the caller keeps the bytes alive while the cursor is used */
    size_t pos;            /* next byte to read, 0 <= pos <= end */
    size_t end;            /* one past the last readable byte, relative to start */
} hf_cursor;

static inline hf_cursor hf_cursor_make(const uint8_t *data, size_t length)
{
    hf_cursor c = {data, 0, length};
    return c;
}

/* Bytes left to read; never negative. */
static inline size_t hf_cursor_remaining(const hf_cursor *c)
{
    return c->pos <= c->end ? c->end - c->pos : 0;
}

static inline int hf_cursor_has(const hf_cursor *c, size_t n)
{
    return hf_cursor_remaining(c) >= n;
}

/* Peek at the byte `offset` bytes after the position without consuming it. */
static inline hf_status hf_peek_u8(const hf_cursor *c, size_t offset, uint8_t *out)
{
    if (hf_cursor_remaining(c) <= offset) return HF_TRUNCATED;
    *out = c->start[c->pos + offset];
    return HF_OK;
}

static inline hf_status hf_peek_be16(const hf_cursor *c, size_t offset, uint16_t *out)
{
    size_t left = hf_cursor_remaining(c);
    if (left < 2 || left - 2 < offset) return HF_TRUNCATED;
    const uint8_t *p = c->start + c->pos + offset;
    *out = (uint16_t)((p[0] << 8) | p[1]);
    return HF_OK;
}

static inline hf_status hf_peek_be32(const hf_cursor *c, size_t offset, uint32_t *out)
{
    size_t left = hf_cursor_remaining(c);
    if (left < 4 || left - 4 < offset) return HF_TRUNCATED;
    const uint8_t *p = c->start + c->pos + offset;
    *out = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    return HF_OK;
}

/* The big-endian 16-bit value at `at` of a span whose length the caller has checked (a span
 * from hf_read_bytes, or the dissector's hf_dissector_span): a header whose fixed part is present
 * is read field by field after one bounds check. */
static inline uint16_t hf_span_be16(const uint8_t *span, size_t at)
{
    return (uint16_t)((span[at] << 8) | span[at + 1]);
}

static inline hf_status hf_read_u8(hf_cursor *c, uint8_t *out)
{
    if (!hf_cursor_has(c, 1)) return HF_TRUNCATED;
    *out = c->start[c->pos++];
    return HF_OK;
}

static inline hf_status hf_read_be16(hf_cursor *c, uint16_t *out)
{
    if (hf_peek_be16(c, 0, out) != HF_OK) return HF_TRUNCATED;
    c->pos += 2;
    return HF_OK;
}

static inline hf_status hf_read_be32(hf_cursor *c, uint32_t *out)
{
    if (hf_peek_be32(c, 0, out) != HF_OK) return HF_TRUNCATED;
    c->pos += 4;
    return HF_OK;
}

static inline hf_status hf_read_le16(hf_cursor *c, uint16_t *out)
{
    if (!hf_cursor_has(c, 2)) return HF_TRUNCATED;
    const uint8_t *p = c->start + c->pos;
    *out = (uint16_t)(p[0] | (p[1] << 8));
    c->pos += 2;
    return HF_OK;
}

static inline hf_status hf_read_le32(hf_cursor *c, uint32_t *out)
{
    if (!hf_cursor_has(c, 4)) return HF_TRUNCATED;
    const uint8_t *p = c->start + c->pos;
    *out = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    c->pos += 4;
    return HF_OK;
}

/* Borrow `n` bytes at the position (OUT: *out points into the cursor's bytes) and consume them. */
static inline hf_status hf_read_bytes(hf_cursor *c, size_t n, const uint8_t **out)
{
    if (!hf_cursor_has(c, n)) return HF_TRUNCATED;
    *out = c->start + c->pos;
    c->pos += n;
    return HF_OK;
}

/* Copy `n` bytes out and consume them. */
static inline hf_status hf_read_copy(hf_cursor *c, size_t n, uint8_t *out)
{
    if (!hf_cursor_has(c, n)) return HF_TRUNCATED;
    memcpy(out, c->start + c->pos, n);
    c->pos += n;
    return HF_OK;
}

static inline hf_status hf_skip(hf_cursor *c, size_t n)
{
    if (!hf_cursor_has(c, n)) return HF_TRUNCATED;
    c->pos += n;
    return HF_OK;
}

/* A sub-cursor over the next min(claimed, remaining) bytes, starting at the position (the
 * parent is not advanced).  OUT: *believed = 1 when the whole claim was available. */
static inline hf_cursor hf_cursor_narrow(const hf_cursor *c, size_t claimed, int *believed)
{
    size_t left = hf_cursor_remaining(c);
    size_t n = claimed <= left ? claimed : left;
    if (believed) *believed = claimed <= left;
    hf_cursor sub = {c->start + c->pos, 0, n};
    return sub;
}

/* One packet's bytes, borrowed: `data` may be NULL only when `length` is 0.  The currency between
 * the stages that hold packet strings (flows) and the one that draws them (render). */
typedef struct hf_packet_view {
    const uint8_t *data;
    size_t length;
} hf_packet_view;

/* ------------------------------------------------------------------------------------------ */
/* Growable byte buffer.  `data` is owned by the buffer; hf_buf_free releases it.  Growth is
 * geometric with overflow checks; a failed growth leaves the buffer unchanged (HF_NOMEM). */

typedef struct hf_buf {
    uint8_t *data;    /* owned; NULL while capacity == 0 */
    size_t length;
    size_t capacity;
} hf_buf;

#define HF_BUF_INIT {NULL, 0, 0}

hf_status hf_buf_reserve(hf_buf *buffer, size_t additional);
hf_status hf_buf_append(hf_buf *buffer, const void *bytes, size_t n);
hf_status hf_buf_append_byte(hf_buf *buffer, uint8_t byte);
hf_status hf_buf_append_be16(hf_buf *buffer, uint16_t value);
void hf_buf_free(hf_buf *buffer);  /* leaves an empty, reusable buffer */

#endif /* HF_BYTES_H */
