/*
 * preprocess.c -- heifip 1.1.1's per-packet rules on top of a dissection (reference-semantics.md
 * §2.1-§2.5, §2.8; Appendix A `process`).
 *
 * 1. Class dispatch (§2.1): HTTP present -> HTTPRequest/HTTPResponse/HTTP packet; elif DNS; elif
 *    TCP or UDP -> transport; elif IP or IPv6; elif Ether; else unknown (bytes unchanged).
 * 2. Constructor effects, both modes (§2.3): random MACs for the first Ether (E1), random
 *    addresses for the first IPv4, else the first IPv6 (E2/E2', P4); payload cuts R1 (after the
 *    IP header), R2 (after the TCP/UDP header), R3 (after the HTTP header block).  A cut drops
 *    everything after it, Padding included.  Unmodified bytes are emitted verbatim and length
 *    and checksum fields stay stale (P5).
 * 3. HEADER (§2.5): replacements in the order [HTTP | DNS] -> TCP -> UDP -> IPv4 -> IPv6, each of
 *    the FIRST layer of its class; a replacement whose parent layer was replaced earlier is lost
 *    (P16: scapy stores into the orphaned old parent); then all Padding bytes at the very end.
 *
 * Custom layer layouts (§2.5.1):
 *   CustomIP    (ver<<4 | flags) tos ttl proto                          4 bytes
 *   CustomIPv6  ver tc nh hlim                                           4 bytes
 *   CustomTCP   flags(2, 9 bits incl. NS) + re-encoded options, 4-aligned
 *   CustomUDP   nothing
 *   HTTP        "Method Path " / "Status " + "Field_Name: value\r\n"...
 *   DNS         id flags counts(orig) + custom sections | CustomDNS: flags + the same sections
 *               (question = name + qtype; record = name + type + 00000000; names uncompressed)
 */
#include "preprocess.h"

#include <string.h>

typedef enum packet_class {
    CLASS_UNKNOWN = 0,
    CLASS_ETHER,
    CLASS_IP,
    CLASS_TRANSPORT,
    CLASS_DNS,
    CLASS_HTTP,
    CLASS_HTTP_REQUEST,
    CLASS_HTTP_RESPONSE
} packet_class;

/* What the constructors decide. */
typedef struct plan {
    packet_class packet_class;
    int kept;               /* layers [0, kept) survive (set by plan_kept_layers) */
    int cut;                /* 1: a remove_payload() happened (Padding is dropped too) */
    size_t cut_offset;      /* the output ends here when cut */
    int anonymised_ip;      /* index of the IP layer whose addresses are randomised, or -1 */
} plan;

static packet_class classify(const hf_dissection *d)
{
    if (d->has_http) {
        if (d->first_http_request != HF_NO_LAYER) return CLASS_HTTP_REQUEST;
        if (d->first_http_response != HF_NO_LAYER) return CLASS_HTTP_RESPONSE;
        return CLASS_HTTP;
    }
    if (d->first_dns != HF_NO_LAYER) return CLASS_DNS;
    if (d->first_tcp != HF_NO_LAYER || d->first_udp != HF_NO_LAYER) return CLASS_TRANSPORT;
    if (d->first_ipv4 != HF_NO_LAYER || d->first_ipv6 != HF_NO_LAYER) return CLASS_IP;
    if (d->first_ether != HF_NO_LAYER) return CLASS_ETHER;
    return CLASS_UNKNOWN;
}

static size_t layer_end(const hf_dissection *d, int index)
{
    return (size_t)d->layers[index].offset + d->layers[index].length;
}

static void cut_after(const hf_dissection *d, plan *p, int index)
{
    size_t end = layer_end(d, index);
    if (!p->cut || end < p->cut_offset) p->cut_offset = end;
    p->cut = 1;
}

/* make_plan, verbatim_length, init_slots and verbatim_slots are forced inline: on the verbatim
 * path of every kept packet their calls cost more than their bodies (38 of ~1,440 instructions
 * per packet on the session benchmark, callgrind). */
static HF_ALWAYS_INLINE void make_plan(const hf_dissection *d, plan *p)
{
    memset(p, 0, sizeof *p);
    p->packet_class = classify(d);
    p->anonymised_ip = -1;
    p->kept = d->layer_count;
    packet_class c = p->packet_class;
    int has_transport = d->first_tcp != HF_NO_LAYER || d->first_udp != HF_NO_LAYER;
    if (c >= CLASS_IP) {
        /* E2/E2' and R1/R1' (ip.py:17-30): IPv4 wins over IPv6 (P4). */
        int ip = d->first_ipv4 != HF_NO_LAYER ? d->first_ipv4 : d->first_ipv6;
        if (ip != HF_NO_LAYER) {
            p->anonymised_ip = ip;
            if ((d->has_tls && !has_transport) || (d->has_raw && !has_transport && !d->has_http))
                cut_after(d, p, ip);
        }
    }
    if (c >= CLASS_TRANSPORT) {
        /* R2/R2' (transport.py:16-27): TCP first, else UDP. */
        int transport = d->first_tcp != HF_NO_LAYER ? d->first_tcp : d->first_udp;
        if (transport != HF_NO_LAYER && (d->has_tls || (d->has_raw && !d->has_http)))
            cut_after(d, p, transport);
    }
    /* R3 (http.py:22-23,51-52): the body goes when there is a Raw anywhere. */
    if (c == CLASS_HTTP_REQUEST && d->has_raw) cut_after(d, p, d->first_http_request);
    if (c == CLASS_HTTP_RESPONSE && d->has_raw) cut_after(d, p, d->first_http_response);
}

/* The layers a plan keeps, for the paths that emit layer by layer (the verbatim path, which
 * copies a prefix, does not need them). */
static void plan_kept_layers(const hf_dissection *d, plan *p)
{
    if (p->cut) {
        int kept = 0;
        while (kept < d->layer_count && d->layers[kept].offset < p->cut_offset) kept++;
        p->kept = kept;
    }
}

/* ---- small emit helpers ------------------------------------------------------------------- */

/* Borrow frame bytes [offset, offset+length) through a cursor. */
static const uint8_t *frame_bytes(const uint8_t *frame, size_t caplen, size_t offset, size_t length)
{
    hf_cursor c = hf_cursor_make(frame, caplen);
    const uint8_t *p = NULL;
    if (hf_skip(&c, offset) != HF_OK || hf_read_bytes(&c, length, &p) != HF_OK) return NULL;
    return p;
}

