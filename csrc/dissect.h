/*
 * dissect.h -- the layer chain of one captured frame, as scapy 2.5 (the dissector heifip 1.1.1
 * runs) would build it.
 *
 * Pipeline: reader -> dissect -> preprocess -> flows -> render -> png.  The dissector does not
 * decode protocols for their own sake: it reproduces the *shape* of scapy's dissection that
 * heifip 1.1.1's per-packet rules look at (reference-semantics.md §2.1-§2.5): which layer classes
 * occur (exact class equality: Padding, IPerror, TCPerror, _TLSEncryptedContent ... are not
 * Raw/IP/TCP/TLS), where the first Ether/IPv4/IPv6/TCP/UDP/DNS/HTTP layers are, where each header
 * starts and ends, and where the trailing Padding starts.  Everything is offsets into the caller's
 * frame; nothing is copied or allocated.
 *
 * Normative reference: reference-semantics.md §1.3 (link types), §1.4 (truncated packets), §2.4
 * (the scapy dissection model: payload classes, port tables, HTTP/TLS/DNS), Appendix A (model).
 * Where the model and the running heifip 1.1.1 + scapy 2.5.0 disagree, the running reference was
 * followed; each such place cites it.
 *
 * Thread-safety: no global or static mutable state; hf_dissect_packet may run concurrently on
 * any number of threads as long as each call has its own `out`.
 */
#ifndef HF_DISSECT_H
#define HF_DISSECT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* A packet with more layers than this: the rest is kept as one opaque payload layer
 * (HF_LAYER_OPAQUE), which is neither Raw nor any class the rules test. */
#define HF_MAX_LAYERS 32

/* RadioTap alignment pads recorded per frame: scapy's RadioTap has 15 aligned fields. */
#define HF_MAX_ZEROED 16

/* Link types (pcap LINKTYPE_* values) the dissector knows (§1.3). */
#define HF_LINKTYPE_NULL 0
#define HF_LINKTYPE_ETHERNET 1
#define HF_LINKTYPE_PPP 9
#define HF_LINKTYPE_PPP_HDLC 50
#define HF_LINKTYPE_PPP_ETHER 51
#define HF_LINKTYPE_RAW_OPENBSD 12
#define HF_LINKTYPE_RAW_BSDOS 14
#define HF_LINKTYPE_RAW 101
#define HF_LINKTYPE_IEEE802_11 105
#define HF_LINKTYPE_LOOP 108
#define HF_LINKTYPE_LINUX_SLL 113
#define HF_LINKTYPE_IEEE802_11_RADIOTAP 127
#define HF_LINKTYPE_PPI 192
#define HF_LINKTYPE_IPV4 228
#define HF_LINKTYPE_IPV6 229
#define HF_LINKTYPE_LINUX_SLL2 276

/* Layer classes.  Each names the scapy class (or family of classes) it stands for. */
typedef enum hf_layer_kind {
    HF_LAYER_RAW = 0,          /* scapy Raw: undissected bytes (triggers payload removal, §2.3) */
    HF_LAYER_OPAQUE,           /* any other payload class that carries no Raw (application
                                  dissectors, ESP, ICMPv6 bodies, _TLSEncryptedContent-like data
                                  we do not model, and the rest beyond HF_MAX_LAYERS) */
    HF_LAYER_ETHER,            /* Ether (14 bytes; shorter only for the 0/6/12-byte frames, §1.4) */
    HF_LAYER_DOT3,             /* Dot3 (802.3 with length field): not Ether (P35) */
    HF_LAYER_LLC,              /* LLC (3 bytes) */
    HF_LAYER_SNAP,             /* SNAP (5 bytes) */
    HF_LAYER_LOOPBACK,         /* Loopback (DLT_NULL/LOOP, 4 bytes) */
    HF_LAYER_SLL,              /* CookedLinux (16 bytes) */
    HF_LAYER_SLL2,             /* CookedLinuxV2 (20 bytes) */
    HF_LAYER_DOT1Q,            /* Dot1Q / Dot1AD (4 bytes) */
    HF_LAYER_ARP,              /* ARP */
    HF_LAYER_PPPOE,            /* PPPoE session header (6 bytes) */
    HF_LAYER_PPP,              /* PPP protocol field (2 bytes) */
    HF_LAYER_IPV4,             /* IP */
    HF_LAYER_IPV6,             /* IPv6 (40 bytes) */
    HF_LAYER_IPV6_EXTENSION,   /* IPv6ExtHdrHopByHop/Routing/DestOpt/Fragment, AH */
    HF_LAYER_GRE,              /* GRE / GRE_PPTP */
    HF_LAYER_ERSPAN,           /* ERSPAN headers */
    HF_LAYER_VXLAN,            /* VXLAN (8 bytes) */
    HF_LAYER_TCP,              /* TCP */
    HF_LAYER_UDP,              /* UDP (8 bytes) */
    HF_LAYER_ICMP,             /* ICMP */
    HF_LAYER_ICMPV6,           /* ICMPv6 (any type-specific class) */
    HF_LAYER_ERROR_QUOTE,      /* IPerror/TCPerror/UDPerror/ICMPerror/IPerror6: not IP/TCP/UDP */
    HF_LAYER_DNS,              /* DNS (over TCP: includes the 2-byte length prefix) */
    HF_LAYER_HTTP,             /* HTTP (0 bytes: the marker scapy puts on ports 80/8080) */
    HF_LAYER_HTTP_REQUEST,     /* HTTPRequest: the header block incl. the final CRLFCRLF */
    HF_LAYER_HTTP_RESPONSE,    /* HTTPResponse: same */
    HF_LAYER_HTTP2,            /* H2Frame (payload kept, not Raw, P38) */
    HF_LAYER_TLS,              /* TLS record (payload removed, §2.4) */
    HF_LAYER_TLS_CONTINUATION, /* _TLSEncryptedContent / SSLv2: kept (P10) */
    HF_LAYER_OPAQUE_HEADER,    /* a header no rule looks at (RadioTap, PPI, Dot11, Dot11QoS):
                                  emitted verbatim (RadioTap pads: see `zeroed`) */
    HF_LAYER_KIND_COUNT
} hf_layer_kind;

