/*
 * dissect_internal.h -- shared by the dissect*.c files only (not part of the core's API).
 *
 * The state of one hf_dissect_packet call and the helpers every protocol file uses to read
 * frame bytes (always through the bounded cursor of bytes.h, at absolute frame offsets) and to
 * append layers.  Reentrant: the state lives on the caller's stack.
 */
#ifndef HF_DISSECT_INTERNAL_H
#define HF_DISSECT_INTERNAL_H

#include "bytes.h"
#include "dissect.h"

typedef struct hf_dissector {
    hf_cursor frame;        /* the whole frame, pos always 0; borrowed from the caller */
    hf_dissection *out;     /* the result being filled */
} hf_dissector;

/* Bounded reads at absolute frame offsets: 1 when the bytes exist, else 0 (value untouched).
 * The frame cursor is never advanced (its pos stays 0, see hf_dissect_packet), so these are
 * bytes.h's hf_peek_* checks -- remaining space compared, never offset + n -- with
 * remaining == frame.end; spelling them out lets the compiler drop the pos arithmetic from
 * every read of every header. */
static inline int hf_dissector_byte(const hf_dissector *d, size_t offset, uint8_t *value)
{
    if (d->frame.end <= offset) return 0;
    *value = d->frame.start[offset];
    return 1;
}
static inline int hf_dissector_be16(const hf_dissector *d, size_t offset, uint16_t *value)
{
    if (d->frame.end < 2 || d->frame.end - 2 < offset) return 0;
    const uint8_t *p = d->frame.start + offset;
    *value = (uint16_t)((p[0] << 8) | p[1]);
    return 1;
}
static inline int hf_dissector_be32(const hf_dissector *d, size_t offset, uint32_t *value)
{
    if (d->frame.end < 4 || d->frame.end - 4 < offset) return 0;
    const uint8_t *p = d->frame.start + offset;
    *value = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    return 1;
}
static inline uint8_t hf_dissector_byte_or_zero(const hf_dissector *d, size_t offset)
{
    uint8_t value = 0;
    (void)hf_dissector_byte(d, offset, &value);
    return value;
}
static inline uint16_t hf_dissector_be16_or_zero(const hf_dissector *d, size_t offset)
{
    uint16_t value = 0;
    (void)hf_dissector_be16(d, offset, &value);
    return value;
}
/* The `length` frame bytes at `offset` after one bounds check, or NULL: a header whose fixed
 * part is present is then read field by field from the span (one check instead of one per
 * field; the per-field checks were a fifth of the dissection's instructions). */
static inline const uint8_t *hf_dissector_span(const hf_dissector *d, size_t offset, size_t length)
{
    if (d->frame.end < length || d->frame.end - length < offset) return NULL;
    return d->frame.start + offset;
}
/* A sub-cursor over the frame bytes [offset, end) (end clamped to the frame). */
static inline hf_cursor hf_dissector_window(const hf_dissector *d, size_t offset, size_t end)
{
    hf_cursor c = d->frame;
    size_t length = hf_cursor_remaining(&c);
    if (end > length) end = length;
    if (offset > end) offset = end;
    c.pos = offset;
    c.end = end;
    return c;
}

/* The layer list.  Inline because every layer of every packet goes through here: with a
 * constant `kind` the first_* bookkeeping below folds to one store (it was ~10 % of the
 * dissection time as a call). */

/* Append a layer covering [offset, offset+length) whose parent region ends at `end`.  Returns
 * its index, or -1 when the array is full: the last slot then holds [offset, end) as one
 * HF_LAYER_OPAQUE layer, and once it is taken nothing more is added.  (The array is full
 * exactly when layer_count == HF_MAX_LAYERS: one compare on the common path.) */