static uint8_t frame_byte(const uint8_t *frame, size_t caplen, size_t offset, uint8_t fallback)
{
    hf_cursor c = hf_cursor_make(frame, caplen);
    uint8_t value;
    return hf_peek_u8(&c, offset, &value) == HF_OK ? value : fallback;
}

static hf_status append_frame(hf_buf *out, const uint8_t *frame, size_t caplen, size_t offset,
                              size_t length)
{
    if (length == 0) return HF_OK;
    const uint8_t *p = frame_bytes(frame, caplen, offset, length);
    if (!p) return HF_ARGUMENT; /* a dissection that does not belong to this frame */
    return hf_buf_append(out, p, length);
}

/* ---- address draws ----------------------------------------------------------------------- */

/* Where the four randomised addresses are in the output (or -1: not emitted).  They are applied
 * after emission, in 1.1.1's draw order (§2.2), so the map sees the same sequence whatever the
 * layer order. */
typedef struct address_slots {
    long ether_source, ether_destination;
    long ip_source, ip_destination;
    uint8_t ip_length;                /* 4 or 16; 0 when no IP address is randomised */
    uint8_t ether_present;
    size_t ip_offset;                 /* frame offset of the original IP source (dst follows) */
    /* The verbatim NONE path: output position p (>= verbatim_base) holds frame byte
     * p - verbatim_base before the addresses are applied.  NULL on the other paths. */
    const uint8_t *verbatim;
    long verbatim_base;
} address_slots;

/* Map the `length`-byte (<= 16) address at output position `position` in place.  When a prefix
 * limit (hf_preprocess_packet_prefix) cut the output before the end of the address -- only the
 * verbatim path cuts before the addresses are applied -- the address is mapped in a scratch copy
 * of the bytes the full string has there, so the map sees exactly the calls of the full string
 * (its draws and memo depend on them), and only the part inside the output is written. */
static void apply_cut_slot(const address_slots *slots, hf_address_map *map, hf_buf *out,
                           size_t at, size_t length);

static HF_ALWAYS_INLINE void apply_slot(const address_slots *slots, hf_address_map *map,
                                        hf_buf *out, long position, size_t length, int random)
{
    size_t at = (size_t)position;
    if (at <= out->length && length <= out->length - at) {
        if (random) hf_address_map_apply_random(map, out->data + at, length);
        else hf_address_map_apply(map, out->data + at, length);
    } else {
        apply_cut_slot(slots, map, out, at, length);
    }
}

/* apply_slot's rare case, out of line (a scratch array and a copy that the common case would
 * pay for in register saves). */
static void apply_cut_slot(const address_slots *slots, hf_address_map *map, hf_buf *out,
                           size_t at, size_t length)
{
    if (HF_NEVER(slots->verbatim == NULL || at < (size_t)slots->verbatim_base)) return;
    uint8_t scratch[16];
    memcpy(scratch, slots->verbatim + (at - (size_t)slots->verbatim_base), length);
    hf_address_map_apply(map, scratch, length);
    if (at < out->length) memcpy(out->data + at, scratch, out->length - at);
}

/* An IP address that is randomised but not emitted (HEADER mode, a short header): mapped in a
 * scratch copy of the original (0 past the capture), so the map sees the same sequence. */
static void apply_unemitted(hf_address_map *map, const uint8_t *frame, size_t caplen,
                            size_t offset, size_t length)
{
    uint8_t scratch[16];
    for (size_t i = 0; i < length; i++) scratch[i] = frame_byte(frame, caplen, offset + i, 0);
    hf_address_map_apply(map, scratch, length);
}

static HF_ALWAYS_INLINE void apply_ip_addresses(const address_slots *slots, hf_address_map *map,
                                                const uint8_t *frame, size_t caplen, hf_buf *out,
                                                size_t n, int random)
{
    if (slots->ip_source >= 0) apply_slot(slots, map, out, slots->ip_source, n, random);
    else apply_unemitted(map, frame, caplen, slots->ip_offset, n);
    if (slots->ip_destination >= 0) apply_slot(slots, map, out, slots->ip_destination, n, random);
    else apply_unemitted(map, frame, caplen, slots->ip_offset + n, n);
}

/* `random`: the map's mode is RANDOM (a constant at each call site, so that the replacements
 * inline with constant lengths: 365 -> 200 instructions per packet of four addresses). */
static HF_ALWAYS_INLINE void apply_addresses_as(const address_slots *slots, hf_address_map *map,
                                                const uint8_t *frame, size_t caplen, hf_buf *out,
                                                int random)
{
    if (slots->ether_present) {
        if (slots->ether_source >= 0) apply_slot(slots, map, out, slots->ether_source, 6, random);
        if (slots->ether_destination >= 0)
            apply_slot(slots, map, out, slots->ether_destination, 6, random);
    }
    if (slots->ip_length == 4) apply_ip_addresses(slots, map, frame, caplen, out, 4, random);
    else if (slots->ip_length == 16) apply_ip_addresses(slots, map, frame, caplen, out, 16, random);
}

static HF_ALWAYS_INLINE void apply_addresses(const address_slots *slots, hf_address_map *map,
                            const uint8_t *frame, size_t caplen, hf_buf *out)
{
    if (map->anonymizer->mode == HF_ANONYMIZE_RANDOM)
        apply_addresses_as(slots, map, frame, caplen, out, 1);
    else
        apply_addresses_as(slots, map, frame, caplen, out, 0);
}

/* ---- TCP options (§2.5.1, P37) --------------------------------------------------------------- */