/* hf_layer.flags */
#define HF_LAYER_FLAG_PARTIAL 0x1u  /* header cut short at a field boundary: scapy filled the
                                       missing fields with defaults (§1.4) */

typedef struct hf_layer {
    uint8_t kind;        /* an hf_layer_kind */
    uint8_t flags;       /* HF_LAYER_FLAG_* */
    uint16_t reserved;   /* zero */
    uint32_t offset;     /* first byte of the layer in the frame */
    uint32_t length;     /* bytes of the layer: the header for protocol layers, everything up to
                            the padding for payload layers; layer i+1 starts at offset+length */
} hf_layer;

#define HF_NO_LAYER (-1)

/* The dissection of one frame.  Stack-allocatable, no heap, never needs freeing: every field
 * is (re)written by hf_dissect_packet, except the entries of `layers` and `zeroed` beyond
 * layer_count / zeroed_count, which are left as they were (never read them).  All offsets are
 * into the frame passed to hf_dissect_packet and valid only together with it. */
typedef struct hf_dissection {
    size_t caplen;               /* the frame length given to hf_dissect_packet */
    uint32_t linktype;           /* as given */
    int layer_count;             /* 0..HF_MAX_LAYERS entries of `layers` are valid */
    hf_layer layers[HF_MAX_LAYERS];
    size_t padding_start;        /* bytes [padding_start, trailer_start) are scapy Padding
                                    (the Ethernet trailer, bytes past IP/UDP lengths);
                                    == trailer_start when there is none.  Layers end at or
                                    before padding_start. */
    size_t trailer_start;        /* bytes [trailer_start, caplen) are the 4-byte FCS of a
                                    Dot11FCS layer (RadioTap with the FCS flag): scapy's
                                    FCSField takes them from the end of the packet, and its
                                    rebuild appends them right after the Dot11FCS payload,
                                    i.e. BEFORE the Padding (scapy:fields.py TrailerField).
                                    == caplen when there is none. */
    /* scapy rebuilds every RadioTap header it dissects (its FCS/notdecoded handling resets
     * raw_packet_cache), and the rebuild writes zeros into the alignment bytes that the
     * ReversePadFields skipped (scapy:layers/dot11.py RadioTap, scapy:fields.py
     * ReversePadField.addfield).  Each range [offset, offset+length) of the frame is such a
     * pad; the output has zeros there whatever the packet class (the header is never cut). */
    int zeroed_count;
    struct {
        uint32_t offset;
        uint32_t length;
    } zeroed[HF_MAX_ZEROED];

    /* Facts the rules of §2.3 test (set by hf_dissect_packet, always valid). */
    uint8_t has_raw;             /* a Raw layer anywhere */
    uint8_t has_tls;             /* a TLS layer anywhere */
    uint8_t has_http;            /* an HTTP layer anywhere */
    uint8_t ether_rebuilt;       /* the frame is a 0/6/12-byte Ethernet frame that scapy
                                    rebuilds to 14 bytes (§1.4, P36) */
    /* Index into `layers` of the first layer of each class, or HF_NO_LAYER. */
    int first_ether;
    int first_ipv4;
    int first_ipv6;
    int first_tcp;
    int first_udp;
    int first_dns;
    int first_http_request;
    int first_http_response;

    /* Facts for the flow stage (valid when the named layer exists). */
    struct {
        uint8_t version;            /* 4 or 6; 0 when the packet has no IPv4/IPv6 layer */
        size_t source_offset;       /* offset of the source address in the frame */
        size_t destination_offset;  /* offset of the destination address */
        uint8_t address_length;     /* 4 or 16; 0 when the addresses were not captured */
        uint8_t protocol;           /* IPv4 proto / IPv6 next header of the fixed header */
        uint16_t fragment_offset;   /* IPv4 13-bit offset in 8-byte units; IPv6: from the
                                       first Fragment header (0 when none) */
        uint8_t more_fragments;     /* MF flag (IPv4) / M flag (IPv6 Fragment header) */
        uint32_t identification;    /* IPv4 id; IPv6 Fragment identification */
    } network;                     /* of the FIRST IPv4 layer, else of the first IPv6 layer */
    struct {
        uint8_t protocol;           /* 6 (TCP), 17 (UDP) or 0 when neither exists */
        uint16_t source_port;
        uint16_t destination_port;
        uint16_t tcp_flags;         /* 9-bit TCP flags incl. NS (0 for UDP) */
    } transport;                   /* of the first TCP layer, else of the first UDP layer */

    /* DNS facts for HEADER mode (valid when first_dns != HF_NO_LAYER). */
    uint8_t dns_over_tcp;         /* the DNS layer starts with the 2-byte TCP length prefix */
} hf_dissection;

