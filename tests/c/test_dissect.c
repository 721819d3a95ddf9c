/*
 * test_dissect.c -- the layer chains hf_dissect_packet builds for hand-made frames (one per rule
 * of reference-semantics.md §1.3, §1.4, §2.4 and §8.3 item 2), and the facts it records.
 *
 * Each expected chain ("Kind@offset+length ... pad=<padding_start>") was derived by hand from the
 * header layouts in dissect.c and checked against scapy 2.5.0's dissection of the same frame
 * (the class list 1.1.1 leaves after its cuts is quoted in the comment; a cut removes the tail).
 * The frames are those of test_preprocess.c, whose outputs come from heifip 1.1.1.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "dissect.h"

#define F_HTTP_SPORT443_DPORT80_REQUEST "02000000000102000000000208004500005500010000400666a00a0000010a00000201bb0050000000000000000050182000cbde0000474554202f7820485454502f312e310d0a486f73743a20610d0a4163636570743a202a2f2a0d0a0d0a626f6479"
#define F_DNS_SPORT53_DPORT80_TCP "02000000000102000000000208004500004700010000400666ae0a0000010a0000020035005000000000000000005018200099670000001d123401000001000000000000076578616d706c6503636f6d0000010001"
#define F_TLS_RECORD_443 "02000000000102000000000208004500003200010000400666c30a0000010a00000204d201bb000000000000000050182000beca00001603010005aabbccddee"
#define F_TLS_CONTINUATION_443 "02000000000102000000000208004500003000010000400666c50a0000010a00000201bb04d2000000000000000050182000860200008899aabbccddeeff"
#define F_HTTP2_FRAME_PORT80 "02000000000102000000000208004500003100010000400666c40a0000010a00000204d20050000000000000000050182000769b0000000000040000000000"
#define F_HTTP_CONNECTION_UPGRADE_BODY "020000000001020000000002080045000068000100004006668d0a0000010a00000204d2005000000000000000005018200026a30000474554202f20485454502f312e310d0a436f6e6e656374696f6e3a20557067726164652c2048545450322d53657474696e67730d0a0d0a000000040000000000"
#define F_HTTP_PATCH_METHOD "02000000000102000000000208004500004600010000400666af0a0000010a00000204d200500000000000000000501820000afb00005041544348202f7820485454502f312e310d0a486f73743a20610d0a0d0a"
#define F_DNS_UDP_TRAILING_BYTES "02000000000102000000000208004500003b00010000401166af0a0000010a00000215b300350027f212123401000001000000000000076578616d706c6503636f6d00000100010102"
#define F_UDP_LEN_PADDING "02000000000102000000000208004500001f00010000401166cb0a0000010a000002045700350008e34a010203"
#define F_ARP_PADDING "0200000000010200000000020806000108000604000102fc000000010a0000010000000000000a000002000000000000000000000000000000000000"
#define F_IPV4_MF_FIRST_FRAGMENT "02000000000102000000000208004500002000012000401146ca0a0000010a000002045708ae000c060c64617461"
#define F_IPV4_NON_FIRST_FRAGMENT "02000000000102000000000208004500002000010064401166660a0000010a000002667261676d656e7464617461"
#define F_ICMP_ECHO_WITH_DATA "02000000000102000000000208004500002400010000400166d60a0000010a00000208006667000100026162636465666768"
#define F_ICMP_DEST_UNREACH_QUOTE "02000000000102000000000208004500005500010000400166a50a0000010a00000203031136000000004500003900010000401166b10a0000020a00000108ae00350025011d123401000001000000000000076578616d706c6503636f6d0000010001"
#define F_SIXIN4_UDP "020000000001020000000002080045000048000100004029668a0a0000010a00000260000000000c114020010db800000000000000000000000120010db8000000000000000000000002045708ae000ce6ab58585858"
#define F_FOURIN6_UDP "02000000000102000000000286dd60000000001c044020010db800000000000000000000000120010db80000000000000000000000024500001c00010000401166ce0a0000010a000002045708ae0008ded6"
#define F_GRE_IP_UDP "02000000000102000000000208004500003600010000402f66960a0000010a000002000008004500001e000100004011f97ac0a80001c0a80002045708ae000a19295858"
#define F_QINQ_IP_UDP "02000000000102000000000288a800078100000508004500001c00010000401166ce0a0000010a000002045708ae0008ded6"
#define F_VXLAN_INNER_TCP_PAYLOAD "02000000000102000000000208004500006100010000401166890a0000010a000002045712b5004d13b10c00000300002a0002000000000302000000000408004500002f000100004006f974c0a80001c0a80002045708ae000000000000000050182000443d00007061796c6f6164"
#define F_DOT3_LLC "020000000001020000000002000742420300000000"
#define F_FRAME_6_BYTES "020000000001"
#define F_FRAME_13_BYTES "02000000000102000000000208"
#define F_IPV6_HBH_UDP "02000000000102000000000286dd600000000012004020010db800000000000000000000000120010db80000000000000000000000021100010400000000045708ae000a3f085858"
#define F_TCP_SHORT_HEADER_13 "02000000000102000000000208004500002100010000400666d40a0000010a000002045708ae000000000000000050"
#define F_IPV4_SHORT_HEADER_6 "0200000000010200000000020800450000200001"
#define F_LOOPBACK_IPV4_UDP "020000004500001c00010000401166ce0a0000010a000002045708ae0008ded6"

#define F_RADIOTAP_FCS_BEFORE_PADDING "000030006b081c0002045756000000001000a4154001c5a3014e349740010100a4156c221f0107000400000004000000880230007831c1c63fc28a15149b5ae0f8eda5c0a4f140000000aaaa0300000008060001080006040002f8eda5c0a4f10a0000017831c1c63fc20a00000200000000000000000000000000001f0b60ce"
#define F_RADIOTAP_TLV_PAD "002f28002588081817b04e3e728e792a1ae850f1334b0452e3c9450a1bcd0707050003006162630008022c000101010101010202020202020303030303031000aaaa0300000008004500002800010000400666cd0a0000010a00000204d215b300000001000000025018200000000000aaaaaaaaaaaa"
#define F_PPI_RADIOTAP_FCS "00000c007f00000002000000007547001368e8021a0932e22d16dd51da21e575313f61ed857788ac074c64ecc6cab181891ff27b518c82e31a5040bd57a1d1f904ceb4ac6003e241bbaa2d9c029dfc345a27eb08022c000101010101010202020202020303030303031000aaaa0300000008004500003900010000401166b10a0000010a00000204d2003500250000123401000001000000000000076578616d706c6503636f6d0000010001c951b83b"
#define F_PPI_COOKED_TCP_PADDING "00001000710000000200040076a24175000000010006050505050505050508004500002800010000400666cd0a0000010a00000204d215b300000001000000025018200000000000aaaaaaaaaaaa"

typedef struct chain_case {
    const char *name;
    unsigned linktype;
    const char *frame;
    const char *chain;
} chain_case;

static const chain_case chains[] = {
    {"http_sport443_dport80_request", 1, F_HTTP_SPORT443_DPORT80_REQUEST,
     "Ether@0+14 IP@14+20 TCP@34+20 HTTP@54+0 HTTPRequest@54+41 Raw@95+4 pad=99"}, /* scapy: Ether/IP/TCP/HTTP/HTTPRequest */
    {"dns_sport53_dport80_tcp", 1, F_DNS_SPORT53_DPORT80_TCP,
     "Ether@0+14 IP@14+20 TCP@34+20 DNS@54+31 pad=85"}, /* scapy: Ether/IP/TCP/DNS */
    {"tls_record_443", 1, F_TLS_RECORD_443,
     "Ether@0+14 IP@14+20 TCP@34+20 TLS@54+10 pad=64"}, /* scapy: Ether/IP/TCP */
    {"tls_continuation_443", 1, F_TLS_CONTINUATION_443,
     "Ether@0+14 IP@14+20 TCP@34+20 TLSContinuation@54+8 pad=62"}, /* scapy: Ether/IP/TCP/_TLSEncryptedContent */
    {"http2_frame_port80", 1, F_HTTP2_FRAME_PORT80,
     "Ether@0+14 IP@14+20 TCP@34+20 H2Frame@54+9 pad=63"}, /* scapy: Ether/IP/TCP/H2Frame */
    {"http_connection_upgrade_body", 1, F_HTTP_CONNECTION_UPGRADE_BODY,
     "Ether@0+14 IP@14+20 TCP@34+20 HTTP@54+0 HTTPRequest@54+55 H2Frame@109+9 pad=118"}, /* scapy: Ether/IP/TCP/HTTP/HTTPRequest/H2Frame */
    {"http_patch_method", 1, F_HTTP_PATCH_METHOD,
     "Ether@0+14 IP@14+20 TCP@34+20 HTTP@54+0 Raw@54+30 pad=84"}, /* scapy: Ether/IP/TCP/HTTP/Raw */
    {"dns_udp_trailing_bytes", 1, F_DNS_UDP_TRAILING_BYTES,
     "Ether@0+14 IP@14+20 UDP@34+8 DNS@42+29 Raw@71+2 pad=73"}, /* scapy: Ether/IP/UDP */
    {"udp_len_padding", 1, F_UDP_LEN_PADDING,
     "Ether@0+14 IP@14+20 UDP@34+8 pad=42"}, /* scapy: Ether/IP/UDP/Padding */
    {"arp_padding", 1, F_ARP_PADDING,
     "Ether@0+14 ARP@14+28 pad=42"}, /* scapy: Ether/ARP/Padding */
    {"ipv4_mf_first_fragment", 1, F_IPV4_MF_FIRST_FRAGMENT,
     "Ether@0+14 IP@14+20 UDP@34+8 Raw@42+4 pad=46"}, /* scapy: Ether/IP/UDP */
    {"ipv4_non_first_fragment", 1, F_IPV4_NON_FIRST_FRAGMENT,
     "Ether@0+14 IP@14+20 Raw@34+12 pad=46"}, /* scapy: Ether/IP */
    {"icmp_echo_with_data", 1, F_ICMP_ECHO_WITH_DATA,
     "Ether@0+14 IP@14+20 ICMP@34+8 Raw@42+8 pad=50"}, /* scapy: Ether/IP */
    {"icmp_dest_unreach_quote", 1, F_ICMP_DEST_UNREACH_QUOTE,
     "Ether@0+14 IP@14+20 ICMP@34+8 ErrorQuote@42+20 ErrorQuote@62+8 DNS@70+29 pad=99"}, /* scapy: Ether/IP/ICMP/IPerror/UDPerror/DNS */
    {"sixin4_udp", 1, F_SIXIN4_UDP,
     "Ether@0+14 IP@14+20 IPv6@34+40 UDP@74+8 Raw@82+4 pad=86"}, /* scapy: Ether/IP/IPv6/UDP */
    {"fourin6_udp", 1, F_FOURIN6_UDP,
     "Ether@0+14 IPv6@14+40 IP@54+20 UDP@74+8 pad=82"}, /* scapy: Ether/IPv6/IP/UDP */
    {"gre_ip_udp", 1, F_GRE_IP_UDP,
     "Ether@0+14 IP@14+20 GRE@34+4 IP@38+20 UDP@58+8 Raw@66+2 pad=68"}, /* scapy: Ether/IP/GRE/IP/UDP */
    {"qinq_ip_udp", 1, F_QINQ_IP_UDP,
     "Ether@0+14 Dot1Q@14+4 Dot1Q@18+4 IP@22+20 UDP@42+8 pad=50"}, /* scapy: Ether/Dot1AD/Dot1Q/IP/UDP */
    {"vxlan_inner_tcp_payload", 1, F_VXLAN_INNER_TCP_PAYLOAD,
     "Ether@0+14 IP@14+20 UDP@34+8 VXLAN@42+8 Ether@50+14 IP@64+20 TCP@84+20 Raw@104+7 pad=111"}, /* scapy: Ether/IP/UDP/VXLAN/Ether/IP/TCP */
    {"dot3_llc", 1, F_DOT3_LLC,
     "Dot3@0+14 LLC@14+3 Opaque@17+4 pad=21"}, /* scapy: Dot3/LLC/STP */
    {"frame_6_bytes", 1, F_FRAME_6_BYTES,
     "Ether@0+6 pad=6"}, /* scapy: Ether */
    {"frame_13_bytes", 1, F_FRAME_13_BYTES,
     "Raw@0+13 pad=13"}, /* scapy: Raw */
    {"ipv6_hbh_udp", 1, F_IPV6_HBH_UDP,
     "Ether@0+14 IPv6@14+40 IPv6Extension@54+8 UDP@62+8 Raw@70+2 pad=72"}, /* scapy: Ether/IPv6/IPv6ExtHdrHopByHop/UDP */
    {"tcp_short_header_13", 1, F_TCP_SHORT_HEADER_13,
     "Ether@0+14 IP@14+20 Raw@34+13 pad=47"}, /* scapy: Ether/IP */
    {"ipv4_short_header_6", 1, F_IPV4_SHORT_HEADER_6,
     "Ether@0+14 IP@14+6 pad=20"}, /* scapy: Ether/IP */
    {"loopback_ipv4_udp", 0, F_LOOPBACK_IPV4_UDP,
     "Loopback@0+4 IP@4+20 UDP@24+8 pad=32"}, /* scapy: Loopback/IP/UDP */
    {"radiotap_fcs_before_padding", 127, F_RADIOTAP_FCS_BEFORE_PADDING,
     "Header@0+48 Header@48+24 Header@72+2 LLC@74+3 SNAP@77+5 ARP@82+28 pad=110"}, /* scapy: RadioTap/Dot11FCS/Dot11QoS/LLC/SNAP/ARP/Padding */
    {"radiotap_tlv_pad", 127, F_RADIOTAP_TLV_PAD,
     "Header@0+118 pad=118"}, /* scapy: RadioTap (the TLV list takes the rest) */
    {"ppi_radiotap_fcs", 192, F_PPI_RADIOTAP_FCS,
     "Header@0+12 Header@12+71 Header@83+24 LLC@107+3 SNAP@110+5 IP@115+20 UDP@135+8 DNS@143+29 pad=172"}, /* scapy: PPI/RadioTap/Dot11FCS/LLC/SNAP/IP/UDP/DNS */
    {"ppi_cooked_tcp_padding", 192, F_PPI_COOKED_TCP_PADDING,
     "Header@0+16 CookedLinux@16+16 IP@32+20 TCP@52+20 pad=72"}, /* scapy: PPI/CookedLinux/IP/TCP/Padding */
};

