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
    hf_cursor frame;        /* the whole frame; borrowed from the hf_dissect_packet caller */
    hf_dissection *out;     /* the result being filled */
    int full;               /* the layer array is full: the rest is opaque, stop dissecting */
} hf_dissector;

/* Bounded reads at absolute frame offsets: 1 when the bytes exist, else 0 (value untouched). */
static inline int hf_dissector_byte(const hf_dissector *d, size_t offset, uint8_t *value)
{
    return hf_peek_u8(&d->frame, offset, value) == HF_OK;
}
static inline int hf_dissector_be16(const hf_dissector *d, size_t offset, uint16_t *value)
{
    return hf_peek_be16(&d->frame, offset, value) == HF_OK;
}
static inline int hf_dissector_be32(const hf_dissector *d, size_t offset, uint32_t *value)
{
    return hf_peek_be32(&d->frame, offset, value) == HF_OK;
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
 * its index, or -1 when the array is full: then [offset, end) becomes one HF_LAYER_OPAQUE layer
 * and d->full is set. */
static inline int hf_dissector_add_layer(hf_dissector *d, hf_layer_kind kind, size_t offset,
                                         size_t length, size_t end, unsigned flags)
{
    hf_dissection *o = d->out;
    if (d->full) return -1;
    if (o->layer_count >= HF_MAX_LAYERS - 1 && kind != HF_LAYER_OPAQUE) {
        hf_layer *l = &o->layers[o->layer_count++];
        l->kind = HF_LAYER_OPAQUE;
        l->flags = 0;
        l->reserved = 0;
        l->offset = (uint32_t)offset;
        l->length = (uint32_t)(end > offset ? end - offset : 0);
        d->full = 1;
        return -1;
    }
    int index = o->layer_count++;
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