/*
 * Dissect one frame of `caplen` bytes captured with `linktype`.
 *
 * Preconditions: `frame` points to `caplen` readable bytes (may be NULL when caplen == 0).
 * OUT: *out is rewritten (all but the unused entries of `layers` and `zeroed`).
 * Returns HF_OK, or HF_ARGUMENT when `out` is NULL or `frame` is NULL with caplen > 0.  Never fails
 * on packet content: truncated or invalid inner layers become Raw (scapy's behaviour) or opaque.
 * Ownership: `out` borrows nothing; its offsets refer to `frame`.
 * Thread-safety: reentrant.
 */
hf_status hf_dissect_packet(const uint8_t *frame, size_t caplen, uint32_t linktype,
                            hf_dissection *out);

/* Name of a layer kind ("TCP"); never NULL.  For diagnostics and tests. */
const char *hf_dissect_layer_name(hf_layer_kind kind);

/* What the dissector makes of the `length` (> 0) bytes of a TCP payload between these ports
 * (the port bindings and the TLS record test of hf_dissect_packet, without a dissection), for a
 * caller that takes the commonest frames straight from their bytes (preprocess.h,
 * hf_preprocess_frame_prefix_to):
 *   HF_TCP_PAYLOAD_RAW           no binding: one Raw layer;
 *   HF_TCP_PAYLOAD_TLS           bound to TLS and starting with a record header: a TLS layer;
 *   HF_TCP_PAYLOAD_CONTINUATION  bound to TLS, no record header: a TLS continuation (neither
 *                                Raw nor TLS, §2.4 P10);
 *   HF_TCP_PAYLOAD_OTHER         any other binding (DNS, HTTP, NBT, ...): dissect the packet. */
typedef enum hf_tcp_payload_class {
    HF_TCP_PAYLOAD_RAW = 0,
    HF_TCP_PAYLOAD_TLS,
    HF_TCP_PAYLOAD_CONTINUATION,
    HF_TCP_PAYLOAD_OTHER
} hf_tcp_payload_class;
hf_tcp_payload_class hf_dissect_tcp_payload_class(const uint8_t *payload, size_t length,
                                                  uint16_t source_port,
                                                  uint16_t destination_port);

/* 1 when the dissector looks for a further frame inside a UDP payload between these ports
 * (VXLAN, L2TP: hf_dissect_packet goes on with the link or network layer inside), else 0.  For
 * hf_flow_key_from_frame (flows.h): behind an outer IPv6 header an inner IPv4 header would give
 * the flow key (§P4, IPv4 wins), so such frames are left to the dissection. */
int hf_dissect_udp_ports_tunnel(uint16_t source_port, uint16_t destination_port);

/* ------------------------------------------------------------------------------------------ */
/* DNS message walking, shared by the dissector (is it DNS or Raw?) and preprocess (HEADER
 * mode re-encodes the records).  Implemented in dissect_dns.c. */