hf_status hf_preprocess_tcp_options(const uint8_t *options, size_t length, int pad, hf_buf *out)
{
    hf_cursor c = hf_cursor_make(options, length);
    size_t start = out->length;
    hf_status status = HF_OK;
    while (status == HF_OK && hf_cursor_remaining(&c) > 0) {
        uint8_t kind = 0;
        (void)hf_read_u8(&c, &kind);
        if (kind == 0) { /* EOL: scapy stops parsing here */
            status = hf_buf_append_byte(out, 0);
            break;
        }
        if (kind == 1) {
            status = hf_buf_append_byte(out, 1);
            continue;
        }
        uint8_t announced = 0;
        (void)hf_peek_u8(&c, 0, &announced);
        size_t option_length = announced < 2 ? 2 : announced;
        /* value = x[2:olen], possibly shorter when truncated */
        size_t left = hf_cursor_remaining(&c); /* bytes after the kind byte */
        size_t value_length = 0;
        if (left > 1) {
            value_length = option_length - 2;
            if (value_length > left - 1) value_length = left - 1;
        }
        const uint8_t *value = NULL;
        (void)hf_skip(&c, left > 0 ? 1 : 0);
        (void)hf_read_bytes(&c, value_length, &value);
        /* x = x[olen:] -- skip what remains of the announced length */
        size_t rest = option_length - 2 - value_length;
        if (rest > hf_cursor_remaining(&c)) rest = hf_cursor_remaining(&c);
        (void)hf_skip(&c, rest);
        uint8_t header[2] = {kind, (uint8_t)((2 + value_length) & 0xff)};
        status = hf_buf_append(out, header, 2);
        if (status == HF_OK && value_length) status = hf_buf_append(out, value, value_length);
    }
    if (status == HF_OK && pad) {
        static const uint8_t zeros[3] = {0, 0, 0};
        size_t written = out->length - start;
        size_t padding = (4 - written % 4) % 4;
        if (padding) status = hf_buf_append(out, zeros, padding);
    }
    if (status != HF_OK) out->length = start;
    return status;
}

/* ---- custom layers ------------------------------------------------------------------------- */

static hf_status emit_custom_ipv4(const uint8_t *frame, size_t caplen, const hf_layer *l, hf_buf *out)
{
    /* CustomIP (header.py:9-17): defaults version 4, flags 0, tos 0, ttl 64, proto 0 for fields
     * a short header did not have (§1.4). */
    size_t n = l->length;
    uint8_t version = n >= 1 ? (uint8_t)(frame_byte(frame, caplen, l->offset, 0x45) >> 4) : 4;
    uint8_t flags = n >= 8 ? (uint8_t)(frame_byte(frame, caplen, l->offset + 6, 0) >> 5) : 0;
    uint8_t bytes[4] = {(uint8_t)((version << 4) | flags),
                        n >= 2 ? frame_byte(frame, caplen, l->offset + 1, 0) : 0,
                        n >= 9 ? frame_byte(frame, caplen, l->offset + 8, 64) : 64,
                        n >= 10 ? frame_byte(frame, caplen, l->offset + 9, 0) : 0};
    return hf_buf_append(out, bytes, 4);
}

static hf_status emit_custom_ipv6(const uint8_t *frame, size_t caplen, const hf_layer *l, hf_buf *out)
{
    /* CustomIPv6 (header.py:19-26): version as an 8-bit field, the full traffic class. */
    size_t n = l->length;
    uint8_t b0 = frame_byte(frame, caplen, l->offset, 0x60);
    uint8_t b1 = frame_byte(frame, caplen, l->offset + 1, 0);
    uint8_t bytes[4] = {(uint8_t)(b0 >> 4),
                        n >= 4 ? (uint8_t)(((b0 & 15) << 4) | (b1 >> 4)) : 0,
                        n >= 7 ? frame_byte(frame, caplen, l->offset + 6, 59) : 59,
                        n >= 8 ? frame_byte(frame, caplen, l->offset + 7, 64) : 64};
    return hf_buf_append(out, bytes, 4);
}

static uint16_t tcp_flags(const uint8_t *frame, size_t caplen, const hf_layer *l)
{
    if (l->length < 14) return 2; /* scapy default "S" */
    return (uint16_t)(((frame_byte(frame, caplen, l->offset + 12, 0) & 1) << 8) |
                      frame_byte(frame, caplen, l->offset + 13, 0));
}

static hf_status emit_custom_tcp(const uint8_t *frame, size_t caplen, const hf_layer *l, hf_buf *out)
{
    hf_status status = hf_buf_append_be16(out, tcp_flags(frame, caplen, l));
    if (status != HF_OK || l->length <= 20) return status;
    const uint8_t *options = frame_bytes(frame, caplen, l->offset + 20, l->length - 20);
    if (!options) return HF_ARGUMENT;
    return hf_preprocess_tcp_options(options, l->length - 20, 1, out);
}

static hf_status emit_field(hf_buf *out, const char *name, const uint8_t *value, size_t length)
{
    if (length == 0) return HF_OK; /* falsy values are skipped (header.py:40-57) */
    hf_status status = hf_buf_append(out, name, strlen(name));
    if (status == HF_OK) status = hf_buf_append(out, ": ", 2);
    if (status == HF_OK) status = hf_buf_append(out, value, length);
    if (status == HF_OK) status = hf_buf_append(out, "\r\n", 2);
    return status;
}

static hf_status emit_http_fields(const uint8_t *frame, const hf_layer *l, const char *const *names,
                                  size_t count, hf_buf *out)
{
    hf_status status = HF_OK;
    for (size_t i = 0; i < count && status == HF_OK; i++) {
        char key[32];
        size_t n = strlen(names[i]);
        for (size_t k = 0; k <= n; k++) {
            char ch = names[i][k];
            key[k] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
        }
        const uint8_t *value = NULL;
        size_t value_length = 0;
        if (hf_dissect_http_header(frame, l->offset, l->length, key, &value, &value_length))
            status = emit_field(out, names[i], value, value_length);
    }
    return status;
}

static hf_status emit_custom_http_request(const uint8_t *frame, const hf_layer *l, hf_buf *out)
{
    /* CustomHTTP_Request field order; Accept_Encoding is never copied (P11). */
    static const char *const names[] = {"User_Agent", "Content_Type", "Connection", "Accept",
                                        "Accept_Charset", "Cookie", "TE"};
    const uint8_t *token[3];
    size_t token_length[3];
    const uint8_t *method = (const uint8_t *)"GET", *path = (const uint8_t *)"/";
    size_t method_length = 3, path_length = 1;
    if (hf_dissect_http_first_line(frame, l->offset, l->length, token, token_length) == 3) {
        method = token[0];
        method_length = token_length[0];
        path = token[1];
        path_length = token_length[1];
    }
    hf_status status = HF_OK;
    if (method_length) {
        status = hf_buf_append(out, method, method_length);
        if (status == HF_OK) status = hf_buf_append_byte(out, ' ');
    }
    if (status == HF_OK && path_length) {
        status = hf_buf_append(out, path, path_length);
        if (status == HF_OK) status = hf_buf_append_byte(out, ' ');
    }
    if (status == HF_OK) status = emit_http_fields(frame, l, names, sizeof names / sizeof names[0], out);
    return status;
}