static size_t unhex(const char *hex, uint8_t *out, size_t capacity)
{
    size_t n = 0;
    for (; hex[0] && hex[1] && n < capacity; hex += 2) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[k];
            v = v * 16 + (unsigned)(c >= 'a' ? c - 'a' + 10 : c - '0');
        }
        out[n++] = (uint8_t)v;
    }
    return n;
}

static void describe(const hf_dissection *d, char *text, size_t capacity)
{
    size_t used = 0;
    text[0] = 0;
    for (int i = 0; i < d->layer_count && used < capacity; i++)
        used += (size_t)snprintf(text + used, capacity - used, "%s%s@%u+%u", i ? " " : "",
                                 hf_dissect_layer_name((hf_layer_kind)d->layers[i].kind),
                                 d->layers[i].offset, d->layers[i].length);
    if (used < capacity) snprintf(text + used, capacity - used, " pad=%zu", d->padding_start);
}

static void dissect_hex(const char *hex, unsigned linktype, hf_dissection *d, uint8_t *frame,
                        size_t capacity, size_t *n)
{
    *n = unhex(hex, frame, capacity);
    CHECK_EQ_INT(hf_dissect_packet(frame, *n, linktype, d), HF_OK);
}

static void test_chains(void)
{
    static uint8_t frame[2048];
    char text[1024];
    for (size_t i = 0; i < sizeof chains / sizeof chains[0]; i++) {
        hf_dissection d;
        size_t n;
        dissect_hex(chains[i].frame, chains[i].linktype, &d, frame, sizeof frame, &n);
        describe(&d, text, sizeof text);
        int same = strcmp(text, chains[i].chain) == 0;
        CHECK(same);
        if (!same) fprintf(stderr, "  %s: got \"%s\"\n  expected \"%s\"\n", chains[i].name, text, chains[i].chain);
    }
}