/* Called for every record of a DNS message, in section order.  `section` is 0 (qd), 1 (an),
 * 2 (ns) or 3 (ar); `message` is the DNS message without its 12-byte header (the space scapy
 * resolves compression pointers in); the name starts at `name_offset` in `message`; `type` is
 * the record type.  Return HF_OK to continue; any other status stops the walk and is returned. */
typedef hf_status (*hf_dns_record_visitor)(void *context, int section, const uint8_t *message,
                                            size_t message_length, size_t name_offset,
                                            uint16_t type);

/* Result of hf_dissect_dns_walk. */
typedef struct hf_dns_walk {
    int valid;                   /* 1: scapy dissects a DNS layer; 0: the bytes become Raw */
    int partial;                 /* 1: fewer than 12 header bytes (fields took defaults) */
    size_t dns_length;           /* bytes of the DNS layer (incl. a TCP length prefix) */
    uint8_t section_present[4];  /* 1 when the section holds at least one record */
} hf_dns_walk;

/*
 * Walk the DNS message in `payload` (the transport payload up to the padding) as scapy 2.5 does
 * (§2.4 "DNS", §2.5 "DNS").  `over_tcp`: the message starts with the 2-byte length prefix.
 * `visitor` may be NULL (only the shape is computed).  OUT: *walk.
 * Returns HF_OK or the first non-OK status a visitor returned.  Reentrant.
 */
hf_status hf_dissect_dns_walk(const uint8_t *payload, size_t length, int over_tcp,
                              hf_dns_record_visitor visitor, void *context, hf_dns_walk *walk);

/*
 * Decompress the DNS name at `name_offset` of `message` as scapy 2.5's dns_get_str does
 * (labels joined and each followed by '.', compression pointers followed once each) and pass it
 * on in pieces: `sink` is called with consecutive byte ranges whose concatenation is the name.
 * Returns HF_OK or the first non-OK status of `sink`.  Reentrant; uses no heap.
 */
typedef hf_status (*hf_dns_name_sink)(void *context, const uint8_t *bytes, size_t length);
hf_status hf_dissect_dns_name(const uint8_t *message, size_t message_length, size_t name_offset,
                              hf_dns_name_sink sink, void *context);

/* ------------------------------------------------------------------------------------------ */
/* HTTP helpers, shared by the dissector and preprocess (HEADER mode).  dissect_http.c.
 * All take the frame and a byte range; all reads are bounded; all are reentrant. */

typedef enum hf_http_message_kind {
    HF_HTTP_NOT_HTTP = 0,  /* Raw: no CRLF, not UTF-8, or no request/status line */
    HF_HTTP_REQUEST,
    HF_HTTP_RESPONSE
} hf_http_message_kind;

/* Classify the payload [offset, end) of an HTTP port as scapy 2.5's HTTP.guess_payload_class
 * does (§2.4 "HTTP" steps 2-4).  OUT: *header_length = bytes of the header block (up to and
 * including the first CRLFCRLF, or all bytes when there is none). */
hf_http_message_kind hf_dissect_http_classify(const uint8_t *frame, size_t offset, size_t end,
                                               size_t *header_length);

/* Index of the first CRLF in p[from, length), or `length` when there is none. */
size_t hf_http_find_crlf(const uint8_t *p, size_t from, size_t length);
/* 1 when the `length` bytes are valid UTF-8 as Python's strict decoder defines it. */
int hf_http_line_is_utf8(const uint8_t *line, size_t length);
/* The request / status line regular expressions of scapy 2.5 (§2.4), on a first line without
 * its CRLF.  Digits are ASCII digits. */
int hf_http_matches_request_line(const uint8_t *line, size_t length);
int hf_http_matches_status_line(const uint8_t *line, size_t length);

/* Look up header `name` (lower case, '_' for '-') in the header block [offset, offset+length)
 * the way scapy's _parse_headers does: lines split at CRLF, the first line skipped, each line
 * split at its first ':', names stripped, '-' -> '_', case-insensitive; the LAST match wins.
 * OUT: *value / *value_length = the stripped value (pointing into `frame`).  Returns 1 if found. */
int hf_dissect_http_header(const uint8_t *frame, size_t offset, size_t length, const char *name,
                           const uint8_t **value, size_t *value_length);

/* Split the first line of the header block like re.split(rb"\s+", first_line.strip(), 2).
 * OUT: token[i] / token_length[i] for i < the returned count (1..3). */
int hf_dissect_http_first_line(const uint8_t *frame, size_t offset, size_t length,
                               const uint8_t *token[3], size_t token_length[3]);

#endif /* HF_DISSECT_H */