static hf_status emit_custom_http_response(const uint8_t *frame, const hf_layer *l, hf_buf *out)
{
    static const char *const names[] = {"Connection", "Content_Encoding", "Content_Type",
                                        "Server", "Set_Cookie", "Transfer_Encoding"};
    const uint8_t *token[3];
    size_t token_length[3];
    const uint8_t *status_code = (const uint8_t *)"200";
    size_t status_length = 3;
    if (hf_dissect_http_first_line(frame, l->offset, l->length, token, token_length) == 3) {
        status_code = token[1];
        status_length = token_length[1];
    }
    hf_status status = HF_OK;
    if (status_length) {
        status = hf_buf_append(out, status_code, status_length);
        if (status == HF_OK) status = hf_buf_append_byte(out, ' ');
    }
    if (status == HF_OK) status = emit_http_fields(frame, l, names, sizeof names / sizeof names[0], out);
    return status;
}

/* dns_encode of a decompressed name, streamed (scapy:layers/dns.py dns_encode): split on '.',
 * each chunk cut to 63 bytes and length-prefixed; the name always ends in '.', so the last
 * chunk is empty and gives the terminating 00. */
typedef struct name_encoder {
    hf_buf *out;
    size_t length_position;   /* where the current chunk's length byte is */
    size_t chunk_length;      /* bytes seen in the current chunk (only 63 are written) */
} name_encoder;

static hf_status encoder_start_chunk(name_encoder *e)
{
    e->length_position = e->out->length;
    e->chunk_length = 0;
    return hf_buf_append_byte(e->out, 0);
}

static hf_status encoder_sink(void *context, const uint8_t *bytes, size_t length)
{
    name_encoder *e = context;
    for (size_t i = 0; i < length; i++) {
        if (bytes[i] == '.') {
            e->out->data[e->length_position] = (uint8_t)(e->chunk_length > 63 ? 63 : e->chunk_length);
            hf_status status = encoder_start_chunk(e);
            if (status != HF_OK) return status;
            continue;
        }
        if (e->chunk_length < 63) {
            hf_status status = hf_buf_append_byte(e->out, bytes[i]);
            if (status != HF_OK) return status;
        }
        e->chunk_length++;
    }
    return HF_OK;
}

typedef struct dns_emitter {
    hf_buf *out;
} dns_emitter;

static hf_status dns_record_visitor(void *context, int section, const uint8_t *message,
                                    size_t message_length, size_t name_offset, uint16_t type)
{
    dns_emitter *emitter = context;
    name_encoder e = {emitter->out, 0, 0};
    hf_status status = encoder_start_chunk(&e);
    if (status == HF_OK) status = hf_dissect_dns_name(message, message_length, name_offset, encoder_sink, &e);
    if (status != HF_OK) return status;
    e.out->data[e.length_position] = (uint8_t)(e.chunk_length > 63 ? 63 : e.chunk_length);
    status = hf_buf_append_be16(emitter->out, type);
    if (status == HF_OK && section != 0) {
        static const uint8_t ttl[4] = {0, 0, 0, 0}; /* CustomDNSRR.ttl is never copied (P14) */
        status = hf_buf_append(emitter->out, ttl, 4);
    }
    return status;
}

