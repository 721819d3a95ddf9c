/*
 * dissect_http.c -- the pieces of scapy 2.5's HTTP dissector (scapy:layers/http.py:218-265,
 * 479-580) that heifip 1.1.1's output depends on: the request/status line tests of
 * HTTP.guess_payload_class, the header parser _parse_headers and the first-line split
 * (reference-semantics.md §2.4 "HTTP", §2.5.1 "HTTP text", P12, P38).
 *
 * Every byte is read through an hf_cursor over the caller's range.
 */
#include <string.h>

#include "bytes.h"
#include "dissect.h"

/* Python bytes.strip() whitespace: space, \t, \n, \r, \v, \f. */
static int is_python_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x0b || c == 0x0c;
}

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

int hf_http_line_is_utf8(const uint8_t *line, size_t length)
{
    size_t i = 0;
    while (i < length) {
        uint8_t c = line[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint8_t low = 0x80, high = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) need = 1;
        else if (c == 0xe0) { need = 2; low = 0xa0; }
        else if (c == 0xed) { need = 2; high = 0x9f; }       /* no surrogates */
        else if (c >= 0xe1 && c <= 0xef) need = 2;
        else if (c == 0xf0) { need = 3; low = 0x90; }
        else if (c >= 0xf1 && c <= 0xf3) need = 3;
        else if (c == 0xf4) { need = 3; high = 0x8f; }
        else return 0;
        if (length - i - 1 < need) return 0;
        if (line[i + 1] < low || line[i + 1] > high) return 0;
        for (size_t k = 2; k <= need; k++)
            if (line[i + k] < 0x80 || line[i + k] > 0xbf) return 0;
        i += need + 1;
    }
    return 1;
}

/* Python's `$` matches at the end or before one final '\n'; '.' never matches '\n'.  So drop
 * one trailing '\n' and require no other '\n'. */
static size_t dollar_length(const uint8_t *line, size_t length, int *ok)
{
    if (length && line[length - 1] == '\n') length--;
    *ok = memchr(line, '\n', length) == NULL;
    return length;
}

int hf_http_matches_request_line(const uint8_t *line, size_t length)
{
    /* ^(?:OPTIONS|GET|HEAD|POST|PUT|DELETE|TRACE|CONNECT) (?:.+?) HTTP/\d\.\d$ */
    static const char *const methods[] = {"OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE",
                                          "TRACE", "CONNECT"};
    int ok;
    length = dollar_length(line, length, &ok);
    if (!ok || length < 9) return 0;
    const uint8_t *tail = line + length - 9; /* " HTTP/d.d" */
    if (memcmp(tail, " HTTP/", 6) != 0 || !is_digit(tail[6]) || tail[7] != '.' ||
        !is_digit(tail[8]))
        return 0;
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        size_t n = strlen(methods[m]);
        /* method, space, at least one character, then the tail */
        if (length >= n + 1 + 1 + 9 && memcmp(line, methods[m], n) == 0 && line[n] == ' ')
            return 1;
    }
    return 0;
}

int hf_http_matches_status_line(const uint8_t *line, size_t length)
{
    /* ^HTTP/\d\.\d \d\d\d .*$ */
    int ok;
    length = dollar_length(line, length, &ok);
    if (!ok || length < 13) return 0;
    return memcmp(line, "HTTP/", 5) == 0 && is_digit(line[5]) && line[6] == '.' &&
           is_digit(line[7]) && line[8] == ' ' && is_digit(line[9]) && is_digit(line[10]) &&
           is_digit(line[11]) && line[12] == ' ';
}

static void strip(const uint8_t **bytes, size_t *length)
{
    while (*length && is_python_space((*bytes)[0])) {
        (*bytes)++;
        (*length)--;
    }
    while (*length && is_python_space((*bytes)[*length - 1])) (*length)--;
}

/* Borrow the bytes of [offset, offset+length) through a cursor. */
static const uint8_t *borrow(const uint8_t *frame, size_t offset, size_t length)
{
    hf_cursor c = hf_cursor_make(frame, offset + length);
    const uint8_t *p = NULL;
    if (hf_skip(&c, offset) != HF_OK || hf_read_bytes(&c, length, &p) != HF_OK) return NULL;
    return p;
}

/* memchr finds the CRs: every packet of an HTTP body on port 80 is classified, and a bytewise
 * scan of each 1,448-byte segment was the largest cost of dissecting HTTP traffic; the header
 * lookups walk every line of a header block the same way. */
size_t hf_http_find_crlf(const uint8_t *p, size_t from, size_t length)
{
    while (from + 1 < length) {
        const uint8_t *cr = memchr(p + from, '\r', length - 1 - from);
        if (cr == NULL) break;
        from = (size_t)(cr - p);
        if (p[from + 1] == '\n') return from;
        from++;
    }
    return length;
}

static int name_equals(const uint8_t *key, size_t key_length, const char *name)
{
    size_t n = strlen(name);
    if (key_length != n) return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = key[i];
        if (c == '-') c = '_';
        if (c >= 'A' && c <= 'Z') c = (uint8_t)(c - 'A' + 'a');
        if (c != (uint8_t)name[i]) return 0;
    }
    return 1;
}

int hf_dissect_http_header(const uint8_t *frame, size_t offset, size_t length, const char *name,
                           const uint8_t **value, size_t *value_length)
{
    const uint8_t *p = borrow(frame, offset, length);
    int found = 0;
    if (!p) return 0;
    size_t line = hf_http_find_crlf(p, 0, length);
    if (line >= length) return 0; /* headers.split(b"\r\n", 1) needs a CRLF */
    line += 2;
    while (line <= length) {
        size_t line_end = hf_http_find_crlf(p, line, length);
        const uint8_t *text = p + line;
        size_t text_length = line_end - line;
        const uint8_t *colon = memchr(text, ':', text_length);
        if (colon) {
            const uint8_t *key = text;
            size_t key_length = (size_t)(colon - text);
            const uint8_t *v = colon + 1;
            size_t v_length = text_length - key_length - 1;
            strip(&key, &key_length);
            strip(&v, &v_length);
            if (name_equals(key, key_length, name)) {
                *value = v;
                *value_length = v_length;
                found = 1;
            }
        }
        if (line_end >= length) break;
        line = line_end + 2;
    }
    return found;
}

int hf_dissect_http_first_line(const uint8_t *frame, size_t offset, size_t length,
                               const uint8_t *token[3], size_t token_length[3])
{
    const uint8_t *p = borrow(frame, offset, length);
    if (!p) {
        token[0] = frame;
        token_length[0] = 0;
        return 1;
    }
    size_t line_length = hf_http_find_crlf(p, 0, length);
    const uint8_t *line = p;
    strip(&line, &line_length);
    int count = 0;
    size_t i = 0;
    for (;;) {
        size_t start = i;
        if (count == 2) { /* maxsplit = 2: the third token is the rest of the line */
            token[2] = line + start;
            token_length[2] = line_length - start;
            return 3;
        }
        while (i < line_length && !is_python_space(line[i])) i++;
        token[count] = line + start;
        token_length[count] = i - start;
        count++;
        if (i >= line_length) return count;
        while (i < line_length && is_python_space(line[i])) i++;
    }
}