static void test_facts(void)
{
    static uint8_t frame[2048];
    hf_dissection d;
    size_t n;
    /* §2.4 port precedence: sport 443 / dport 80 is HTTP (80 precedes 443 in the TCP table) */
    dissect_hex(F_HTTP_SPORT443_DPORT80_REQUEST, 1, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.has_http, 1);
    CHECK_EQ_INT(d.has_raw, 1);       /* the body */
    CHECK_EQ_INT(d.has_tls, 0);
    CHECK_EQ_INT(d.first_http_request, 4);
    CHECK_EQ_INT(d.transport.protocol, 6);
    CHECK_EQ_INT(d.transport.source_port, 443);
    CHECK_EQ_INT(d.transport.destination_port, 80);
    CHECK_EQ_INT(d.transport.tcp_flags, 0x18);
    CHECK_EQ_INT(d.network.version, 4);
    CHECK_EQ_INT(d.network.source_offset, 26);
    CHECK_EQ_INT(d.network.destination_offset, 30);
    CHECK_EQ_INT(d.network.address_length, 4);
    CHECK_EQ_INT(d.network.protocol, 6);
    /* sport 53 / dport 80 is DNS (53 comes first) */
    dissect_hex(F_DNS_SPORT53_DPORT80_TCP, 1, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.first_dns, 3);
    CHECK_EQ_INT(d.dns_over_tcp, 1);
    CHECK_EQ_INT(d.has_http, 0);
    /* TLS record vs continuation */
    dissect_hex(F_TLS_RECORD_443, 1, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.has_tls, 1);
    dissect_hex(F_TLS_CONTINUATION_443, 1, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.has_tls, 0);
    CHECK_EQ_INT(d.has_raw, 0);
    /* MF first fragment: dissected as UDP; non-first fragment: Raw after IP */
    dissect_hex(F_IPV4_MF_FIRST_FRAGMENT, 1, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.network.more_fragments, 1);
    CHECK_EQ_INT(d.network.fragment_offset, 0);
    CHECK_EQ_INT(d.first_udp, 2);
    CHECK_EQ_INT(d.network.identification, 1);
    dissect_hex(F_IPV4_NON_FIRST_FRAGMENT, 1, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.network.fragment_offset, 100);
    CHECK_EQ_INT(d.first_udp, HF_NO_LAYER);
    CHECK_EQ_INT(d.transport.protocol, 0);
    CHECK_EQ_INT(d.has_raw, 1);
    /* ICMP error quote: IPerror/UDPerror are not IP/UDP; the quoted DNS is DNS */
    dissect_hex(F_ICMP_DEST_UNREACH_QUOTE, 1, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.first_ipv4, 1);
    CHECK_EQ_INT(d.first_udp, HF_NO_LAYER);
    CHECK_EQ_INT(d.first_dns, 5);
    CHECK_EQ_INT(d.has_raw, 0);
    /* 4in6: the first IPv4 is the inner one, and it is the one the flow facts describe */
    dissect_hex(F_FOURIN6_UDP, 1, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.first_ipv6, 1);
    CHECK_EQ_INT(d.first_ipv4, 2);
    CHECK_EQ_INT(d.network.version, 4);
    CHECK_EQ_INT(d.network.source_offset, 54 + 12);
    /* 6in4 */
    dissect_hex(F_SIXIN4_UDP, 1, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.network.version, 4);
    CHECK_EQ_INT(d.network.source_offset, 26);
    /* VXLAN: the inner Ether is not the first Ether; the inner TCP is the first TCP */
    dissect_hex(F_VXLAN_INNER_TCP_PAYLOAD, 1, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.first_ether, 0);
    CHECK_EQ_INT(d.first_tcp, 6);
    CHECK_EQ_INT(d.first_udp, 2);
    CHECK_EQ_INT(d.transport.protocol, 17); /* first TCP/UDP in chain order: the outer UDP */
    /* §1.4: 6-byte frames are a rebuilt Ether, 13-byte frames Raw */
    dissect_hex(F_FRAME_6_BYTES, 1, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.ether_rebuilt, 1);
    dissect_hex(F_FRAME_13_BYTES, 1, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.ether_rebuilt, 0);
    CHECK_EQ_INT(d.first_ether, HF_NO_LAYER);
    /* Dot3 is not Ether (P35) */
    dissect_hex(F_DOT3_LLC, 1, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.first_ether, HF_NO_LAYER);
    /* short IPv4 header at a field boundary: a partial IP layer */
    dissect_hex(F_IPV4_SHORT_HEADER_6, 1, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.layers[1].flags & HF_LAYER_FLAG_PARTIAL, HF_LAYER_FLAG_PARTIAL);
    CHECK_EQ_INT(d.network.address_length, 0);
    /* empty frame and an unknown link type */
    CHECK_EQ_INT(hf_dissect_packet(NULL, 0, 1, &d), HF_OK);
    CHECK_EQ_INT(d.layer_count, 1);
    CHECK_EQ_INT(d.ether_rebuilt, 1);
    CHECK_EQ_INT(hf_dissect_packet(frame, 10, 239, &d), HF_OK);
    CHECK_EQ_INT(d.layer_count, 1);
    CHECK_EQ_INT(d.layers[0].kind, HF_LAYER_RAW);
}

