/*
 * dissect.c -- link, network and transport layers of the scapy 2.5 dissection model
 * (reference-semantics.md §1.3, §1.4, §2.4), plus the dispatch tables.  Application payloads
 * (DNS, HTTP, TLS, HTTP/2) are classified in dissect_app.c / dissect_dns.c.
 *
 * How scapy decides, and what we copy from it:
 *   - A layer whose fields cannot be read (a field cut in the middle, an exception in a
 *     dissector) is replaced by Raw holding all bytes of its parent's payload (§1.4).
 *   - A header cut exactly at a field boundary is not an error: the missing fields take
 *     defaults (HF_LAYER_FLAG_PARTIAL).  scapy's loop is `while s and flist`.
 *   - extract_padding splits each layer's bytes into payload and Padding (IPv4 `len`, IPv6
 *     `plen`, UDP `len`, Dot3/PPPoE `len`, ARP); Padding bytes always form the frame's tail.
 *   - The payload class is chosen by the bindings in the order scapy tries them (tables below).
 *
 * Header layouts (offsets in bytes from the layer start):
 *   Ether      0 dst(6) 6 src(6) 12 type(2)                     = 14
 *   Dot3       0 dst(6) 6 src(6) 12 len(2)                      = 14, then LLC
 *   LLC        0 dsap 1 ssap 2 ctrl                              = 3, SNAP when dsap=ssap=0xaa
 *   SNAP       0 OUI(3) 3 code(2)                                = 5
 *   Dot1Q      0 prio/id/vlan(2) 2 type(2)                       = 4
 *   PPPoE      0 ver/type 1 code 2 session(2) 4 len(2)           = 6, then PPP proto(2)
 *   SLL        0 pkttype(2) 2 hatype(2) 4 halen(2) 6 addr(8) 14 proto(2) = 16
 *   SLL2       0 proto(2) 2 reserved(2) 4 ifindex(4) 8 hatype(2) 10 pkttype 11 halen 12 addr(8)
 *   IPv4       0 ver/ihl 1 tos 2 len(2) 4 id(2) 6 flags/frag(2) 8 ttl 9 proto 10 chksum(2)
 *              12 src(4) 16 dst(4) 20 options((ihl-5)*4)
 *   IPv6       0 ver/tc/flow(4) 4 plen(2) 6 nh 7 hlim 8 src(16) 24 dst(16) = 40
 *   IPv6 ext   0 nh 1 len -> (len+1)*8 (HBH 0, Routing 43, DestOpt 60); Fragment 44 = 8;
 *              AH 51: 0 nh 1 payloadlen -> (payloadlen+2)*4
 *   GRE        0 flags/version(2) 2 proto(2) [chksum+offset(4) if C|R] [key(4) if K] [seq(4) if S]
 *   UDP        0 sport 2 dport 4 len 6 chksum                    = 8
 *   TCP        0 sport 2 dport 4 seq(4) 8 ack(4) 12 dataofs/flags(2) 14 window 16 chksum
 *              18 urgptr 20 options((dataofs-5)*4)
 *   ICMP       0 type 1 code 2 chksum(2) 4 type-specific (see icmp_header_length)
 *   VXLAN      0 flags 1..7 (layout by flags) = 8
 */
#include "dissect.h"

#include <string.h>

#include "dissect_internal.h"

/* Does a header of which only `available` bytes were captured stop exactly at one of the
 * field boundaries in `boundaries` (ascending, terminated by 0)?  Then scapy fills defaults
 * (§1.4); otherwise a field was cut and the layer becomes Raw. */
static int at_field_boundary(size_t available, const uint8_t *boundaries)
{
    for (; *boundaries; boundaries++)
        if (*boundaries == available) return 1;
    return 0;
}

/* ---- forward declarations ---------------------------------------------------------------- */

static void dissect_ethertype(hf_dissector *d, uint16_t type, size_t offset, size_t end);
static void dissect_ether(hf_dissector *d, size_t offset, size_t end);
static void dissect_ipv4(hf_dissector *d, size_t offset, size_t end, int error_quote);
static void dissect_ipv6(hf_dissector *d, size_t offset, size_t end, int error_quote);
static void dissect_ip_protocol(hf_dissector *d, uint8_t protocol, int first_fragment, size_t offset,
                                size_t end, int ipv6, int error_quote);
static void dissect_tcp(hf_dissector *d, size_t offset, size_t end, int error_quote);
static void dissect_udp(hf_dissector *d, size_t offset, size_t end, int error_quote);
static void dissect_icmp(hf_dissector *d, size_t offset, size_t end, int error_quote);
static void dissect_llc(hf_dissector *d, size_t offset, size_t end);
static void dissect_dot11(hf_dissector *d, size_t offset, size_t end, int fcs);
static void dissect_ppp(hf_dissector *d, size_t offset, size_t end);
static void dissect_l2tp(hf_dissector *d, size_t offset, size_t end);

/* ---- link layers ---------------------------------------------------------------------- */