static hf_status emit_custom_dns(const uint8_t *frame, size_t caplen, const hf_dissection *d,
                                 const hf_layer *l, hf_buf *out)
{
    size_t prefix = d->dns_over_tcp ? 2 : 0;
    const uint8_t *message = frame_bytes(frame, caplen, l->offset, l->length);
    if (!message) return HF_ARGUMENT;
    hf_status status;
    size_t sections_start, sections_end;
    uint8_t flags[2];
    if (l->flags & HF_LAYER_FLAG_PARTIAL) {
        /* Fewer than 12 header bytes: the fields take scapy defaults (rd = 1, qd = DNSQR() for
         * www.example.com type A) and DNS is rebuilt.  Unparsed counts are computed by
         * DNSRRCountField, which counts only DNSQR/DNSRR objects -- the custom records are
         * neither, so they come out 0 (oracle: ipv6-hbh-routing0.trace). */
        static const uint8_t default_question[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p',
                                                   'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1};
        size_t n = l->length - prefix;
        uint8_t header[12] = {0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t i = 0; i < n && i < 12; i++) header[i] = message[prefix + i];
        flags[0] = header[2];
        flags[1] = header[3];
        status = hf_buf_append(out, header, 12);
        sections_start = out->length;
        if (status == HF_OK) status = hf_buf_append(out, default_question, sizeof default_question);
        sections_end = out->length;
    } else {
        hf_dns_walk walk;
        /* Present sections are replaced by custom records; with none, DNS keeps its raw bytes. */
        (void)hf_dissect_dns_walk(message, l->length, d->dns_over_tcp, NULL, NULL, &walk);
        flags[0] = message[prefix + 2];
        flags[1] = message[prefix + 3];
        int any = walk.section_present[0] | walk.section_present[1] | walk.section_present[2] |
                  walk.section_present[3];
        if (!any) {
            status = hf_buf_append(out, message, l->length);
            sections_start = sections_end = out->length;
        } else {
            /* DNS' from fields: the TCP length prefix is gone (P15), counts stay original. */
            status = hf_buf_append(out, message + prefix, 12);
            sections_start = out->length;
            dns_emitter emitter = {out};
            if (status == HF_OK)
                status = hf_dissect_dns_walk(message, l->length, d->dns_over_tcp, dns_record_visitor,
                                             &emitter, &walk);
            sections_end = out->length;
        }
    }
    /* CustomDNS appended by `packet[DNS] /= CustomDNS(...)` (P13): flags + the same sections. */
    size_t sections_length = sections_end - sections_start;
    if (status == HF_OK) status = hf_buf_append(out, flags, 2);
    if (status == HF_OK) status = hf_buf_reserve(out, sections_length);
    if (status == HF_OK && sections_length) {
        memcpy(out->data + out->length, out->data + sections_start, sections_length);
        out->length += sections_length;
    }
    return status;
}

/* ---- rebuilt short headers (§1.4, P36) --------------------------------------------------- */

static uint16_t ipv4_checksum(const uint8_t *header)
{
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += (uint32_t)((header[i] << 8) | header[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* An IPv4 header with fewer than 20 bytes whose addresses 1.1.1 rewrote: scapy rebuilds it from
 * the parsed fields plus defaults (len = 20, id 1, ttl 64, proto 0, checksum computed).  The
 * addresses are written by the map afterwards, so the checksum is completed then. */
static hf_status emit_rebuilt_ipv4(const uint8_t *frame, size_t caplen, const hf_layer *l,
                                   hf_buf *out, address_slots *slots, long *checksum_position)
{
    uint8_t h[20] = {0x45, 0, 0, 20, 0, 1, 0, 0, 64, 0, 0, 0};
    size_t n = l->length;
    for (size_t i = 0; i < n && i < 20; i++) h[i] = frame_byte(frame, caplen, l->offset + i, 0);
    long base = (long)out->length;
    *checksum_position = n >= 12 ? -1 : base + 10;
    slots->ip_source = base + 12;
    slots->ip_destination = base + 16;
    return hf_buf_append(out, h, 20);
}

/* ---- the two modes ---------------------------------------------------------------------------- */

static HF_ALWAYS_INLINE void init_slots(address_slots *slots, const hf_dissection *d,
                                        const plan *p)
{
    slots->ether_source = slots->ether_destination = -1;
    slots->ip_source = slots->ip_destination = -1;
    slots->ip_length = 0;
    slots->ip_offset = 0;
    slots->verbatim = NULL;
    slots->verbatim_base = 0;
    slots->ether_present = p->packet_class != CLASS_UNKNOWN && d->first_ether != HF_NO_LAYER;
    if (p->anonymised_ip >= 0) {
        const hf_layer *l = &d->layers[p->anonymised_ip];
        int v6 = l->kind == HF_LAYER_IPV6;
        slots->ip_length = v6 ? 16 : 4;
        slots->ip_offset = l->offset + (v6 ? 8 : 12);
    }
}

/* Emit layer `index` with its original bytes; note where the randomised addresses landed. */
static hf_status emit_original(const uint8_t *frame, size_t caplen, const hf_dissection *d,
                               const plan *p, int index, hf_buf *out, address_slots *slots,
                               long *checksum_position)
{
    const hf_layer *l = &d->layers[index];
    long base = (long)out->length;
    if (index == p->anonymised_ip && l->kind == HF_LAYER_IPV4 && (l->flags & HF_LAYER_FLAG_PARTIAL))
        return emit_rebuilt_ipv4(frame, caplen, l, out, slots, checksum_position);
    hf_status status = append_frame(out, frame, caplen, l->offset, l->length);
    if (status != HF_OK) return status;
    if (index == d->first_ether && slots->ether_present && l->length >= 12) {
        slots->ether_destination = base;
        slots->ether_source = base + 6;
    }
    if (index == p->anonymised_ip) {
        size_t source = l->kind == HF_LAYER_IPV6 ? 8 : 12;
        if (l->length >= source + 2 * (size_t)slots->ip_length) {
            slots->ip_source = base + (long)source;
            slots->ip_destination = base + (long)source + slots->ip_length;
        }
    }
    return HF_OK;
}

static hf_status emit_rebuilt_ether(const uint8_t *frame, size_t caplen, hf_buf *out,
                                    address_slots *slots)
{
    /* 0/6/12-byte Ethernet frames: Ether with missing fields, rebuilt as dst|src|0x9000. */
    uint8_t h[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x90, 0x00};
    for (size_t i = 0; i < caplen && i < 12; i++) h[i] = frame_byte(frame, caplen, i, 0);
    long base = (long)out->length;
    hf_status status = hf_buf_append(out, h, 14);
    slots->ether_destination = base;
    slots->ether_source = base + 6;
    return status;
}

/* The packet without its Dot11FCS trailer: `caplen` here is d->trailer_start, so the Padding
 * (if kept) is the tail of what this appends.  OUT: *cut = a remove_payload() happened. */
/* The packets whose string is a prefix of the frame with the addresses written in place: an
 * unknown class (no addresses), or NONE mode / an Ether-only packet unless the Ether header or a
 * short IPv4 header is rebuilt.  OUT: *length = the string's length before any limit.  Shared by
 * emit_packet and hf_preprocess_packet_prefix_to, which writes such strings in place. */
static HF_ALWAYS_INLINE int verbatim_length(size_t caplen, const hf_dissection *d,
                                            const plan *p, hf_preprocess_mode mode,
                                            size_t *length)
{
    if (p->packet_class == CLASS_UNKNOWN) {
        *length = caplen;
        return 1;
    }
    if (d->ether_rebuilt || (mode != HF_PREPROCESS_NONE && p->packet_class != CLASS_ETHER)) return 0;
    if (p->anonymised_ip >= 0 && (d->layers[p->anonymised_ip].flags & HF_LAYER_FLAG_PARTIAL) &&
        d->layers[p->anonymised_ip].kind == HF_LAYER_IPV4)
        return 0;
    *length = p->cut ? p->cut_offset : caplen;
    return 1;
}

/* The address slots of a verbatim string (verbatim_length) of `length` bytes whose output
 * starts at `base`; addresses the full string does not hold stay unemitted (-1). */
static HF_ALWAYS_INLINE void verbatim_slots(const hf_dissection *d, const plan *p,
                                            const uint8_t *frame, size_t length, long base,
                                            address_slots *slots)
{
    slots->verbatim = frame;
    slots->verbatim_base = base;
    if (slots->ether_present) {
        size_t ether = d->layers[d->first_ether].offset;
        if (ether + 12 <= length) {
            slots->ether_destination = base + (long)ether;
            slots->ether_source = base + (long)ether + 6;
        }
    }
    if (p->anonymised_ip >= 0) {
        const hf_layer *l = &d->layers[p->anonymised_ip];
        size_t source = l->offset + (l->kind == HF_LAYER_IPV6 ? 8 : 12);
        if (l->length >= (l->kind == HF_LAYER_IPV6 ? 40u : 20u) &&
            source + 2 * (size_t)slots->ip_length <= length) {
            slots->ip_source = base + (long)source;
            slots->ip_destination = base + (long)source + slots->ip_length;
        }
    }
}

static hf_status emit_packet(const uint8_t *frame, size_t caplen, const hf_dissection *d,
                             hf_preprocess_mode mode, hf_address_map *addresses, size_t limit,
                             hf_buf *out, int *cut)
{
    plan p;
    make_plan(d, &p);
    plan_kept_layers(d, &p);
    *cut = p.cut;
    hf_status status;
    if (p.packet_class == CLASS_UNKNOWN)
        return append_frame(out, frame, caplen, 0, caplen < limit ? caplen : limit);
    address_slots slots;
    init_slots(&slots, d, &p);
    long checksum_position = -1;
    size_t reserve = (caplen < limit ? caplen : limit) + 64;
    status = hf_buf_reserve(out, reserve);
    if (status != HF_OK) return status;

    if (d->ether_rebuilt) {
        status = emit_rebuilt_ether(frame, caplen, out, &slots);
    } else if (mode == HF_PREPROCESS_NONE || p.packet_class == CLASS_ETHER) {
        /* NONE (and HEADER for Ether-only packets, which have no header step): the kept prefix
         * verbatim, except a rebuilt short IPv4 header. */
        size_t length;
        if (verbatim_length(caplen, d, &p, mode, &length)) {
            /* Only here does `limit` cut the output (apply_slot maps what lies beyond it). */
            long base = (long)out->length;
            status = append_frame(out, frame, caplen, 0, length < limit ? length : limit);
            if (status == HF_OK) verbatim_slots(d, &p, frame, length, base, &slots);
        } else {
            for (int i = 0; i < p.kept && status == HF_OK; i++)
                status = emit_original(frame, caplen, d, &p, i, out, &slots, &checksum_position);
            if (status == HF_OK && !p.cut && d->padding_start < caplen)
                status = append_frame(out, frame, caplen, d->padding_start, caplen - d->padding_start);
        }
    } else {
        /* HEADER: decide the replacements in 1.1.1's order, then emit in chain order. */
        uint8_t replaced[HF_MAX_LAYERS];
        memset(replaced, 0, sizeof replaced);
        int steps[6], step_count = 0;
        if (p.packet_class == CLASS_HTTP_REQUEST) steps[step_count++] = d->first_http_request;
        if (p.packet_class == CLASS_HTTP_RESPONSE) steps[step_count++] = d->first_http_response;
        if (p.packet_class == CLASS_DNS) steps[step_count++] = d->first_dns;
        if (p.packet_class >= CLASS_TRANSPORT) {
            steps[step_count++] = d->first_tcp;
            steps[step_count++] = d->first_udp;
        }
        steps[step_count++] = d->first_ipv4;
        steps[step_count++] = d->first_ipv6;
        for (int s = 0; s < step_count; s++) {
            int x = steps[s];
            if (x == HF_NO_LAYER) continue;
            if (x >= p.kept) continue;            /* removed by a cut: skipped (P18, decided) */
            if (x > 0 && replaced[x - 1]) continue; /* stale underlayer: lost (P16) */
            replaced[x] = 1;                      /* x == 0: root replaced (P17, decided) */
        }
        for (int i = 0; i < p.kept && status == HF_OK; i++) {
            const hf_layer *l = &d->layers[i];
            if (!replaced[i]) {
                status = emit_original(frame, caplen, d, &p, i, out, &slots, &checksum_position);
                continue;
            }
            switch (l->kind) {
            case HF_LAYER_IPV4: status = emit_custom_ipv4(frame, caplen, l, out); break;
            case HF_LAYER_IPV6: status = emit_custom_ipv6(frame, caplen, l, out); break;
            case HF_LAYER_TCP: status = emit_custom_tcp(frame, caplen, l, out); break;
            case HF_LAYER_UDP: break;
            case HF_LAYER_HTTP_REQUEST: status = emit_custom_http_request(frame, l, out); break;
            case HF_LAYER_HTTP_RESPONSE: status = emit_custom_http_response(frame, l, out); break;
            case HF_LAYER_DNS: status = emit_custom_dns(frame, caplen, d, l, out); break;
            default: status = emit_original(frame, caplen, d, &p, i, out, &slots, &checksum_position);
            }
        }
        if (status == HF_OK && !p.cut && d->padding_start < caplen)
            status = append_frame(out, frame, caplen, d->padding_start, caplen - d->padding_start);
    }
    if (status != HF_OK) return status;
    apply_addresses(&slots, addresses, frame, caplen, out);
    if (checksum_position >= 0) {
        uint8_t *h = out->data + checksum_position - 10;
        h[10] = h[11] = 0;
        uint16_t sum = ipv4_checksum(h);
        h[10] = (uint8_t)(sum >> 8);
        h[11] = (uint8_t)sum;
    }
    return HF_OK;
}

/* The argument checks of the packet builders (one place, so that both entry points reject
 * exactly the same inputs). */
static hf_status check_arguments(const uint8_t *frame, size_t caplen, const hf_dissection *d,
                                 hf_preprocess_mode mode, const hf_address_map *addresses,
                                 const void *out, hf_error *error)
{
    if ((!frame && caplen) || !d || !addresses || !out)
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "hf_preprocess_packet: NULL argument");
    if (mode != HF_PREPROCESS_NONE && mode != HF_PREPROCESS_HEADER)
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "hf_preprocess_packet: bad mode %d", (int)mode);
    if (d->caplen != caplen || d->trailer_start > caplen || d->padding_start > d->trailer_start)
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "dissection is for another frame");
    return HF_OK;
}

hf_status hf_preprocess_packet_prefix(const uint8_t *frame, size_t caplen,
                                      const hf_dissection *dissection, hf_preprocess_mode mode,
                                      hf_address_map *addresses, size_t limit, hf_buf *out,
                                      hf_error *error)
{
    hf_status checked = check_arguments(frame, caplen, dissection, mode, addresses, out, error);
    if (checked != HF_OK) return checked;
    const hf_dissection *d = dissection;
    size_t start = out->length;
    int cut = 0;
    /* The Dot11FCS move and the RadioTap zeros below rewrite the finished string, so with either
     * the whole string is built and cut at the end; otherwise emit_packet stops at the limit. */
    size_t emit_limit = d->trailer_start == caplen && d->zeroed_count == 0 ? limit : SIZE_MAX;
    hf_status status = emit_packet(frame, d->trailer_start, d, mode, addresses, emit_limit, out,
                                   &cut);
    if (status == HF_OK && d->trailer_start < caplen) {
        /* Dot11FCS: the FCS goes right after the (possibly cut) payload, before the Padding
         * that the build appends last (dissect.h trailer_start; oracle:
         * arp-who-has-radiotap.pcap #1, radiotap.pcap HEADER). */
        size_t fcs = caplen - d->trailer_start;
        size_t padding = cut ? 0 : d->trailer_start - d->padding_start;
        const uint8_t *trailer = frame_bytes(frame, caplen, d->trailer_start, fcs);
        status = hf_buf_reserve(out, fcs);
        if (status == HF_OK && trailer && out->length - start >= padding) {
            uint8_t *tail = out->data + out->length - padding;
            memmove(tail + fcs, tail, padding);
            memcpy(tail, trailer, fcs);
            out->length += fcs;
        } else if (status == HF_OK) {
            status = HF_ARGUMENT;
        }
    }
    if (status == HF_OK) {
        /* RadioTap rebuild: its alignment pads come out as zeros (dissect.h `zeroed`).  The
         * header is always emitted verbatim at its frame offset (nothing before it changes
         * length: it is the first layer, or follows the unchanged PPI header). */
        size_t written = out->length - start;
        for (int i = 0; i < d->zeroed_count && i < HF_MAX_ZEROED; i++) {
            size_t offset = d->zeroed[i].offset, length = d->zeroed[i].length;
            if (offset <= written && length <= written - offset)
                memset(out->data + start + offset, 0, length);
        }
    }
    if (status == HF_OK && out->length - start > limit) out->length = start + limit;
    if (status != HF_OK) {
        out->length = start;
        if (status == HF_NOMEM)
            return hf_error_set(error, HF_NOMEM, -1, -1, "out of memory building a packet");
        return hf_error_set(error, status, -1, -1, "dissection does not match the frame");
    }
    return HF_OK;
}

hf_status hf_preprocess_packet_prefix_to(const uint8_t *frame, size_t caplen,
                                         const hf_dissection *dissection, hf_preprocess_mode mode,
                                         hf_address_map *addresses, size_t limit,
                                         uint8_t *destination, size_t *length, hf_buf *scratch,
                                         hf_error *error)
{
    if (length == NULL || scratch == NULL || (destination == NULL && limit > 0))
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "hf_preprocess_packet: NULL argument");
    *length = 0;
    hf_status status = check_arguments(frame, caplen, dissection, mode, addresses, scratch, error);
    if (status != HF_OK) return status;
    const hf_dissection *d = dissection;
    plan p;
    make_plan(d, &p);
    size_t full;
    /* Without a Dot11FCS trailer or RadioTap pads the string is a frame prefix (emit_packet's
     * verbatim case): copied once, straight to the destination, addresses mapped in place. */
    if (d->trailer_start == caplen && d->zeroed_count == 0 &&
        verbatim_length(caplen, d, &p, mode, &full)) {
        size_t n = full < limit ? full : limit;
        const uint8_t *source = frame_bytes(frame, caplen, 0, n);
        if (n > 0 && source == NULL)
            return hf_error_set(error, HF_ARGUMENT, -1, -1, "dissection does not match the frame");
        if (n > 0) memcpy(destination, source, n);
        if (p.packet_class != CLASS_UNKNOWN) {
            address_slots slots;
            init_slots(&slots, d, &p);
            verbatim_slots(d, &p, frame, full, 0, &slots);
            /* A view of the n bytes written: apply_slot writes inside [0, length) only and never
             * grows it. */
            hf_buf written = {destination, n, n};
            apply_addresses(&slots, addresses, frame, caplen, &written);
        }
        *length = n;
        return HF_OK;
    }
    scratch->length = 0;
    status = hf_preprocess_packet_prefix(frame, caplen, d, mode, addresses, limit, scratch, error);
    if (status != HF_OK) return status;
    if (scratch->length > 0) memcpy(destination, scratch->data, scratch->length);
    *length = scratch->length;
    return HF_OK;
}