/* More layers than HF_MAX_LAYERS: the rest becomes one opaque layer (no Raw). */
static void test_layer_limit(void)
{
    static uint8_t frame[14 + 40 * 4 + 20];
    memset(frame, 0, sizeof frame);
    frame[12] = 0x81; /* 40 VLAN tags, then IPv4 */
    size_t off = 14;
    for (int i = 0; i < 40; i++, off += 4) {
        frame[off + 2] = 0x81;
        frame[off + 3] = 0x00;
    }
    frame[off - 2] = 0x08;
    frame[off - 1] = 0x00;
    frame[off] = 0x45;
    hf_dissection d;
    CHECK_EQ_INT(hf_dissect_packet(frame, sizeof frame, 1, &d), HF_OK);
    CHECK_EQ_INT(d.layer_count, HF_MAX_LAYERS);
    CHECK_EQ_INT(d.layers[HF_MAX_LAYERS - 1].kind, HF_LAYER_OPAQUE);
    CHECK_EQ_INT(d.first_ipv4, HF_NO_LAYER);
    CHECK_EQ_INT(d.has_raw, 0);
}

/* An opaque layer that lands in the last slot fills the array too: nothing is written after
 * it (28..31 VLAN tags, then LLDP, whose payload is opaque; 31 tags put it in slot 31). */