/* Ether, 14 bytes; the caller guarantees 14 bytes and type > 1500. */
static void dissect_ether(hf_dissector *d, size_t offset, size_t end)
{
    uint16_t type = 0;
    if (end - offset < 14 || !hf_dissector_be16(d, offset + 12, &type)) {
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    if (type <= 1500) {
        /* scapy Ether.dispatch_hook -> Dot3 (scapy:layers/l2.py:264-268, P35).  Dot3 has a
         * length field: the bytes past it are Padding. */
        if (hf_dissector_add_layer(d, HF_LAYER_DOT3, offset, 14, end, 0) < 0) return;
        size_t payload_end = end;
        if ((size_t)type < end - offset - 14) payload_end = offset + 14 + type;
        hf_dissector_set_padding(d, payload_end);
        dissect_llc(d, offset + 14, payload_end);
        return;
    }
    if (hf_dissector_add_layer(d, HF_LAYER_ETHER, offset, 14, end, 0) < 0) return;
    /* dissect_ethertype's two commonest cases, without its dispatch. */
    if (type == 0x0800 && offset + 14 < end) dissect_ipv4(d, offset + 14, end, 0);
    else if (type == 0x86dd && offset + 14 < end) dissect_ipv6(d, offset + 14, end, 0);
    else dissect_ethertype(d, type, offset + 14, end);
}

static void dissect_llc(hf_dissector *d, size_t offset, size_t end)
{
    if (offset >= end) return;
    if (end - offset < 3) {
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    uint8_t dsap = hf_dissector_byte_or_zero(d, offset), ssap = hf_dissector_byte_or_zero(d, offset + 1);
    if (hf_dissector_add_layer(d, HF_LAYER_LLC, offset, 3, end, 0) < 0) return;
    offset += 3;
    if (dsap == 0xaa && ssap == 0xaa) {
        uint16_t code = 0;
        if (end - offset < 5 || !hf_dissector_be16(d, offset + 3, &code)) {
            hf_dissector_add_raw(d, offset, end);
            return;
        }
        if (hf_dissector_add_layer(d, HF_LAYER_SNAP, offset, 5, end, 0) < 0) return;
        dissect_ethertype(d, code, offset + 5, end);
        return;
    }
    /* STP (0x42) and the other LLC payloads carry no IP: their class does not matter to the
     * rules, which only act on IP/TCP/UDP packets (a Dot3 frame is not Ether, §2.3). */
    hf_dissector_add_opaque(d, offset, end);
}

static void dissect_dot1q(hf_dissector *d, size_t offset, size_t end)
{
    uint16_t type = 0;
    if (end - offset < 4 || !hf_dissector_be16(d, offset + 2, &type)) {
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    if (hf_dissector_add_layer(d, HF_LAYER_DOT1Q, offset, 4, end, 0) < 0) return;
    offset += 4;
    if (type <= 1500) {
        /* Dot1Q with a length: LLC follows, the rest is Padding (scapy:layers/l2.py Dot1Q). */
        size_t payload_end = end;
        if ((size_t)type < end - offset) payload_end = offset + type;
        hf_dissector_set_padding(d, payload_end);
        dissect_llc(d, offset, payload_end);
        return;
    }
    dissect_ethertype(d, type, offset, end);
}

static void dissect_arp(hf_dissector *d, size_t offset, size_t end)
{
    /* ARP: 8 fixed bytes, then hwsrc(hwlen) psrc(plen) hwdst(hwlen) pdst(plen); the rest is
     * Padding (ARP.extract_padding).  No IP layer: nothing here is ever rewritten. */
    uint8_t hardware_length = 6, protocol_length = 4;
    (void)hf_dissector_byte(d, offset + 4, &hardware_length);
    (void)hf_dissector_byte(d, offset + 5, &protocol_length);
    size_t length = 8 + 2 * (size_t)hardware_length + 2 * (size_t)protocol_length;
    if (length > end - offset) length = end - offset;
    if (hf_dissector_add_layer(d, HF_LAYER_ARP, offset, length, end, 0) < 0) return;
    hf_dissector_set_padding(d, offset + length);
}

static void dissect_pppoe(hf_dissector *d, size_t offset, size_t end)
{
    uint16_t length = 0;
    if (end - offset < 6 || !hf_dissector_be16(d, offset + 4, &length)) {
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    if (hf_dissector_add_layer(d, HF_LAYER_PPPOE, offset, 6, end, 0) < 0) return;
    offset += 6;
    size_t payload_end = end;
    if ((size_t)length < end - offset) payload_end = offset + length;
    hf_dissector_set_padding(d, payload_end);
    dissect_ppp(d, offset, payload_end);
}

static void dissect_ppp(hf_dissector *d, size_t offset, size_t end)
{
    uint8_t first = 0;
    if (offset >= end || !hf_dissector_byte(d, offset, &first)) return;
    if (first == 0xff) {
        /* PPP.dispatch_hook: 0xff starts an HDLC address/control pair, then PPP again. */
        if (end - offset < 2) {
            hf_dissector_add_raw(d, offset, end);
            return;
        }
        if (hf_dissector_add_layer(d, HF_LAYER_PPP, offset, 2, end, 0) < 0) return;
        dissect_ppp(d, offset + 2, end);
        return;
    }
    /* _PPPProtoField: a protocol whose first byte is odd is the 1-byte compressed form (PFC);
     * otherwise 2 bytes (oracle: PPPoE/PPP(proto=0x21) is built and dissected as 1 byte). */
    uint16_t protocol = first;
    size_t length = 1;
    if (!(first & 1)) {
        if (end - offset < 2 || !hf_dissector_be16(d, offset, &protocol)) {
            hf_dissector_add_raw(d, offset, end);
            return;
        }
        length = 2;
    }
    if (hf_dissector_add_layer(d, HF_LAYER_PPP, offset, length, end, 0) < 0) return;
    offset += length;
    if (offset >= end) return;
    switch (protocol) {
    case 0x0021: dissect_ipv4(d, offset, end, 0); return;
    case 0x0057: dissect_ipv6(d, offset, end, 0); return;
    case 0xc021: case 0x8021: case 0xc023: case 0xc223: case 0xc227: case 0x8053:
        hf_dissector_add_opaque(d, offset, end); /* LCP/IPCP/PAP/CHAP/EAP/ECP: no IP */
        return;
    default:
        hf_dissector_add_raw(d, offset, end); /* no binding (scapy:layers/ppp.py:896-903) */
        return;
    }
}

/* Ethertype dispatch (scapy bind_layers on Ether/Dot1Q/SNAP/CookedLinux 'type'/'proto'). */
static void dissect_ethertype(hf_dissector *d, uint16_t type, size_t offset, size_t end)
{
    if (offset >= end) return;
    switch (type) {
    case 0x0800: dissect_ipv4(d, offset, end, 0); return;
    case 0x86dd: dissect_ipv6(d, offset, end, 0); return;
    case 0x0806: dissect_arp(d, offset, end); return;
    case 0x8100:
    case 0x88a8: dissect_dot1q(d, offset, end); return;
    case 0x8864: dissect_pppoe(d, offset, end); return;
    case 0x6558: dissect_ether(d, offset, end); return; /* transparent Ethernet bridging */
    /* Ethertypes scapy 2.5 dissects with a loaded class that carries no IP. */
    case 0x8863: /* PPPoED */
    case 0x888e: /* EAPOL */
    case 0x88cc: /* LLDP */
    case 0x8035: /* RARP */
        hf_dissector_add_opaque(d, offset, end);
        return;
    default:
        /* Unbound ethertypes, MPLS 0x8847 included (contrib, not loaded, §2.4): Raw. */
        hf_dissector_add_raw(d, offset, end);
        return;
    }
}

/* IEEE 802.11 (DLT 105: scapy Dot11; inside RadioTap: Dot11, or Dot11FCS when the RadioTap
 * Flags field has FCS 0x10).  Only unprotected data frames can carry IP (via LLC/SNAP); every
 * other frame has no IP, so its class (U) leaves it unchanged and its inner layers do not
 * matter.  Dot11 data header: 0 frame control(2) 2 duration(2) 4 addr1 10 addr2 16 addr3
 * 22 sequence(2) [24 addr4 when ToDS and FromDS], then Dot11QoS (2 bytes) for QoS subtypes.
 *
 * Dot11FCS (`fcs`): its last field, FCSField, is a TrailerField: it is read after the header
 * fields, from the last 4 bytes of what is left, which the payload then no longer sees
 * (scapy:fields.py TrailerField.getfield).  Fewer than 4 bytes there: struct.error, and the
 * whole Dot11FCS becomes Raw (do_dissect_payload). */
static void dissect_dot11(hf_dissector *d, size_t offset, size_t end, int fcs)
{
    uint8_t control0 = 0, control1 = 0;
    if (!hf_dissector_byte(d, offset, &control0) || !hf_dissector_byte(d, offset + 1, &control1)) {
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    unsigned type = (control0 >> 2) & 3, subtype = control0 >> 4;
    int data = type == 2 && !(control1 & 0x40) && !(subtype & 0x04);
    size_t length = 24 + ((control1 & 3) == 3 ? 6 : 0);
    if (fcs) {
        /* Management and control frames: we do not walk their header; any header is at
         * least 10 bytes (frame control, ID, addr1), so we need the FCS after it. */
        size_t header = data ? length : 10;
        if (end - offset < header + 4) {
            hf_dissector_add_raw(d, offset, end);
            return;
        }
        end -= 4;
        if (d->out->trailer_start == d->out->caplen) {
            d->out->trailer_start = end;
            hf_dissector_set_padding(d, end);
        }
    }
    if (!data) {
        hf_dissector_add_opaque(d, offset, end); /* management/control/protected/null data */
        return;
    }
    if (end - offset < length) {
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    if (hf_dissector_add_layer(d, HF_LAYER_OPAQUE_HEADER, offset, length, end, 0) < 0) return;
    offset += length;
    if (subtype & 0x08) {
        if (end - offset < 2) {
            hf_dissector_add_raw(d, offset, end);
            return;
        }
        if (hf_dissector_add_layer(d, HF_LAYER_OPAQUE_HEADER, offset, 2, end, 0) < 0) return;
        offset += 2;
    }
    dissect_llc(d, offset, end);
}

/* RadioTap (DLT 127, scapy:layers/dot11.py RadioTap).  Layout: 0 version 1 pad 2 len(LE16)
 * 4 present(LE32) [more present words while bit 31 is set], then one field per present bit of
 * the FIRST word that scapy knows, in bit order; an aligned field (ReversePadField) first skips
 * to a multiple of its alignment counted from the RadioTap start.  Bits scapy has no field for
 * (FHSS, TX attenuation/power, dB signal/noise, b16/b17, zero-length PSDU, namespaces) take no
 * bytes.  After the fields, post_dissect keeps max(len - consumed, 0) bytes as `notdecoded`, so
 * the 802.11 frame starts at max(len, consumed).  The TLV list (bit 28) has no length bound and
 * consumes the rest of the frame.
 *
 * What 1.1.1 outputs: scapy rebuilds the header field by field -- identical bytes, except that
 * the skipped alignment bytes become zeros (recorded in out->zeroed; oracle: radiotap.pcap,
 * arp-who-has-radiotap.pcap, where ChannelPlus' and MCS' pads are non-zero on the wire).
 *
 * A present field that does not fit makes RadioTap raise: rdpcap then returns the whole frame
 * as Raw, unchanged.  (Fields missing exactly at the end of the frame would take defaults and
 * be appended by the rebuild; we keep such frames unchanged too.) */
typedef struct radiotap_field {
    uint8_t bit, align, size;
} radiotap_field;

static const radiotap_field radiotap_fields[] = {
    {0, 8, 8},   /* TSFT */
    {1, 1, 1},   /* Flags */
    {2, 1, 1},   /* Rate */
    {3, 2, 4},   /* ChannelFrequency + ChannelFlags */
    {5, 1, 1},   /* dBm_AntSignal */
    {6, 1, 1},   /* dBm_AntNoise */
    {7, 2, 2},   /* Lock_Quality */
    {11, 1, 1},  /* Antenna */
    {14, 2, 2},  /* RXFlags */
    {15, 2, 2},  /* TXFlags */
    {18, 4, 7},  /* ChannelPlus: flags(4) frequency(2) number(1) */
    {19, 2, 3},  /* MCS: known, bit fields, index */
    {20, 4, 8},  /* A_MPDU: reference, flags */
    {21, 2, 12}, /* VHT */
    {22, 8, 12}, /* timestamp */
    {23, 2, 12}, /* HE */
    {24, 2, 12}, /* HE_MU */
    {25, 2, 7},  /* HE_MU_other_user */
    {27, 2, 4},  /* L_SIG */
    {28, 4, 0},  /* TLV: the rest of the frame */
};

static void dissect_radiotap(hf_dissector *d, size_t offset, size_t end)
{
    size_t available = end - offset;
    hf_cursor c = hf_dissector_window(d, offset, end);
    if (hf_skip(&c, 2) != HF_OK) {
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    uint16_t length = 0;
    uint32_t present = 0, word = 0;
    if (hf_read_le16(&c, &length) != HF_OK || hf_read_le32(&c, &present) != HF_OK) {
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    /* Extended presence masks: 4 bytes each, while the previous word has Ext (bit 31). */
    for (word = present; word & 0x80000000u;) {
        if (hf_read_le32(&c, &word) != HF_OK) {
            hf_dissector_add_raw(d, offset, end);
            return;
        }
    }
    size_t consumed = c.pos - offset; /* the pads count from the RadioTap start */
    uint8_t flags = 0;
    int zeroed_start = d->out->zeroed_count;
    for (size_t i = 0; i < sizeof radiotap_fields / sizeof radiotap_fields[0]; i++) {
        const radiotap_field *f = &radiotap_fields[i];
        if (!(present & (1u << f->bit))) continue;
        size_t pad = (f->align - consumed % f->align) % f->align;
        if (available - consumed < pad + (f->size ? f->size : 1)) {
            d->out->zeroed_count = zeroed_start;
            hf_dissector_add_raw(d, offset, end);
            return;
        }
        if (pad && d->out->zeroed_count < HF_MAX_ZEROED) {
            d->out->zeroed[d->out->zeroed_count].offset = (uint32_t)(offset + consumed);
            d->out->zeroed[d->out->zeroed_count].length = (uint32_t)pad;
            d->out->zeroed_count++;
        }
        consumed += pad;
        if (f->size == 0) { /* TLV list: everything that is left */
            consumed = available;
            break;
        }
        if (f->bit == 1) (void)hf_dissector_byte(d, offset + consumed, &flags);
        consumed += f->size;
    }
    if (consumed > available) consumed = available;
    size_t header = (size_t)length > consumed ? (size_t)length : consumed;
    if (header > available) header = available;
    if (hf_dissector_add_layer(d, HF_LAYER_OPAQUE_HEADER, offset, header, end, 0) < 0) return;
    if (offset + header >= end) return;
    /* RadioTap.guess_payload_class: Dot11FCS when present.Flags and Flags.FCS, else Dot11. */
    dissect_dot11(d, offset + header, end, (present & 2u) && (flags & 0x10));
}

static void dissect_link(hf_dissector *d, uint32_t linktype, size_t offset, size_t end, int nested);

/* PPI (DLT 192, scapy:layers/ppi.py): 0 version 1 flags 2 len(LE16) 4 dlt(LE32), then the
 * field headers, a PacketListField of PPI_Hdr over s[:len - 8] (a Python slice: a negative
 * bound drops that many bytes from the end).  With no PPI field class loaded (contrib), the
 * first PPI_Hdr's payload is a Raw holding the rest of the list -- but it lives inside a
 * packet field, and 1.1.1's rules test its layer_map (the payload chain), so it does not count
 * as Raw (oracle: a PPI/CookedLinux/IP/TCP frame with field data keeps its Padding).  The
 * payload is conf.l2types[dlt] (Raw when unknown).  scapy's rebuild gives the same bytes (all
 * lengths are the dissected values).  (A list of exactly 2 bytes would leave pfh_length at its
 * default and the rebuild would add 2 bytes; not modelled.) */
static void dissect_ppi(hf_dissector *d, size_t offset, size_t end)
{
    size_t available = end - offset;
    uint16_t length = 0;
    uint32_t dlt = 0;
    hf_cursor c = hf_dissector_window(d, offset, end);
    if (hf_skip(&c, 2) != HF_OK || hf_read_le16(&c, &length) != HF_OK ||
        hf_read_le32(&c, &dlt) != HF_OK) {
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    size_t rest = available - 8, list;
    if (length >= 8) list = (size_t)length - 8 < rest ? (size_t)length - 8 : rest;
    else list = rest > (size_t)(8 - length) ? rest - (8 - length) : 0;
    if (hf_dissector_add_layer(d, HF_LAYER_OPAQUE_HEADER, offset, 8 + list, end, 0) < 0) return;
    if (8 + list >= available) return;
    dissect_link(d, dlt, offset + 8 + list, end, 1);
}

/* ---- network layers --------------------------------------------------------------------- */

static const uint8_t ipv4_field_boundaries[] = {1, 2, 4, 6, 8, 9, 10, 12, 16, 0};

/* `header`: the 20-byte fixed header when present (a checked span), else NULL (a cut header:
 * its missing fields read as 0). */
static void record_ipv4_facts(hf_dissector *d, size_t offset, size_t available,
                              const uint8_t *header)
{
    hf_dissection *o = d->out;
    /* The first IPv4 wins even when an IPv6 layer came before it (4in6): it is the one 1.1.1
     * rewrites (§2.3 E2, P4). */
    if (o->network.version == 4) return;
    memset(&o->network, 0, sizeof o->network);
    o->network.version = 4;
    o->network.source_offset = offset + 12;
    o->network.destination_offset = offset + 16;
    o->network.address_length = available >= 20 ? 4 : 0;
    uint16_t fragment;
    if (header != NULL) {
        o->network.protocol = header[9];
        fragment = hf_span_be16(header, 6);
        o->network.identification = hf_span_be16(header, 4);
    } else {
        o->network.protocol = hf_dissector_byte_or_zero(d, offset + 9);
        fragment = hf_dissector_be16_or_zero(d, offset + 6);
        o->network.identification = hf_dissector_be16_or_zero(d, offset + 4);
    }
    o->network.fragment_offset = (uint16_t)(fragment & 0x1fff);
    o->network.more_fragments = (uint8_t)((fragment >> 13) & 1);
}

static void dissect_ipv4(hf_dissector *d, size_t offset, size_t end, int error_quote)
{
    size_t available = end - offset;
    hf_layer_kind kind = error_quote ? HF_LAYER_ERROR_QUOTE : HF_LAYER_IPV4;
    if (available < 20) {
        /* §1.4: a header cut at a field boundary keeps its parsed fields (1.1.1 rebuilds the
         * rest with defaults when it rewrites the addresses). */
        if (at_field_boundary(available, ipv4_field_boundaries)) {
            int index = hf_dissector_add_layer(d, kind, offset, available, end, HF_LAYER_FLAG_PARTIAL);
            if (index >= 0 && !error_quote && d->out->first_ipv4 == index)
                record_ipv4_facts(d, offset, available, NULL);
        } else {
            hf_dissector_add_raw(d, offset, end);
        }
        return;
    }
    const uint8_t *h = hf_dissector_span(d, offset, 20);
    if (HF_NEVER(h == NULL)) {  /* [offset, end) lies inside the frame */
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    uint8_t version_ihl = h[0];
    uint16_t total_length = hf_span_be16(h, 2);
    uint16_t fragment = hf_span_be16(h, 6);
    uint8_t protocol = h[9];
    size_t header_length = (size_t)(version_ihl & 15) * 4;
    if (header_length < 20) {
        /* ihl < 5: scapy's options slice would be negative; we keep the 20 fixed bytes and treat
         * the rest as an opaque payload (not observed in the corpus). */
        header_length = 20;
    }
    if (header_length > available) header_length = available; /* options cut short */
    int index = hf_dissector_add_layer(d, kind, offset, header_length, end, 0);
    if (index < 0) return;
    if (!error_quote && d->out->first_ipv4 == index) record_ipv4_facts(d, offset, available, h);
    /* IP.extract_padding: payload = s[:len - ihl*4] when that is >= 0 (§1.4). */
    size_t payload_start = offset + header_length;
    size_t payload_end = end;
    size_t ihl_bytes = (size_t)(version_ihl & 15) * 4;
    if ((size_t)total_length >= ihl_bytes) {
        size_t claimed = (size_t)total_length - ihl_bytes;
        if (claimed < end - payload_start) {
            payload_end = payload_start + claimed;
            hf_dissector_set_padding(d, payload_end);
        }
    }
    if (payload_start >= payload_end) return;
    int first_fragment = (fragment & 0x1fff) == 0;
    /* The commonest case of dissect_ip_protocol, without its dispatch. */
    if (protocol == 6 && first_fragment && !error_quote) {
        dissect_tcp(d, payload_start, payload_end, 0);
        return;
    }
    dissect_ip_protocol(d, protocol, first_fragment, payload_start, payload_end, 0, error_quote);
}

/* The IPv6 jumbo-payload branch of IPv6.extract_padding (scapy:layers/inet6.py), copied with
 * its quirks: it scans option offsets 2, 2, 6, 10, ... and reads one byte past the data when
 * the length is 2 mod 4 (an IndexError: the IPv6 layer becomes Raw).  Returns 0 on that error. */
static int ipv6_jumbo_length(const hf_dissector *d, size_t data, size_t data_length, size_t *length)
{
    uint8_t hop_by_hop_length = hf_dissector_byte_or_zero(d, data + 1);
    size_t total = 8 + (size_t)hop_by_hop_length * 8;
    size_t jumbo = 0;
    size_t index = 0, option = 2;
    while (option <= data_length) {
        uint8_t type;
        if (option >= data_length || !hf_dissector_byte(d, data + option, &type)) return 0;
        if (type == 0xc2) {
            /* struct.unpack("I") is native (little-endian) order and needs 4 bytes. */
            if (data_length - option < 6) return 0;
            jumbo = (size_t)hf_dissector_byte_or_zero(d, data + option + 2) |
                    ((size_t)hf_dissector_byte_or_zero(d, data + option + 3) << 8) |
                    ((size_t)hf_dissector_byte_or_zero(d, data + option + 4) << 16) |
                    ((size_t)hf_dissector_byte_or_zero(d, data + option + 5) << 24);
            break;
        }
        option = 4 * index + 2;
        index++;
    }
    *length = total + jumbo;
    return 1;
}

static const uint8_t ipv6_field_boundaries[] = {4, 6, 7, 8, 24, 0};

static void dissect_ipv6(hf_dissector *d, size_t offset, size_t end, int error_quote)
{
    size_t available = end - offset;
    hf_layer_kind kind = error_quote ? HF_LAYER_ERROR_QUOTE : HF_LAYER_IPV6;
    if (available < 40) {
        if (at_field_boundary(available, ipv6_field_boundaries))
            (void)hf_dissector_add_layer(d, kind, offset, available, end, HF_LAYER_FLAG_PARTIAL);
        else
            hf_dissector_add_raw(d, offset, end);
        return;
    }
    const uint8_t *h = hf_dissector_span(d, offset, 40);
    if (HF_NEVER(h == NULL)) {  /* [offset, end) lies inside the frame */
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    uint16_t payload_length = hf_span_be16(h, 4);
    uint8_t next_header = h[6];
    size_t payload_start = offset + 40;
    size_t data_length = end - payload_start;
    size_t claimed = payload_length;
    if (payload_length == 0 && next_header == 0 && data_length >= 8) {
        if (!ipv6_jumbo_length(d, payload_start, data_length, &claimed)) {
            hf_dissector_add_raw(d, offset, end);
            return;
        }
    }
    int index = hf_dissector_add_layer(d, kind, offset, 40, end, 0);
    if (index < 0) return;
    hf_dissection *o = d->out;
    if (!error_quote && o->first_ipv6 == index && o->network.version == 0) {
        o->network.version = 6;
        o->network.source_offset = offset + 8;
        o->network.destination_offset = offset + 24;
        o->network.address_length = 16;
        o->network.protocol = next_header;
    }
    size_t payload_end = end;
    if (claimed < data_length) {
        payload_end = payload_start + claimed;
        hf_dissector_set_padding(d, payload_end);
    }
    if (payload_start >= payload_end) return;
    if (next_header == 6 && !error_quote) {  /* dissect_ip_protocol's commonest case */
        dissect_tcp(d, payload_start, payload_end, 0);
        return;
    }
    dissect_ip_protocol(d, next_header, 1, payload_start, payload_end, 1, error_quote);
}

/* IPv6 extension headers and AH: a generic length-prefixed header, then dispatch on its nh. */
static void dissect_ipv6_extension(hf_dissector *d, uint8_t type, size_t offset, size_t end,
                                   int error_quote)
{
    size_t available = end - offset;
    uint8_t next_header = 0, length_field = 0;
    if (available < 2 || !hf_dissector_byte(d, offset, &next_header) ||
        !hf_dissector_byte(d, offset + 1, &length_field)) {
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    size_t length;
    int first_fragment = 1;
    if (type == 44) {
        if (available < 8) {
            hf_dissector_add_raw(d, offset, end);
            return;
        }
        length = 8;
        uint16_t offset_field = hf_dissector_be16_or_zero(d, offset + 2);
        first_fragment = (offset_field >> 3) == 0;
        hf_dissection *o = d->out;
        if (o->network.version == 6 && o->network.fragment_offset == 0 &&
            o->network.more_fragments == 0 && o->network.identification == 0) {
            o->network.fragment_offset = (uint16_t)(offset_field >> 3);
            o->network.more_fragments = (uint8_t)(offset_field & 1);
            uint32_t identification = 0;
            (void)hf_dissector_be32(d, offset + 4, &identification);
            o->network.identification = identification;
        }
    } else if (type == 51) {
        /* AH: 12 fixed bytes + ICV of (payloadlen + 2) * 4 - 12 bytes.  A payloadlen of 0 makes
         * scapy's ICV slice negative and the dissection ends in Raw (oracle:
         * ipv6_zero_len_ah.trace #4). */
        if (length_field < 1) {
            hf_dissector_add_raw(d, offset, end);
            return;
        }
        length = ((size_t)length_field + 2) * 4;
    } else {
        length = ((size_t)length_field + 1) * 8;
    }
    if (length > available) length = available;
    if (hf_dissector_add_layer(d, HF_LAYER_IPV6_EXTENSION, offset, length, end, 0) < 0) return;
    offset += length;
    if (offset >= end) return;
    if (!first_fragment) {
        /* IPv6ExtHdrFragment with offset > 0: the payload is Raw (§2.4). */
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    dissect_ip_protocol(d, next_header, 1, offset, end, 1, error_quote);
}

static void dissect_gre(hf_dissector *d, size_t offset, size_t end)
{
    size_t available = end - offset;
    uint16_t flags = 0, protocol = 0;
    if (available < 4 || !hf_dissector_be16(d, offset, &flags) || !hf_dissector_be16(d, offset + 2, &protocol)) {
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    size_t length = 4;
    if (protocol == 0x880b) {
        /* GRE_PPTP (dispatch_hook): payload_len + call_id, [seq if S], [ack if A]. */
        length = 8 + ((flags & 0x1000) ? 4 : 0) + ((flags & 0x0080) ? 4 : 0);
    } else {
        if (flags & 0xc000) length += 4; /* chksum + offset when C or R */
        if (flags & 0x2000) length += 4; /* key */
        if (flags & 0x1000) length += 4; /* sequence number */
    }
    if (length > available) {
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    if (hf_dissector_add_layer(d, HF_LAYER_GRE, offset, length, end, 0) < 0) return;
    offset += length;
    if (offset >= end) return;
    if (protocol != 0x880b && (flags & 0x4000)) {
        hf_dissector_add_opaque(d, offset, end); /* GRErouting SREs */
        return;
    }
    switch (protocol) {
    case 0x0800: dissect_ipv4(d, offset, end, 0); return;
    case 0x86dd: dissect_ipv6(d, offset, end, 0); return;
    case 0x6558: dissect_ether(d, offset, end); return;
    case 0x8100: dissect_dot1q(d, offset, end); return;
    case 0x0806: dissect_arp(d, offset, end); return;
    case 0x880b: dissect_ppp(d, offset, end); return;
    case 0x888e: hf_dissector_add_opaque(d, offset, end); return;
    default: hf_dissector_add_raw(d, offset, end); return;
    }
}

/* IP payload dispatch (scapy:layers/inet.py:1113-1117, inet6.py, ipsec.py; §2.4).  For IPv4 the
 * frag == 0 condition applies to ICMP, IP, TCP, UDP and GRE only. */
static void dissect_ip_protocol(hf_dissector *d, uint8_t protocol, int first_fragment, size_t offset,
                                size_t end, int ipv6, int error_quote)
{
    if (offset >= end) return;
    if (error_quote) {
        /* Inside an ICMP error: IPerror binds IPerror/ICMPerror/TCPerror/UDPerror (frag 0). */
        if (first_fragment && protocol == 6) dissect_tcp(d, offset, end, 1);
        else if (first_fragment && protocol == 17) dissect_udp(d, offset, end, 1);
        else if (first_fragment && protocol == 1 && !ipv6) dissect_icmp(d, offset, end, 1);
        else if (first_fragment && protocol == 4 && !ipv6) dissect_ipv4(d, offset, end, 1);
        else if (ipv6 && (protocol == 0 || protocol == 43 || protocol == 60 || protocol == 44))
            /* IPerror6 binds the ordinary extension headers, whose payload is then the ordinary
             * TCP/UDP classes (oracle: icmp6-destunreach-ip6ext-udp.pcap shows
             * IPerror6/IPv6ExtHdrHopByHop/UDP). */
            dissect_ipv6_extension(d, protocol, offset, end, 0);
        else if (ipv6 && protocol == 58) hf_dissector_add_opaque(d, offset, end);
        else if (ipv6 && protocol == 59) return; /* no next header: nothing (oracle) */
        else hf_dissector_add_raw(d, offset, end);
        return;
    }
    if (ipv6) {
        switch (protocol) {
        case 0: case 43: case 60: case 44: case 51:
            dissect_ipv6_extension(d, protocol, offset, end, 0);
            return;
        case 6: dissect_tcp(d, offset, end, 0); return;
        case 17: dissect_udp(d, offset, end, 0); return;
        case 58: {
            uint8_t type = hf_dissector_byte_or_zero(d, offset);
            if (type >= 1 && type <= 4 && end - offset >= 8) {
                /* ICMPv6 error: 8-byte header, then the quoted IPv6 packet (IPerror6). */
                if (hf_dissector_add_layer(d, HF_LAYER_ICMPV6, offset, 8, end, 0) < 0) return;
                if (offset + 8 < end) dissect_ipv6(d, offset + 8, end, 1);
                return;
            }
            (void)hf_dissector_add_layer(d, HF_LAYER_ICMPV6, offset, end - offset, end, 0);
            return;
        }
        case 4: dissect_ipv4(d, offset, end, 0); return;
        case 41: dissect_ipv6(d, offset, end, 0); return;
        case 47: dissect_gre(d, offset, end); return;
        case 50: hf_dissector_add_opaque(d, offset, end); return;          /* ESP: data field, no Raw */
        case 135: hf_dissector_add_opaque(d, offset, end); return;         /* Mobility header */
        case 132: hf_dissector_add_opaque(d, offset, end); return;         /* SCTP */
        default: hf_dissector_add_raw(d, offset, end); return;             /* 59 no next header, ... */
        }
    }
    switch (protocol) {
    case 1: if (first_fragment) { dissect_icmp(d, offset, end, 0); return; } break;
    case 4: if (first_fragment) { dissect_ipv4(d, offset, end, 0); return; } break;
    case 6: if (first_fragment) { dissect_tcp(d, offset, end, 0); return; } break;
    case 17: if (first_fragment) { dissect_udp(d, offset, end, 0); return; } break;
    case 47: if (first_fragment) { dissect_gre(d, offset, end); return; } break;
    case 41: dissect_ipv6(d, offset, end, 0); return;
    case 51: dissect_ipv6_extension(d, 51, offset, end, 0); return; /* AH */
    case 50:
    case 132:
    case 112:
        hf_dissector_add_opaque(d, offset, end);
        return;
    default: break;
    }
    hf_dissector_add_raw(d, offset, end);
}

/* ---- transport layers -------------------------------------------------------------------- */

static const uint8_t tcp_field_boundaries[] = {2, 4, 8, 12, 14, 16, 18, 0};

static void dissect_tcp(hf_dissector *d, size_t offset, size_t end, int error_quote)
{
    size_t available = end - offset;
    hf_layer_kind kind = error_quote ? HF_LAYER_ERROR_QUOTE : HF_LAYER_TCP;
    if (available < 20) {
        uint16_t source_port = hf_dissector_be16_or_zero(d, offset);
        uint16_t destination_port = hf_dissector_be16_or_zero(d, offset + 2);
        if (at_field_boundary(available, tcp_field_boundaries)) {
            int index = hf_dissector_add_layer(d, kind, offset, available, end, HF_LAYER_FLAG_PARTIAL);
            hf_dissection *o = d->out;
            if (index >= 0 && !error_quote && o->first_tcp == index && o->first_udp == HF_NO_LAYER) {
                o->transport.protocol = 6;
                o->transport.source_port = source_port;
                o->transport.destination_port = destination_port;
                o->transport.tcp_flags = available >= 14
                    ? (uint16_t)(((hf_dissector_byte_or_zero(d, offset + 12) & 1) << 8) |
                                 hf_dissector_byte_or_zero(d, offset + 13))
                    : 2; /* scapy default flags "S" */
            }
        } else {
            hf_dissector_add_raw(d, offset, end);
        }
        return;
    }
    const uint8_t *h = hf_dissector_span(d, offset, 20);
    if (HF_NEVER(h == NULL)) {  /* [offset, end) lies inside the frame */
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    uint16_t source_port = hf_span_be16(h, 0), destination_port = hf_span_be16(h, 2);
    uint8_t data_offset = (uint8_t)(h[12] >> 4);
    size_t header_length = (size_t)(data_offset < 5 ? 5 : data_offset) * 4;
    if (header_length > available) header_length = available; /* §1.4: options cut short */
    int index = hf_dissector_add_layer(d, kind, offset, header_length, end, 0);
    if (index < 0) return;
    hf_dissection *o = d->out;
    if (!error_quote && o->first_tcp == index && o->first_udp == HF_NO_LAYER) {
        o->transport.protocol = 6;
        o->transport.source_port = source_port;
        o->transport.destination_port = destination_port;
        o->transport.tcp_flags = (uint16_t)(((h[12] & 1) << 8) | h[13]);
    }
    offset += header_length;
    if (offset >= end) return;
    /* TCPerror/UDPerror inherit TCP's/UDP's port bindings (oracle: gre-sample.pcap shows
     * IPerror/UDPerror/DNS), so a quoted payload is classified like any other. */
    hf_dissect_tcp_payload(d, offset, end, source_port, destination_port);
}

static const uint8_t udp_field_boundaries[] = {2, 4, 6, 0};

/* L2TP (UDP 1701, scapy:layers/l2tp.py): 0 hdr(12 bits)+version(4), then len(2) if T or L,
 * tunnel(2), session(2), ns(2)+nr(2) if S or T, and -- for data messages with O -- the offset
 * size as PadField(ShortField, 4): 2 bytes plus 2 skipped (scapy does not skip the announced
 * offset).  hdr bits: T 0x800, L 0x400, S 0x080, O 0x020.  Every field is 2 bytes, so a cut at
 * an even length leaves defaults (verbatim: L2TP keeps its raw_packet_cache), an odd one raises
 * (Raw).  The payload is always PPP (bind_layers(L2TP, PPP)), control messages included, which
 * then is PPP + Raw (oracle: nb6-http.pcap #21). */
static void dissect_l2tp(hf_dissector *d, size_t offset, size_t end)
{
    size_t available = end - offset;
    uint16_t first = 0;
    if (!hf_dissector_be16(d, offset, &first)) {
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    unsigned hdr = first >> 4;
    size_t length = 2 + ((hdr & 0xc00) ? 2 : 0) + 4 + ((hdr & 0x880) ? 4 : 0);
    size_t pad = 0;
    if (!(hdr & 0x800) && (hdr & 0x020)) {
        length += 2;
        pad = 2;
    }
    if (available < length + pad) {
        if (available >= length || available % 2 == 0) {
            (void)hf_dissector_add_layer(d, HF_LAYER_OPAQUE_HEADER, offset, available, end,
                                         available < length ? HF_LAYER_FLAG_PARTIAL : 0);
        } else {
            hf_dissector_add_raw(d, offset, end);
        }
        return;
    }
    length += pad;
    if (hf_dissector_add_layer(d, HF_LAYER_OPAQUE_HEADER, offset, length, end, 0) < 0) return;
    dissect_ppp(d, offset + length, end);
}

static void dissect_vxlan(hf_dissector *d, size_t offset, size_t end)
{
    uint8_t flags = 0;
    if (!hf_dissector_byte(d, offset, &flags)) return;
    /* Layout by flags: NextProtocol (0x04) adds reserved0(2)+NextProtocol(1), G (0x80) adds
     * gpflags(1)+gpid(2), neither adds reserved1(3); then vni(3) + reserved2(1). */
    size_t length = 1;
    uint8_t next_protocol = 0;
    int has_next_protocol = (flags & 0x04) != 0;
    if (has_next_protocol) {
        next_protocol = hf_dissector_byte_or_zero(d, offset + 3);
        length += 3;
    }
    if (flags & 0x80) length += 3;
    if (!(flags & 0x80) && !has_next_protocol) length += 3;
    length += 4;
    if (end - offset < length) {
        hf_dissector_add_raw(d, offset, end);
        return;
    }
    if (hf_dissector_add_layer(d, HF_LAYER_VXLAN, offset, length, end, 0) < 0) return;
    offset += length;
    if (offset >= end) return;
    if (!has_next_protocol || next_protocol == 0 || next_protocol == 3) {
        if (end - offset >= 14) dissect_ether(d, offset, end);
        else hf_dissector_add_raw(d, offset, end);
    } else if (next_protocol == 1) {
        dissect_ipv4(d, offset, end, 0);
    } else if (next_protocol == 2) {
        dissect_ipv6(d, offset, end, 0);
    } else {
        hf_dissector_add_raw(d, offset, end);
    }
}

static void dissect_udp(hf_dissector *d, size_t offset, size_t end, int error_quote)
{
    size_t available = end - offset;
    hf_layer_kind kind = error_quote ? HF_LAYER_ERROR_QUOTE : HF_LAYER_UDP;
    uint16_t source_port = hf_dissector_be16_or_zero(d, offset), destination_port = hf_dissector_be16_or_zero(d, offset + 2);
    hf_dissection *o = d->out;
    if (available < 8) {
        if (at_field_boundary(available, udp_field_boundaries)) {
            int index = hf_dissector_add_layer(d, kind, offset, available, end, HF_LAYER_FLAG_PARTIAL);
            if (index >= 0 && !error_quote && o->first_udp == index && o->first_tcp == HF_NO_LAYER) {
                o->transport.protocol = 17;
                o->transport.source_port = source_port;
                o->transport.destination_port = destination_port;
            }
        } else {
            hf_dissector_add_raw(d, offset, end);
        }
        return;
    }
    uint16_t length = hf_dissector_be16_or_zero(d, offset + 4);
    int index = hf_dissector_add_layer(d, kind, offset, 8, end, 0);
    if (index < 0) return;
    if (!error_quote && o->first_udp == index && o->first_tcp == HF_NO_LAYER) {
        o->transport.protocol = 17;
        o->transport.source_port = source_port;
        o->transport.destination_port = destination_port;
        o->transport.tcp_flags = 0;
    }
    /* UDP.extract_padding: payload = s[:len - 8]; a negative slice keeps all but the last
     * 8 - len bytes (§1.4). */
    size_t payload_start = offset + 8;
    size_t data_length = end - payload_start;
    size_t payload_length;
    if (length >= 8) {
        payload_length = (size_t)length - 8;
        if (payload_length > data_length) payload_length = data_length;
    } else {
        size_t cut = 8 - (size_t)length;
        payload_length = cut < data_length ? data_length - cut : 0;
    }
    size_t payload_end = payload_start + payload_length;
    if (payload_end < end) hf_dissector_set_padding(d, payload_end);
    if (payload_start >= payload_end) return;
    switch (hf_dissect_udp_payload(d, payload_start, payload_end, source_port, destination_port)) {
    case 1: dissect_vxlan(d, payload_start, payload_end); break;
    case 2: dissect_l2tp(d, payload_start, payload_end); break;
    default: break;
    }
}

/* Length of the ICMP header scapy dissects for `type` (scapy:layers/inet.py:954-979):
 * 4 fixed bytes plus the conditional fields. */
static size_t icmp_header_length(uint8_t type)
{
    size_t length = 4;
    switch (type) {
    case 0: case 8: case 15: case 16: length += 4; break;          /* id, seq */
    case 13: case 14: length += 4 + 12; break;                     /* id, seq, 3 timestamps */
    case 17: case 18: length += 4 + 4; break;                      /* id, seq, addr_mask */
    case 37: case 38: length += 4 + 4; break;                      /* id, seq, unused(int) */
    case 5: length += 4; break;                                    /* gw */
    case 3: length += 1 + 1 + 2; break;                            /* reserved, length, mtu */
    case 11: length += 1 + 1 + 2; break;                           /* reserved, length, unused */
    case 12: length += 1 + 1 + 2; break;                           /* ptr, length, unused */
    default: length += 4; break;                                   /* unused(int) */
    }
    return length;
}

static void dissect_icmp(hf_dissector *d, size_t offset, size_t end, int error_quote)
{
    size_t available = end - offset;
    uint8_t type = hf_dissector_byte_or_zero(d, offset);
    size_t length = icmp_header_length(type);
    hf_layer_kind kind = error_quote ? HF_LAYER_ERROR_QUOTE : HF_LAYER_ICMP;
    if (available < length) {
        /* Field boundaries: type, code, chksum(2) then 2/4-byte fields; only aligned cuts
         * are defaults.  We accept multiples of 2 from 2 on (1-byte fields of types 3/11/12
         * make odd cuts after 5 legal too). */
        int boundary = available == 1 || available == 2 || available == 4 ||
                       (available >= 4 && (available % 2 == 0 ||
                                           ((type == 3 || type == 11 || type == 12) && available == 5)));
        if (boundary) (void)hf_dissector_add_layer(d, kind, offset, available, end, HF_LAYER_FLAG_PARTIAL);
        else hf_dissector_add_raw(d, offset, end);
        return;
    }
    if (hf_dissector_add_layer(d, kind, offset, length, end, 0) < 0) return;
    offset += length;
    if (offset >= end) return;
    if (type == 3 || type == 4 || type == 5 || type == 11 || type == 12) {
        /* ICMP errors quote a packet: IPerror (not IP for the rules, §2.1). */
        dissect_ipv4(d, offset, end, 1);
        return;
    }
    hf_dissector_add_raw(d, offset, end); /* guess_payload_class returns None -> Raw (§2.4) */
}

/* ---- link types ------------------------------------------------------------------------ */

/* The layer class of link type `linktype` for the bytes [o, end): at the top of the frame
 * (`nested` 0, rdpcap's LLcls) or as PPI's payload (`nested` 1, conf.l2types[dlt], where an
 * unknown dlt and DLT 14 -- which conf.l2types does not map -- give Raw). */
static void dissect_link(hf_dissector *d, uint32_t linktype, size_t o, size_t end, int nested)
{
    size_t n = end - o;
    switch (linktype) {
    case HF_LINKTYPE_ETHERNET:
        if (n < 14) {
            /* §1.4/P36: 0, 6 and 12 bytes are an Ether with missing fields (rebuilt to 14
             * bytes by 1.1.1); any other short length fails inside a MAC field -> Raw.  (Inside
             * PPI we keep the short ones as Raw: the rebuild is only modelled at offset 0.) */
            if (!nested && (n == 0 || n == 6 || n == 12)) {
                (void)hf_dissector_add_layer(d, HF_LAYER_ETHER, o, n, end, HF_LAYER_FLAG_PARTIAL);
                d->out->ether_rebuilt = 1;
            } else {
                hf_dissector_add_raw(d, o, end);
            }
            return;
        }
        dissect_ether(d, o, end);
        return;
    case HF_LINKTYPE_NULL:
    case HF_LINKTYPE_LOOP: {
        /* Loopback: scapy's LoIntEnumField keeps only the first byte (P39). */
        if (n < 4) {
            hf_dissector_add_raw(d, o, end);
            return;
        }
        uint8_t family = hf_dissector_byte_or_zero(d, o);
        if (hf_dissector_add_layer(d, HF_LAYER_LOOPBACK, o, 4, end, 0) < 0) return;
        if (family == 0 || family == 2) dissect_ipv4(d, o + 4, end, 0);
        else if (family == 10) dissect_ipv6(d, o + 4, end, 0);
        else hf_dissector_add_raw(d, o + 4, end);
        return;
    }
    case HF_LINKTYPE_RAW_BSDOS:
        if (nested) {
            hf_dissector_add_raw(d, o, end);
            return;
        }
        /* fall through */
    case HF_LINKTYPE_RAW:
    case HF_LINKTYPE_RAW_OPENBSD:
        /* IPv46: version nibble 6 -> IPv6, anything else IPv4 (§1.3). */
        if (n == 0) return;
        if ((hf_dissector_byte_or_zero(d, o) >> 4) == 6) dissect_ipv6(d, o, end, 0);
        else dissect_ipv4(d, o, end, 0);
        return;
    case HF_LINKTYPE_PPP:
    case HF_LINKTYPE_PPP_HDLC:
        dissect_ppp(d, o, end);
        return;
    case HF_LINKTYPE_PPP_ETHER:
        if (n) dissect_pppoe(d, o, end);
        return;
    case HF_LINKTYPE_IEEE802_11:
        if (n) dissect_dot11(d, o, end, 0);
        return;
    case HF_LINKTYPE_IEEE802_11_RADIOTAP:
        if (n) dissect_radiotap(d, o, end);
        return;
    case HF_LINKTYPE_PPI:
        if (n) dissect_ppi(d, o, end);
        return;
    case HF_LINKTYPE_IPV4:
        if (n) dissect_ipv4(d, o, end, 0);
        return;
    case HF_LINKTYPE_IPV6:
        if (n) dissect_ipv6(d, o, end, 0);
        return;
    case HF_LINKTYPE_LINUX_SLL: {
        uint16_t protocol = 0;
        if (n < 16 || !hf_dissector_be16(d, o + 14, &protocol)) {
            hf_dissector_add_raw(d, o, end);
            return;
        }
        if (hf_dissector_add_layer(d, HF_LAYER_SLL, o, 16, end, 0) < 0) return;
        dissect_ethertype(d, protocol, o + 16, end);
        return;
    }
    case HF_LINKTYPE_LINUX_SLL2: {
        uint16_t protocol = 0;
        if (n < 20 || !hf_dissector_be16(d, o, &protocol)) {
            hf_dissector_add_raw(d, o, end);
            return;
        }
        if (hf_dissector_add_layer(d, HF_LAYER_SLL2, o, 20, end, 0) < 0) return;
        dissect_ethertype(d, protocol, o + 20, end);
        return;
    }
    default:
        /* Unknown link types: scapy Raw + "unknown LL type"; 1.1.1 returns the bytes unchanged
         * (UnknownPacket, §1.3).  Raw here has no effect because no rule applies. */
        hf_dissector_add_raw(d, o, end);
        return;
    }
}

/* ---- entry point ------------------------------------------------------------------------ */

/* Only the scalars are initialised: `layers` and `zeroed` are written before they are counted,
 * and no reader looks past layer_count / zeroed_count (dissect.h), so clearing their ~500
 * bytes per packet would be wasted work (it was a sizeable part of the dissection time). */
static void reset(hf_dissection *out, size_t caplen, uint32_t linktype)
{
    out->caplen = caplen;
    out->linktype = linktype;
    out->padding_start = caplen;
    out->trailer_start = caplen;
    out->layer_count = 0;
    out->zeroed_count = 0;
    out->has_raw = out->has_tls = out->has_http = out->ether_rebuilt = 0;
    out->dns_over_tcp = 0;
    memset(&out->network, 0, sizeof out->network);
    memset(&out->transport, 0, sizeof out->transport);
    out->first_ether = out->first_ipv4 = out->first_ipv6 = HF_NO_LAYER;
    out->first_tcp = out->first_udp = out->first_dns = HF_NO_LAYER;
    out->first_http_request = out->first_http_response = HF_NO_LAYER;
}

hf_status hf_dissect_packet(const uint8_t *frame, size_t caplen, uint32_t linktype,
                            hf_dissection *out)
{
    static const uint8_t empty[1] = {0};
    if (!out || (!frame && caplen > 0)) return HF_ARGUMENT;
    if (!frame) frame = empty;
    if (caplen > UINT32_MAX) caplen = UINT32_MAX; /* layer offsets are 32-bit */
    reset(out, caplen, linktype);
    hf_dissector d = {hf_cursor_make(frame, caplen), out};
    dissect_link(&d, linktype, 0, caplen, 0);
    return HF_OK;
}

const char *hf_dissect_layer_name(hf_layer_kind kind)
{
    static const char *const names[HF_LAYER_KIND_COUNT] = {
        "Raw", "Opaque", "Ether", "Dot3", "LLC", "SNAP", "Loopback", "CookedLinux",
        "CookedLinuxV2", "Dot1Q", "ARP", "PPPoE", "PPP", "IP", "IPv6", "IPv6Extension", "GRE",
        "ERSPAN", "VXLAN", "TCP", "UDP", "ICMP", "ICMPv6", "ErrorQuote", "DNS", "HTTP",
        "HTTPRequest", "HTTPResponse", "H2Frame", "TLS", "TLSContinuation", "Header"};
    if ((unsigned)kind >= HF_LAYER_KIND_COUNT) return "?";
    return names[kind];
}
