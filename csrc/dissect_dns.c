/*
 * dissect_dns.c -- scapy 2.5's DNS dissection (scapy:layers/dns.py:338-560), reduced to what
 * heifip 1.1.1 depends on: does the payload dissect as DNS or become Raw, how long is the DNS
 * layer (bytes after it are Raw), and the records of each section for HEADER mode
 * (reference-semantics.md §2.4 "DNS", §2.5 "DNS", P13-P15).
 *
 * Message layout: [length(2), TCP only] id(2) flags(2) qdcount(2) ancount(2) nscount(2)
 * arcount(2), then the sections.  scapy resolves names in `s` = the bytes after the 12-byte
 * header (pointer - 12), with Python's negative indexing.  A question is name + qtype(2) +
 * qclass(2); a resource record is name + type(2) class(2) ttl(4) rdlength(2) + rdata.
 *
 * Quirks reproduced (scapy 2.5 DNSRRField.getfield / decodeRR / dns_get_str):
 *   - a count larger than len(s) makes the section b"" and the NEXT section restarts at offset
 *     0 of s (the (s, p) tuple is not passed on); for the ar section the whole of s is then left
 *     over, i.e. becomes Raw;
 *   - a question whose 4 fixed bytes are cut keeps defaults when 0 or 2 bytes remain, fails
 *     (Raw) for 1 or 3; a record needs all 10 fixed bytes;
 *   - compression pointers are followed once each; offsets may be negative (-12..-1) and then
 *     index from the end, as Python does.
 */
#include <string.h>

#include "bytes.h"
#include "dissect.h"

/* Pointer targets are ((c & 0x3f) << 8) + b - 12, i.e. in [-12, 16371]. */
#define POINTER_BIAS 12
#define POINTER_SLOTS (16384 + POINTER_BIAS)

typedef struct name_walk {
    const uint8_t *s;
    long length;
} name_walk;

/* Python s[i] for one index; 0 when out of range (callers check the range first). */
static int python_index(const name_walk *w, long i, uint8_t *value)
{
    if (i < 0) i += w->length;
    if (i < 0 || i >= w->length) return 0;
    hf_cursor c = hf_cursor_make(w->s, (size_t)w->length);
    return hf_peek_u8(&c, (size_t)i, value) == HF_OK;
}

/* Python s[start:stop] bounds. */
static void python_slice(long length, long start, long stop, long *from, long *to)
{
    if (start < 0) start = start + length < 0 ? 0 : start + length;
    else if (start > length) start = length;
    if (stop < 0) stop = stop + length < 0 ? 0 : stop + length;
    else if (stop > length) stop = length;
    *from = start;
    *to = stop > start ? stop : start;
}

/* dns_get_str(s, pointer, _fullpacket=True).  OUT: *end = the returned index.  `sink` may be
 * NULL.  Returns HF_OK or the sink's status. */
static hf_status get_name(const name_walk *w, long pointer, long *end, hf_dns_name_sink sink,
                          void *context)
{
    uint8_t processed[POINTER_SLOTS / 8];
    memset(processed, 0, sizeof processed);
    long after_pointer = -1;
    int have_after = 0;
    for (;;) {
        long magnitude = pointer < 0 ? -pointer : pointer;
        if (magnitude >= w->length) break;
        uint8_t cur = 0;
        if (!python_index(w, pointer, &cur)) break;
        pointer++;
        if (cur & 0xc0) {
            if (!have_after) {
                after_pointer = pointer + 1;
                have_after = 1;
            }
            if (pointer >= w->length) break;
            uint8_t low = 0;
            if (!python_index(w, pointer, &low)) break;
            pointer = ((long)(cur & 0x3f) << 8) + low - POINTER_BIAS;
            size_t slot = (size_t)(pointer + POINTER_BIAS);
            if (processed[slot / 8] & (1u << (slot % 8))) break; /* decompression loop */
            processed[slot / 8] |= (uint8_t)(1u << (slot % 8));
            continue;
        } else if (cur > 0) {
            long from, to;
            python_slice(w->length, pointer, pointer + cur, &from, &to);
            if (sink) {
                hf_status status = HF_OK;
                if (to > from) status = sink(context, w->s + from, (size_t)(to - from));
                if (status == HF_OK) status = sink(context, (const uint8_t *)".", 1);
                if (status != HF_OK) return status;
            }
            pointer += cur;
        } else {
            break;
        }
    }
    *end = have_after ? after_pointer : pointer;
    return HF_OK;
}