static void test_layer_limit_opaque_last(void)
{
    static uint8_t frame[14 + 32 * 4 + 20];
    for (int tags = 28; tags <= 32; tags++) {
        memset(frame, 0, sizeof frame);
        frame[12] = 0x81;
        size_t off = 14;
        for (int i = 0; i < tags; i++, off += 4) {
            frame[off + 2] = 0x81;
            frame[off + 3] = 0x00;
        }
        frame[off - 2] = 0x88; /* LLDP */
        frame[off - 1] = 0xcc;
        frame[off] = 0x02;
        hf_dissection d;
        CHECK_EQ_INT(hf_dissect_packet(frame, off + 20, 1, &d), HF_OK);
        CHECK_EQ_INT(d.layer_count, tags + 2 < HF_MAX_LAYERS ? tags + 2 : HF_MAX_LAYERS);
        CHECK_EQ_INT(d.layers[d.layer_count - 1].kind, HF_LAYER_OPAQUE);
        CHECK_EQ_INT(d.layers[d.layer_count - 1].offset + d.layers[d.layer_count - 1].length,
                     off + 20);
        CHECK_EQ_INT(d.padding_start, off + 20);
    }
}

/* hf_dissect_packet fills only what dissect.h defines (layers/zeroed up to their counts):
 * whatever the struct held before -- garbage or the previous packet -- the defined fields come
 * out the same. */