static inline int hf_dissector_add_layer(hf_dissector *d, hf_layer_kind kind, size_t offset,
                                         size_t length, size_t end, unsigned flags)
{
    hf_dissection *o = d->out;
    int index = o->layer_count;
    if (index >= HF_MAX_LAYERS - 1) {
        if (index >= HF_MAX_LAYERS) return -1;
        if (kind != HF_LAYER_OPAQUE) {
            hf_layer *l = &o->layers[index];
            l->kind = HF_LAYER_OPAQUE;
            l->flags = 0;
            l->reserved = 0;
            l->offset = (uint32_t)offset;
            l->length = (uint32_t)(end > offset ? end - offset : 0);
            o->layer_count = HF_MAX_LAYERS;
            return -1;
        }
    }
    o->layer_count = index + 1;
    hf_layer *l = &o->layers[index];
    l->kind = (uint8_t)kind;
    l->flags = (uint8_t)flags;
    l->reserved = 0;
    l->offset = (uint32_t)offset;
    l->length = (uint32_t)length;
    switch (kind) {
    case HF_LAYER_RAW: o->has_raw = 1; break;
    case HF_LAYER_TLS: o->has_tls = 1; break;
    case HF_LAYER_HTTP: o->has_http = 1; break;
    case HF_LAYER_ETHER: if (o->first_ether == HF_NO_LAYER) o->first_ether = index; break;
    case HF_LAYER_IPV4: if (o->first_ipv4 == HF_NO_LAYER) o->first_ipv4 = index; break;
    case HF_LAYER_IPV6: if (o->first_ipv6 == HF_NO_LAYER) o->first_ipv6 = index; break;
    case HF_LAYER_TCP: if (o->first_tcp == HF_NO_LAYER) o->first_tcp = index; break;
    case HF_LAYER_UDP: if (o->first_udp == HF_NO_LAYER) o->first_udp = index; break;
    case HF_LAYER_DNS: if (o->first_dns == HF_NO_LAYER) o->first_dns = index; break;
    case HF_LAYER_HTTP_REQUEST:
        if (o->first_http_request == HF_NO_LAYER) o->first_http_request = index;
        break;
    case HF_LAYER_HTTP_RESPONSE:
        if (o->first_http_response == HF_NO_LAYER) o->first_http_response = index;
        break;
    default: break;
    }
    return index;
}

/* scapy Raw / an opaque payload for [offset, end); nothing when empty. */
static inline void hf_dissector_add_raw(hf_dissector *d, size_t offset, size_t end)
{
    if (end > offset) (void)hf_dissector_add_layer(d, HF_LAYER_RAW, offset, end - offset, end, 0);
}
static inline void hf_dissector_add_opaque(hf_dissector *d, size_t offset, size_t end)
{
    if (end > offset)
        (void)hf_dissector_add_layer(d, HF_LAYER_OPAQUE, offset, end - offset, end, 0);
}

/* extract_padding: bytes from `padding_start` on are Padding (innermost start wins). */
static inline void hf_dissector_set_padding(hf_dissector *d, size_t padding_start)
{
    if (padding_start < d->out->padding_start) d->out->padding_start = padding_start;
}

/* dissect_app.c: classify a non-empty TCP/UDP payload [offset, end) by the port tables.
 * hf_dissect_udp_payload returns 1 when the payload is VXLAN, 2 when it is L2TP (the caller
 * dissects those), else 0. */
void hf_dissect_tcp_payload(hf_dissector *d, size_t offset, size_t end, uint16_t source_port,
                            uint16_t destination_port);
int hf_dissect_udp_payload(hf_dissector *d, size_t offset, size_t end, uint16_t source_port,
                           uint16_t destination_port);

/* dissect_udp_app.c: 1 when scapy 2.5's dissection of the non-empty UDP payload [offset, end)
 * as NBNS (port 137), NTP (123) or SNMP (161/162) leaves a Raw layer in the chain, else 0. */
int hf_dissect_nbns_leaves_raw(const hf_dissector *d, size_t offset, size_t end);
int hf_dissect_ntp_leaves_raw(const hf_dissector *d, size_t offset, size_t end);

#endif /* HF_DISSECT_INTERNAL_H */