hf_status hf_dissect_dns_name(const uint8_t *message, size_t message_length, size_t name_offset,
                              hf_dns_name_sink sink, void *context)
{
    name_walk w = {message, (long)message_length};
    long end;
    return get_name(&w, (long)name_offset, &end, sink, context);
}

/* Python bytes slice length s[p:p+n] for p >= 0. */
static long slice_length(long length, long p, long n)
{
    if (p >= length) return 0;
    return p + n <= length ? n : length - p;
}

hf_status hf_dissect_dns_walk(const uint8_t *payload, size_t length, int over_tcp,
                              hf_dns_record_visitor visitor, void *context, hf_dns_walk *walk)
{
    memset(walk, 0, sizeof *walk);
    hf_cursor c = hf_cursor_make(payload, length);
    size_t prefix = 0;
    if (over_tcp) {
        /* DNS.pre_dissect: a length below 14 or beyond the data is a Scapy_Exception. */
        uint16_t dns_length;
        if (hf_read_be16(&c, &dns_length) != HF_OK) return HF_OK;
        if (dns_length < 14 || length < dns_length) return HF_OK;
        prefix = 2;
    }
    size_t header_available = hf_cursor_remaining(&c);
    if (header_available < 12) {
        /* Fields stop at a boundary -> defaults; a field cut in the middle -> Raw. */
        static const uint8_t boundaries[] = {0, 2, 3, 4, 6, 8, 10};
        int ok = 0;
        for (size_t i = 0; i < sizeof boundaries; i++)
            if (boundaries[i] == header_available) ok = 1;
        if (!ok) return HF_OK;
        walk->valid = 1;
        walk->partial = 1;
        walk->dns_length = length;
        walk->section_present[0] = 1; /* qd defaults to DNSQR() */
        return HF_OK;
    }
    uint16_t counts[4];
    if (hf_skip(&c, 4) != HF_OK) return HF_OK;
    for (int i = 0; i < 4; i++)
        if (hf_read_be16(&c, &counts[i]) != HF_OK) return HF_OK;
    const uint8_t *s = NULL;
    size_t s_length = hf_cursor_remaining(&c);
    if (hf_read_bytes(&c, s_length, &s) != HF_OK) return HF_OK;
    name_walk w = {s, (long)s_length};
    long p = 0;
    long leftover_from = -1; /* where the bytes after the DNS layer start in s */
    for (int section = 0; section < 4; section++) {
        long count = counts[section];
        if (count > w.length) {
            /* `return s, b""`: the next section gets plain s and starts at 0 again; after ar
             * the whole of s is left over. */
            p = 0;
            if (section == 3) leftover_from = 0;
            continue;
        }
        while (count--) {
            long name_end;
            hf_status status = get_name(&w, p, &name_end, NULL, NULL);
            if (status != HF_OK) return status;
            long name_start = p;
            p = name_end;
            uint16_t type = 1;
            if (section == 0) {
                long fixed = slice_length(w.length, p, 4);
                if (fixed == 1 || fixed == 3) return HF_OK; /* struct.error -> Raw */
                if (fixed >= 2) {
                    uint8_t hi = 0, lo = 0;
                    (void)python_index(&w, p, &hi);
                    (void)python_index(&w, p + 1, &lo);
                    type = (uint16_t)((hi << 8) | lo);
                }
                p += 4;
            } else {
                if (slice_length(w.length, p, 10) != 10) return HF_OK;
                uint8_t b[10];
                for (int k = 0; k < 10; k++) (void)python_index(&w, p + k, &b[k]);
                type = (uint16_t)((b[0] << 8) | b[1]);
                long rdlength = (long)((b[8] << 8) | b[9]);
                p += 10 + rdlength;
            }
            walk->section_present[section] = 1;
            if (visitor) {
                status = visitor(context, section, s, s_length, (size_t)name_start, type);
                if (status != HF_OK) return status;
            }
        }
        if (section == 3) leftover_from = p;
    }
    walk->valid = 1;
    size_t leftover = 0;
    if (leftover_from >= 0 && leftover_from < w.length) leftover = (size_t)(w.length - leftover_from);
    walk->dns_length = prefix + 12 + s_length - leftover;
    return HF_OK;
}