static void check_same_dissection(const hf_dissection *a, const hf_dissection *b)
{
    CHECK_EQ_INT(a->caplen, b->caplen);
    CHECK_EQ_INT(a->linktype, b->linktype);
    CHECK_EQ_INT(a->layer_count, b->layer_count);
    CHECK(a->layer_count >= 0 && a->layer_count <= HF_MAX_LAYERS);
    for (int i = 0; i < a->layer_count && i < HF_MAX_LAYERS; i++) {
        CHECK_EQ_INT(a->layers[i].kind, b->layers[i].kind);
        CHECK_EQ_INT(a->layers[i].flags, b->layers[i].flags);
        CHECK_EQ_INT(a->layers[i].reserved, 0);
        CHECK_EQ_INT(a->layers[i].offset, b->layers[i].offset);
        CHECK_EQ_INT(a->layers[i].length, b->layers[i].length);
    }
    CHECK_EQ_INT(a->padding_start, b->padding_start);
    CHECK_EQ_INT(a->trailer_start, b->trailer_start);
    CHECK_EQ_INT(a->zeroed_count, b->zeroed_count);
    for (int i = 0; i < a->zeroed_count && i < HF_MAX_ZEROED; i++) {
        CHECK_EQ_INT(a->zeroed[i].offset, b->zeroed[i].offset);
        CHECK_EQ_INT(a->zeroed[i].length, b->zeroed[i].length);
    }
    CHECK_EQ_INT(a->has_raw, b->has_raw);
    CHECK_EQ_INT(a->has_tls, b->has_tls);
    CHECK_EQ_INT(a->has_http, b->has_http);
    CHECK_EQ_INT(a->ether_rebuilt, b->ether_rebuilt);
    CHECK_EQ_INT(a->first_ether, b->first_ether);
    CHECK_EQ_INT(a->first_ipv4, b->first_ipv4);
    CHECK_EQ_INT(a->first_ipv6, b->first_ipv6);
    CHECK_EQ_INT(a->first_tcp, b->first_tcp);
    CHECK_EQ_INT(a->first_udp, b->first_udp);
    CHECK_EQ_INT(a->first_dns, b->first_dns);
    CHECK_EQ_INT(a->first_http_request, b->first_http_request);
    CHECK_EQ_INT(a->first_http_response, b->first_http_response);
    CHECK_EQ_INT(a->network.version, b->network.version);
    CHECK_EQ_INT(a->network.source_offset, b->network.source_offset);
    CHECK_EQ_INT(a->network.destination_offset, b->network.destination_offset);
    CHECK_EQ_INT(a->network.address_length, b->network.address_length);
    CHECK_EQ_INT(a->network.protocol, b->network.protocol);
    CHECK_EQ_INT(a->network.fragment_offset, b->network.fragment_offset);
    CHECK_EQ_INT(a->network.more_fragments, b->network.more_fragments);
    CHECK_EQ_INT(a->network.identification, b->network.identification);
    CHECK_EQ_INT(a->transport.protocol, b->transport.protocol);
    CHECK_EQ_INT(a->transport.source_port, b->transport.source_port);
    CHECK_EQ_INT(a->transport.destination_port, b->transport.destination_port);
    CHECK_EQ_INT(a->transport.tcp_flags, b->transport.tcp_flags);
    CHECK_EQ_INT(a->dns_over_tcp, b->dns_over_tcp);
}

static void test_struct_reuse(void)
{
    static uint8_t frame[2048], previous[2048];
    size_t previous_length = 0;
    unsigned previous_linktype = 1;
    for (size_t i = 0; i < sizeof chains / sizeof chains[0]; i++) {
        size_t n = unhex(chains[i].frame, frame, sizeof frame);
        hf_dissection clean, garbage, reused;
        memset(&clean, 0, sizeof clean);
        memset(&garbage, 0xa5, sizeof garbage);
        CHECK_EQ_INT(hf_dissect_packet(frame, n, chains[i].linktype, &clean), HF_OK);
        CHECK_EQ_INT(hf_dissect_packet(frame, n, chains[i].linktype, &garbage), HF_OK);
        check_same_dissection(&garbage, &clean);
        /* the previous chain's dissection, then this one, in the same struct */
        CHECK_EQ_INT(hf_dissect_packet(previous, previous_length, previous_linktype, &reused), HF_OK);
        CHECK_EQ_INT(hf_dissect_packet(frame, n, chains[i].linktype, &reused), HF_OK);
        check_same_dissection(&reused, &clean);
        memcpy(previous, frame, n);
        previous_length = n;
        previous_linktype = chains[i].linktype;
    }
}

/* The port tables decide in scapy's payload_guess order when both ports are bound (Appendix A
 * TCP_TABLE / UDP_TABLE): the first matching row wins, whichever port it tests.  The class of
 * the payload layer (index 3, after Ether/IP/TCP or UDP) for a TLS record resp. a DNS query
 * under various port pairs. */
