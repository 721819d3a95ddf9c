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

/* Append a layer covering [offset, offset+length) whose parent region ends at `end`.  Returns
 * its index, or -1 when the array is full: then [offset, end) becomes one HF_LAYER_OPAQUE layer
 * and d->full is set. */
int hf_dissector_add_layer(hf_dissector *d, hf_layer_kind kind, size_t offset, size_t length,
                           size_t end, unsigned flags);
/* scapy Raw / an opaque payload for [offset, end); nothing when empty. */
void hf_dissector_add_raw(hf_dissector *d, size_t offset, size_t end);
void hf_dissector_add_opaque(hf_dissector *d, size_t offset, size_t end);
/* extract_padding: bytes from `padding_start` on are Padding (innermost start wins). */
void hf_dissector_set_padding(hf_dissector *d, size_t padding_start);

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