int hf_preprocess_frame_prefix_to(const uint8_t *frame, size_t caplen, uint32_t linktype,
                                  hf_address_map *addresses, size_t limit, uint8_t *destination,
                                  size_t *length)
{
    enum { IP = 14 };   /* the IP header's offset after the Ethernet header */
    if (frame == NULL || linktype != HF_LINKTYPE_ETHERNET) return 0;
    hf_cursor c = hf_cursor_make(frame, caplen);
    const uint8_t *ether = NULL, *ip = NULL, *tcp = NULL;
    if (hf_read_bytes(&c, IP, &ether) != HF_OK) return 0;
    size_t ip_source, ip_length, ip_end;
    uint16_t ethertype = hf_span_be16(ether, 12);
    if (ethertype == 0x0800) {
        /* dissect_ipv4: no options, offset 0 and no MF (a whole datagram), TCP; the total
         * length within the frame (the rest is Padding; a snaplen cut goes the general way) */
        if (hf_read_bytes(&c, 20, &ip) != HF_OK || ip[0] != 0x45 ||
            (hf_span_be16(ip, 6) & 0x3fff) != 0 || ip[9] != 6)
            return 0;
        ip_end = IP + (size_t)hf_span_be16(ip, 2);
        ip_source = IP + 12;
        ip_length = 4;
    } else if (ethertype == 0x86dd) {
        /* dissect_ipv6: TCP as the next header (no extension header); the payload length
         * within the frame, as for IPv4 */
        if (hf_read_bytes(&c, 40, &ip) != HF_OK || (ip[0] >> 4) != 6 || ip[6] != 6) return 0;
        ip_end = IP + 40 + (size_t)hf_span_be16(ip, 4);
        ip_source = IP + 8;
        ip_length = 16;
    } else {
        return 0;
    }
    if (ip_end > caplen) return 0;
    /* dissect_tcp: the whole header (data offset >= 5, options included) inside the IP
     * payload */
    size_t transport = c.pos;
    c = hf_cursor_make(frame, ip_end);
    const uint8_t *bytes = NULL;
    if (hf_skip(&c, transport) != HF_OK || hf_read_bytes(&c, 20, &tcp) != HF_OK) return 0;
    size_t header_length = (size_t)(tcp[12] >> 4) * 4;
    if (header_length < 20 || hf_skip(&c, header_length - 20) != HF_OK) return 0;
    /* make_plan in NONE mode: a Raw or TLS layer after TCP cuts the string after TCP (R2,
     * transport.py:16-27); no payload, or a TLS continuation, keeps the whole frame, Padding
     * included. */
    size_t payload = transport + header_length, full = caplen;
    if (payload < ip_end) {
        size_t payload_length = hf_cursor_remaining(&c);
        (void)hf_read_bytes(&c, payload_length, &bytes);
        switch (hf_dissect_tcp_payload_class(bytes, payload_length, hf_span_be16(tcp, 0),
                                             hf_span_be16(tcp, 2))) {
        case HF_TCP_PAYLOAD_RAW:
        case HF_TCP_PAYLOAD_TLS: full = payload; break;
        case HF_TCP_PAYLOAD_CONTINUATION: break;
        default: return 0;
        }
    }
    size_t n = full < limit ? full : limit;
    if (n < ip_source + 2 * ip_length) return 0;   /* apply_cut_slot's case: the general path */
    memcpy(destination, frame, n);
    /* the verbatim path's slots for such a frame (init_slots, verbatim_slots): both MACs and
     * both IP addresses inside the n bytes written */
    address_slots slots = {.ether_source = 6, .ether_destination = 0,
                           .ip_source = (long)ip_source,
                           .ip_destination = (long)(ip_source + ip_length),
                           .ip_length = (uint8_t)ip_length, .ether_present = 1,
                           .ip_offset = ip_source, .verbatim = frame, .verbatim_base = 0};
    hf_buf written = {destination, n, n};
    apply_addresses(&slots, addresses, frame, caplen, &written);
    *length = n;
    return 1;
}