static void test_port_order(void)
{
    static const struct {
        int udp;
        uint16_t source_port, destination_port;
        int kind;
    } cases[] = {
        {0, 1234, 443, HF_LAYER_TLS},
        {0, 443, 1234, HF_LAYER_TLS},
        {0, 80, 443, HF_LAYER_HTTP},      /* sport 80 precedes dport 443 */
        {0, 443, 80, HF_LAYER_HTTP},      /* dport 80 precedes sport 443 */
        {0, 443, 8080, HF_LAYER_HTTP},
        {0, 88, 443, HF_LAYER_OPAQUE},    /* Kerberos before TLS */
        {0, 443, 88, HF_LAYER_OPAQUE},
        {0, 445, 443, HF_LAYER_RAW},      /* NBTSession, not SMB: Raw */
        {0, 1234, 1234, HF_LAYER_RAW},
        {0, 443, 443, HF_LAYER_TLS},
        {1, 5555, 53, HF_LAYER_DNS},
        {1, 53, 5555, HF_LAYER_DNS},
        {1, 68, 67, HF_LAYER_OPAQUE},     /* the DHCP pairs */
        {1, 67, 68, HF_LAYER_OPAQUE},
        {1, 67, 67, HF_LAYER_OPAQUE},
        {1, 68, 68, HF_LAYER_RAW},
        {1, 68, 53, HF_LAYER_DNS},
        {1, 67, 53, HF_LAYER_DNS},
        {1, 1985, 53, HF_LAYER_DNS},      /* dport 53 precedes sport 1985 */
        {1, 53, 1985, HF_LAYER_DNS},      /* sport 53 precedes dport 1985 */
        {1, 500, 1985, HF_LAYER_OPAQUE},
        {1, 5555, 5555, HF_LAYER_RAW},
    };
    static uint8_t frame[2048];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = unhex(cases[i].udp ? F_DNS_UDP_TRAILING_BYTES : F_TLS_RECORD_443, frame,
                         sizeof frame);
        frame[34] = (uint8_t)(cases[i].source_port >> 8);
        frame[35] = (uint8_t)cases[i].source_port;
        frame[36] = (uint8_t)(cases[i].destination_port >> 8);
        frame[37] = (uint8_t)cases[i].destination_port;
        hf_dissection d;
        CHECK_EQ_INT(hf_dissect_packet(frame, n, 1, &d), HF_OK);
        CHECK(d.layer_count >= 4);
        CHECK_EQ_INT(d.layers[3].kind, cases[i].kind);
    }
}

/* Truncating a frame at every length never reads out of bounds (ASan) and always succeeds. */
static void test_truncations(void)
{
    static uint8_t frame[2048];
    for (size_t i = 0; i < sizeof chains / sizeof chains[0]; i++) {
        size_t n = unhex(chains[i].frame, frame, sizeof frame);
        for (size_t cut = 0; cut <= n; cut++) {
            hf_dissection d;
            CHECK_EQ_INT(hf_dissect_packet(frame, cut, chains[i].linktype, &d), HF_OK);
            CHECK(d.padding_start <= d.trailer_start && d.trailer_start <= cut);
            for (int k = 0; k < d.zeroed_count; k++)
                CHECK((size_t)d.zeroed[k].offset + d.zeroed[k].length <= cut);
            for (int k = 0; k < d.layer_count; k++)
                CHECK((size_t)d.layers[k].offset + d.layers[k].length <= cut);
        }
    }
}

/* RadioTap rebuild facts (dissect.h `zeroed`, `trailer_start`): the alignment pads scapy's
 * ReversePadFields skip, counted from the RadioTap start (also inside PPI), and the Dot11FCS
 * trailer.  arp-who-has-radiotap.pcap #1: present TSFT+Flags(FCS)+Channel+dBm_AntSignal+
 * dBm_AntNoise+Antenna+ChannelPlus+MCS+A_MPDU -> pads at 17 (Channel), 25-27 (ChannelPlus),
 * 35 (MCS), 39 (A_MPDU); 128-byte frame, FCS at 124. */
static void test_radiotap_facts(void)
{
    static uint8_t frame[2048];
    hf_dissection d;
    size_t n;
    dissect_hex(F_RADIOTAP_FCS_BEFORE_PADDING, 127, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.zeroed_count, 4);
    CHECK_EQ_INT(d.zeroed[0].offset, 17);
    CHECK_EQ_INT(d.zeroed[0].length, 1);
    CHECK_EQ_INT(d.zeroed[1].offset, 25);
    CHECK_EQ_INT(d.zeroed[1].length, 3);
    CHECK_EQ_INT(d.zeroed[2].offset, 35);
    CHECK_EQ_INT(d.zeroed[3].offset, 39);
    CHECK_EQ_INT(d.trailer_start, 124);
    CHECK_EQ_INT(n, 128);
    /* The same RadioTap inside PPI: pads count from the RadioTap start (12), not the frame. */
    dissect_hex(F_PPI_RADIOTAP_FCS, 192, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(d.zeroed_count, 2);
    CHECK_EQ_INT(d.zeroed[0].offset, 12 + 23);
    CHECK_EQ_INT(d.zeroed[1].offset, 12 + 36);
    CHECK_EQ_INT(d.zeroed[1].length, 4);
    CHECK_EQ_INT(d.trailer_start, n - 4);
    CHECK_EQ_INT(d.first_ipv4, 5);
    /* A present field that does not fit: scapy's RadioTap raises, rdpcap keeps Raw. */
    dissect_hex(F_RADIOTAP_FCS_BEFORE_PADDING, 127, &d, frame, sizeof frame, &n);
    CHECK_EQ_INT(hf_dissect_packet(frame, 30, 127, &d), HF_OK);
    CHECK_EQ_INT(d.layer_count, 1);
    CHECK_EQ_INT(d.layers[0].kind, HF_LAYER_RAW);
    CHECK_EQ_INT(d.zeroed_count, 0);
    CHECK_EQ_INT(d.trailer_start, 30);
}

/* The HTTP text helpers on their edges: CRs without LF, a CRLF split at the end of the range,
 * the first-letter shortcut of classify, and the last matching header winning. */
static void test_http_helpers(void)
{
    const uint8_t *t = (const uint8_t *)"a\r\rb\r\nc\r";
    CHECK_EQ_INT((int)hf_http_find_crlf(t, 0, 9), 4);
    CHECK_EQ_INT((int)hf_http_find_crlf(t, 5, 9), 9);      /* final CR without LF */
    CHECK_EQ_INT((int)hf_http_find_crlf(t, 0, 5), 5);      /* the LF is past the range */
    CHECK_EQ_INT((int)hf_http_find_crlf(t, 9, 9), 9);
    CHECK_EQ_INT((int)hf_http_find_crlf(t, 0, 0), 0);

    const char *response = "HTTP/1.1 200 OK\r\nConnection: close\r\nX: 1\r\n"
                           "CONNECTION :  Upgrade \r\n\r\nbody";
    size_t length = strlen(response), header_length = 0;
    const uint8_t *r = (const uint8_t *)response;
    CHECK_EQ_INT(hf_dissect_http_classify(r, 0, length, &header_length), HF_HTTP_RESPONSE);
    CHECK_EQ_INT((int)header_length, (int)(length - 4));
    const uint8_t *value = NULL;
    size_t value_length = 0;
    CHECK_EQ_INT(hf_dissect_http_header(r, 0, header_length, "connection", &value, &value_length), 1);
    CHECK(value_length == 7 && memcmp(value, "Upgrade", 7) == 0);
    CHECK_EQ_INT(hf_dissect_http_header(r, 0, header_length, "host", &value, &value_length), 0);
    const uint8_t *body = (const uint8_t *)"xHTTP/1.1 200 OK\r\n\r\n";
    CHECK_EQ_INT(hf_dissect_http_classify(body, 0, 20, &header_length), HF_HTTP_NOT_HTTP);
    CHECK_EQ_INT((int)header_length, 20);
    CHECK_EQ_INT(hf_dissect_http_classify(body, 1, 20, &header_length), HF_HTTP_RESPONSE);
    CHECK_EQ_INT(hf_dissect_http_classify(body, 20, 20, &header_length), HF_HTTP_NOT_HTTP);

    /* The header end against the definition (the first CRLF at or after the first line's that
     * is followed by CRLF), on every short tail over {CR, LF, 'a'}. */
    static const char prefix[] = "GET / HTTP/1.1\r\n";
    const size_t line_end = sizeof prefix - 3;
    uint8_t message[64];
    memcpy(message, prefix, sizeof prefix - 1);
    int mismatches = 0;
    for (int tail_length = 0; tail_length <= 7; tail_length++) {
        int combinations = 1;
        for (int k = 0; k < tail_length; k++) combinations *= 3;
        for (int code = 0; code < combinations; code++) {
            int rest = code;
            for (int k = 0; k < tail_length; k++, rest /= 3)
                message[sizeof prefix - 1 + k] = (uint8_t)"\r\na"[rest % 3];
            size_t n = sizeof prefix - 1 + (size_t)tail_length, expected = n;
            for (size_t i = hf_http_find_crlf(message, line_end, n); i + 3 < n;
                 i = hf_http_find_crlf(message, i + 1, n)) {
                if (message[i + 2] == '\r' && message[i + 3] == '\n') {
                    expected = i + 4;
                    break;
                }
            }
            if (hf_dissect_http_classify(message, 0, n, &header_length) != HF_HTTP_REQUEST ||
                header_length != expected)
                mismatches++;
        }
    }
    CHECK_EQ_INT(mismatches, 0);
}

int main(void)
{
    test_chains();
    test_radiotap_facts();
    test_facts();
    test_layer_limit();
    test_layer_limit_opaque_last();
    test_struct_reuse();
    test_port_order();
    test_truncations();
    test_http_helpers();
    return CHECK_REPORT();
}