hf_status hf_preprocess_packet(const uint8_t *frame, size_t caplen,
                               const hf_dissection *dissection, hf_preprocess_mode mode,
                               hf_address_map *addresses, hf_buf *out, hf_error *error)
{
    return hf_preprocess_packet_prefix(frame, caplen, dissection, mode, addresses, SIZE_MAX, out,
                                       error);
}

/* ---- dedup key (§2.8) ---------------------------------------------------------------------- */

static hf_status append_value(hf_buf *out, const uint8_t *value, size_t length, int present)
{
    hf_status status = hf_buf_append_byte(out, (uint8_t)present);
    uint8_t n[4] = {(uint8_t)(length >> 24), (uint8_t)(length >> 16), (uint8_t)(length >> 8),
                    (uint8_t)length};
    if (status == HF_OK) status = hf_buf_append(out, n, 4);
    if (status == HF_OK && length) status = hf_buf_append(out, value, length);
    return status;
}

static hf_status append_header_value(hf_buf *out, const uint8_t *frame, const hf_layer *l,
                                     const char *name)
{
    const uint8_t *value = NULL;
    size_t length = 0;
    int found = hf_dissect_http_header(frame, l->offset, l->length, name, &value, &length);
    return append_value(out, value, length, found);
}

hf_status hf_preprocess_dedup_key(const uint8_t *frame, size_t caplen,
                                  const hf_dissection *dissection, hf_buf *out)
{
    if ((!frame && caplen) || !dissection || !out) return HF_ARGUMENT;
    const hf_dissection *d = dissection;
    plan p;
    make_plan(d, &p);
    size_t start = out->length;
    hf_status status = HF_OK;
    packet_class c = p.packet_class;
    if (c == CLASS_HTTP_REQUEST || c == CLASS_HTTP_RESPONSE) {
        const hf_layer *l = &d->layers[c == CLASS_HTTP_REQUEST ? d->first_http_request
                                                                : d->first_http_response];
        const uint8_t *token[3];
        size_t token_length[3];
        int three = hf_dissect_http_first_line(frame, l->offset, l->length, token, token_length) == 3;
        if (c == CLASS_HTTP_REQUEST) {
            status = hf_buf_append_byte(out, 'Q');
            if (status == HF_OK)
                status = three ? append_value(out, token[1], token_length[1], 1)
                               : append_value(out, (const uint8_t *)"/", 1, 1);
            if (status == HF_OK)
                status = three ? append_value(out, token[0], token_length[0], 1)
                               : append_value(out, (const uint8_t *)"GET", 3, 1);
            if (status == HF_OK) status = append_header_value(out, frame, l, "accept");
        } else {
            status = hf_buf_append_byte(out, 'R');
            if (status == HF_OK) status = append_header_value(out, frame, l, "server");
            if (status == HF_OK)
                status = three ? append_value(out, token[1], token_length[1], 1)
                               : append_value(out, (const uint8_t *)"200", 3, 1);
            if (status == HF_OK) status = append_header_value(out, frame, l, "connection");
        }
    } else if (c >= CLASS_TRANSPORT && d->first_tcp != HF_NO_LAYER) {
        const hf_layer *l = &d->layers[d->first_tcp];
        status = hf_buf_append_byte(out, 'T');
        if (status == HF_OK) status = hf_buf_append_be16(out, tcp_flags(frame, caplen, l));
        if (status == HF_OK && l->length > 20) {
            const uint8_t *options = frame_bytes(frame, caplen, l->offset + 20, l->length - 20);
            status = options ? hf_preprocess_tcp_options(options, l->length - 20, 0, out) : HF_ARGUMENT;
        }
    } else if (c >= CLASS_TRANSPORT) {
        status = hf_buf_append_byte(out, 'U');
    } else if (c == CLASS_IP && d->first_ipv4 != HF_NO_LAYER) {
        const hf_layer *l = &d->layers[d->first_ipv4];
        uint8_t key[4] = {'4', (uint8_t)(frame_byte(frame, caplen, l->offset, 0x45) >> 4),
                          l->length >= 8 ? (uint8_t)(frame_byte(frame, caplen, l->offset + 6, 0) >> 5) : 0,
                          l->length >= 10 ? frame_byte(frame, caplen, l->offset + 9, 0) : 0};
        status = hf_buf_append(out, key, 4);
    } else if (c == CLASS_IP) {
        const hf_layer *l = &d->layers[d->first_ipv6];
        uint8_t b0 = frame_byte(frame, caplen, l->offset, 0x60);
        uint8_t b1 = frame_byte(frame, caplen, l->offset + 1, 0);
        uint8_t key[4] = {'6', (uint8_t)(b0 >> 4),
                          l->length >= 4 ? (uint8_t)(((b0 & 15) << 4) | (b1 >> 4)) : 0,
                          l->length >= 8 ? frame_byte(frame, caplen, l->offset + 7, 64) : 64};
        status = hf_buf_append(out, key, 4);
    } else {
        status = hf_buf_append_byte(out, 'E');
    }
    if (status != HF_OK) out->length = start;
    return status;
}
