/*
 * dissect_udp_app.c -- does scapy 2.5 leave a Raw layer in an NBNS (UDP 137), NTP (UDP 123) or
 * SNMP (UDP 161/162) payload?  (reference-semantics.md §2.4 "Other bound ports", §7.1 P8.)
 * A Raw layer anywhere in the chain makes 1.1.1 drop the whole UDP payload (R2', §2.3); when
 * there is none the payload is kept byte for byte (scapy rebuilds the layers from their cached
 * wire bytes), so all we decide is "Raw or not".  Called from dissect_app.c.
 *
 * The decision follows scapy's own dissection, field by field:
 *   - Packet.do_dissect (scapy:packet.py:979-997) walks fields_desc; it stops without error when
 *     the data is exhausted *at a field boundary* ("if not s: break"), but a struct-based field
 *     (Short/Int/IP/MAC/BitField group...) cut in the middle raises struct.error;
 *     StrFixedLenField just takes what is left.
 *   - An exception while dissecting a layer turns that layer's whole data into Raw
 *     (Packet.do_dissect_payload, scapy:packet.py:999-1023).
 *   - Bytes left after the last field go to guess_payload_class: a class bound by bind_layers,
 *     or default_payload_class = Raw.
 *   - Raw inside a PacketListField/PacketField value does not count: 1.1.1 tests
 *     `packet.layers()`, which follows the payload chain only (heifip/layers/packet.py:16-21).
 *
 * Field walks are tables of {size, lenient}: size in bytes of a field or of a run of BitFields
 * that ends on a byte boundary (a run behaves like one struct field: each BitField unpacks the
 * bytes up to its last bit, scapy:fields.py BitField.getfield), lenient = StrFixedLenField.
 */
#include <string.h>

#include "dissect_internal.h"

typedef struct field_size {
    uint8_t size;    /* bytes */
    uint8_t lenient; /* 1: StrFixedLenField (a short read takes what is left, no error) */
} field_size;

typedef enum walk_result {
    WALK_COMPLETE, /* every field read; *position is after the last one */
    WALK_ENDED,    /* the data ran out at a field boundary (or inside a lenient field): no error */
    WALK_RAISES    /* a strict field was cut: scapy raises -> the layer becomes Raw */
} walk_result;

/* Packet.do_dissect over fixed-size fields, from *position to end. */
static walk_result walk_fields(const field_size *fields, size_t count, size_t *position, size_t end)
{
    for (size_t i = 0; i < count; i++) {
        size_t left = end - *position;
        if (left == 0) return WALK_ENDED;
        if (left < fields[i].size) {
            if (!fields[i].lenient) return WALK_RAISES;
            *position = end;
            return WALK_ENDED;
        }
        *position += fields[i].size;
    }
    return WALK_COMPLETE;
}

#define COUNT(table) (sizeof(table) / sizeof((table)[0]))

/* ---- NBNS (scapy:layers/netbios.py) --------------------------------------------------------
 *
 * NBNSHeader, 12 bytes: 0 NAME_TRN_ID(2) 2 RESPONSE:1 OPCODE:4 NM_FLAGS:7 RCODE:4 (2)
 *   4 QDCOUNT(2) 6 ANCOUNT(2) 8 NSCOUNT(2) 10 ARCOUNT(2).
 * Its payload class comes from bind_layers / bind_bottom_up (field values, first match):
 *   NBNSQueryRequest       OPCODE=0 NM_FLAGS=0x11 QDCOUNT=1
 *   NBNSQueryResponse      OPCODE=0 NM_FLAGS=0x50 RESPONSE=1 ANCOUNT=1
 *   NBNSNodeStatusRequest  OPCODE=0 NM_FLAGS=0 QDCOUNT=1, and OPCODE=0 NM_FLAGS=1 QDCOUNT=1
 *   NBNSNodeStatusResponse OPCODE=0 NM_FLAGS=0x40 RESPONSE=1 ANCOUNT=1
 *   NBNSRegistrationRequest OPCODE=5 NM_FLAGS=0x11 QDCOUNT=1 ARCOUNT=1
 *   NBNSWackResponse       OPCODE=7 NM_FLAGS=0x40 RESPONSE=1 ANCOUNT=1
 * anything else -> Raw.  Every class starts with NetBIOSNameField (a StrFixedLenField of 31
 * bytes), SUFFIX(2), NULL(1), then type(2) class(2). */

static const field_size nbns_header_fields[] = {{2, 0}, {2, 0}, {2, 0}, {2, 0}, {2, 0}, {2, 0}};
/* NBNSQueryRequest / NBNSNodeStatusRequest (same fields_desc). */
static const field_size nbns_question_fields[] = {{31, 1}, {2, 0}, {1, 0}, {2, 0}, {2, 0}};
/* NBNSQueryResponse up to RDLENGTH; ADDR_ENTRY follows (PacketListField, RDLENGTH bytes). */
static const field_size nbns_query_response_fields[] = {
    {31, 1}, {2, 0}, {1, 0}, {2, 0}, {2, 0}, {4, 0}, {2, 0}};
/* NBNSNodeStatusResponse up to NUM_NAMES (B); NODE_NAME follows (NUM_NAMES entries). */
static const field_size nbns_node_status_response_fields[] = {
    {31, 1}, {2, 0}, {1, 0}, {2, 0}, {2, 0}, {4, 0}, {2, 0}, {1, 0}};
/* After NODE_NAME: MAC_ADDRESS (MACField "6s"), STATISTICS (XStrFixedLenField 46). */
static const field_size nbns_node_status_tail_fields[] = {{6, 0}, {46, 1}};
/* NBNSRegistrationRequest: ... RR_NAME(2) RR_TYPE(2) RR_CLASS(2) TTL(4) RDLENGTH(2)
 * G:1 OWNER_NODE_TYPE:2 UNUSED:13 (2) NB_ADDRESS(4). */
static const field_size nbns_registration_fields[] = {
    {31, 1}, {2, 0}, {1, 0}, {2, 0}, {2, 0}, {2, 0}, {2, 0}, {2, 0}, {4, 0}, {2, 0}, {2, 0}, {4, 0}};
/* NBNSWackResponse: ... RR_TYPE(2) RR_CLASS(2) TTL(4) RDLENGTH(2) RDATA:16. */
static const field_size nbns_wack_fields[] = {
    {31, 1}, {2, 0}, {1, 0}, {2, 0}, {2, 0}, {4, 0}, {2, 0}, {2, 0}};

enum { NBNS_NONE, NBNS_QUESTION, NBNS_QUERY_RESPONSE, NBNS_NODE_STATUS_RESPONSE,
       NBNS_REGISTRATION, NBNS_WACK };

int hf_dissect_nbns_leaves_raw(const hf_dissector *d, size_t offset, size_t end)
{
    size_t position = offset;
    walk_result header = walk_fields(nbns_header_fields, COUNT(nbns_header_fields), &position, end);
    if (header != WALK_COMPLETE) return header == WALK_RAISES;
    if (position == end) return 0;
    uint16_t flags = hf_dissector_be16_or_zero(d, offset + 2);
    unsigned response = flags >> 15, opcode = (flags >> 11) & 0xf, nm_flags = (flags >> 4) & 0x7f;
    uint16_t qdcount = hf_dissector_be16_or_zero(d, offset + 4);
    uint16_t ancount = hf_dissector_be16_or_zero(d, offset + 6);
    uint16_t arcount = hf_dissector_be16_or_zero(d, offset + 10);
    int kind = NBNS_NONE;
    if (opcode == 0 && nm_flags == 0x11 && qdcount == 1) kind = NBNS_QUESTION;
    else if (opcode == 0 && nm_flags == 0x50 && response == 1 && ancount == 1) kind = NBNS_QUERY_RESPONSE;
    else if (opcode == 0 && (nm_flags == 0 || nm_flags == 1) && qdcount == 1) kind = NBNS_QUESTION;
    else if (opcode == 0 && nm_flags == 0x40 && response == 1 && ancount == 1)
        kind = NBNS_NODE_STATUS_RESPONSE;
    else if (opcode == 5 && nm_flags == 0x11 && qdcount == 1 && arcount == 1) kind = NBNS_REGISTRATION;
    else if (opcode == 7 && nm_flags == 0x40 && response == 1 && ancount == 1) kind = NBNS_WACK;

    walk_result body = WALK_COMPLETE;
    switch (kind) {
    case NBNS_QUESTION:
        body = walk_fields(nbns_question_fields, COUNT(nbns_question_fields), &position, end);
        break;
    case NBNS_QUERY_RESPONSE: {
        size_t rdlength_at = position + 31 + 2 + 1 + 2 + 2 + 4;
        body = walk_fields(nbns_query_response_fields, COUNT(nbns_query_response_fields), &position, end);
        if (body == WALK_COMPLETE) {
            /* ADDR_ENTRY: PacketListField(length_from=RDLENGTH) takes s[:RDLENGTH]; its entries
             * never raise out of the list (a failing entry becomes a Raw list element). */
            size_t rdlength = hf_dissector_be16_or_zero(d, rdlength_at);
            position += rdlength < end - position ? rdlength : end - position;
        }
        break;
    }
    case NBNS_NODE_STATUS_RESPONSE: {
        size_t count_at = position + 31 + 2 + 1 + 2 + 2 + 4 + 2;
        body = walk_fields(nbns_node_status_response_fields, COUNT(nbns_node_status_response_fields),
                           &position, end);
        if (body == WALK_COMPLETE) {
            /* NODE_NAME: NUM_NAMES NBNSNodeStatusResponseService entries of 15+1+1+1 bytes,
             * whose default payload class is Padding (the rest goes back to the list); an entry
             * cut short takes what is left without error (string and byte fields). */
            size_t names = hf_dissector_byte_or_zero(d, count_at);
            size_t entries = names * 18;
            position += entries < end - position ? entries : end - position;
            body = walk_fields(nbns_node_status_tail_fields, COUNT(nbns_node_status_tail_fields),
                               &position, end);
        }
        break;
    }
    case NBNS_REGISTRATION:
        body = walk_fields(nbns_registration_fields, COUNT(nbns_registration_fields), &position, end);
        break;
    case NBNS_WACK:
        body = walk_fields(nbns_wack_fields, COUNT(nbns_wack_fields), &position, end);
        break;
    default:
        return 1; /* no binding: NBNSHeader / Raw */
    }
    if (body == WALK_RAISES) return 1; /* the class raised: NBNSHeader / Raw */
    return position < end;             /* bytes after the last field: <class> / Raw */
}

/* ---- NTP (scapy:layers/ntp.py) -------------------------------------------------------------
 *
 * _ntp_dispatcher (ntp.py:169-184): a payload shorter than _NTP_PACKET_MIN_SIZE (8) is Raw;
 * else byte 0 & 7 picks NTPControl (mode 6), NTPPrivate (mode 7) or NTPHeader (the others).
 *
 * NTPHeader (ntp.py:363-462), 48 bytes: 0 leap:2 version:3 mode:3 | 1 stratum | 2 poll |
 *   3 precision | 4 delay(4) | 8 dispersion(4) | 12 id (IPField, stratum > 1) or ref_id
 *   (StrFixedLenEnumField 4, stratum < 2) | 16 ref(8) | 24 orig(8) | 32 recv(8) | 40 sent(8).
 *   Its guess_payload_class: rest - 4 in {16, 20, 32, 64} -> NTPAuthenticator, rest > 20 ->
 *   NTPExtensions (both consume everything without raising), else Packet's rule -> Raw.
 * NTPControl (ntp.py:780-903): 0 zeros:2 version:3 mode:3 | 1 response err more op_code:5 |
 *   2 sequence(2) | 4 status_word (response=1: NTPControlStatusField, 2 bytes + Padding) or
 *   status(2) | 6 association_id(2) | 8 offset(2) | 10 count(2) | 12 data: count bytes, at least
 *   12 and rounded up to 4 when count > 0 (NTPControlDataPacketLenField.getfield, which catches
 *   its own errors) | authenticator: PacketField(NTPAuthenticator) on the rest, whose
 *   IntField key_id raises on 1..3 bytes.
 * NTPPrivate (ntp.py:1662-1818), 8 bytes: 0 response more version:3 mode:3 | 1 auth seq:7 |
 *   2 implementation | 3 request_code | 4 err:4 nb_items:12 | 6 mbz:4 data_item_size:12, then
 *   the request (response=0) or response item lists and, for authenticated requests, the
 *   28-byte NTPPrivatePktTail.  The item classes are instantiated on data_item_size bytes each
 *   and raise when that cuts one of their struct fields.
 *
 * Item class field tables, generated from scapy 2.5.0's fields_desc (a run of byte fields or
 * strings is one lenient entry: it cannot be cut mid-field; FieldListField = its elements;
 * PadField(IPField, 16) = IP(4) + 12 lenient pad bytes). */

/* NTPInfoPeerList: 32 bytes */
static const field_size ntp_info_peer_list[] = {{4, 0}, {2, 0}, {2, 1}, {4, 0}, {4, 0}, {16, 0}};
/* NTPInfoPeerSummary: 72 bytes */
static const field_size ntp_info_peer_summary[] = {
    {4, 0}, {4, 0}, {2, 0}, {6, 1}, {4, 0}, {8, 0}, {4, 0}, {4, 0}, {4, 0}, {16, 0}, {16, 0}};
/* NTPInfoPeer: 280 bytes */
static const field_size ntp_info_peer[] = {
    {4, 0}, {4, 0}, {2, 0}, {14, 1}, {2, 0}, {2, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0},
    {8, 0}, {8, 0}, {8, 0}, {8, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0},
    {8, 0}, {8, 0}, {8, 0}, {8, 0}, {8, 0}, {8, 0}, {8, 0}, {8, 0}, {8, 1}, {4, 0}, {4, 0}, {8, 0},
    {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {16, 0},
    {16, 0}};
/* NTPInfoPeerStats: 120 bytes */
static const field_size ntp_info_peer_stats[] = {
    {4, 0}, {4, 0}, {2, 0}, {2, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0},
    {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 1}, {4, 0}, {4, 0}, {16, 0},
    {16, 0}};
/* NTPInfoSys: 80 bytes */
static const field_size ntp_info_sys[] = {
    {4, 0}, {4, 1}, {4, 0}, {4, 0}, {4, 0}, {8, 0}, {4, 0}, {4, 1}, {4, 0}, {4, 0}, {8, 0}, {4, 0},
    {4, 0}, {4, 0}, {16, 0}};
/* NTPInfoSysStats: 44 bytes */
static const field_size ntp_info_sys_stats[] = {
    {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}};
/* NTPInfoIOStats: 40 bytes */
static const field_size ntp_info_i_o_stats[] = {
    {4, 0}, {2, 0}, {2, 0}, {2, 0}, {2, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}};
/* NTPInfoMemStats: 148 bytes */
static const field_size ntp_info_mem_stats[] = {
    {4, 0}, {2, 0}, {2, 0}, {4, 0}, {4, 0}, {4, 0}, {128, 1}};
/* NTPInfoLoop: 24 bytes */
static const field_size ntp_info_loop[] = {{8, 0}, {8, 0}, {4, 0}, {4, 0}};
/* NTPInfoTimerStats: 16 bytes */
static const field_size ntp_info_timer_stats[] = {{4, 0}, {4, 0}, {4, 0}, {4, 0}};
/* NTPConfPeer: 168 bytes */
static const field_size ntp_conf_peer[] = {
    {4, 0}, {6, 1}, {2, 0}, {4, 0}, {128, 1}, {4, 0}, {4, 0}, {16, 0}};
/* NTPConfUnpeer: 24 bytes */
static const field_size ntp_conf_unpeer[] = {{4, 0}, {4, 0}, {16, 0}};
/* NTPInfoAuth: 36 bytes */
static const field_size ntp_info_auth[] = {
    {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}};
/* NTPConfTrap: 48 bytes */
static const field_size ntp_conf_trap[] = {
    {4, 0}, {4, 0}, {2, 0}, {2, 0}, {4, 0}, {16, 0}, {16, 0}};
/* NTPInfoControl: 60 bytes */
static const field_size ntp_info_control[] = {
    {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0},
    {4, 0}, {4, 0}, {4, 0}};
/* NTPInfoKernel: 60 bytes */
static const field_size ntp_info_kernel[] = {
    {4, 0}, {4, 0}, {4, 0}, {4, 0}, {2, 0}, {2, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0},
    {4, 0}, {4, 0}, {4, 0}, {4, 0}};
/* NTPInfoMonitor1: 72 bytes */
static const field_size ntp_info_monitor1[] = {
    {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {2, 0}, {2, 1}, {4, 0}, {4, 0}, {16, 0},
    {16, 0}};
/* NTPConfRestrict: 48 bytes */
static const field_size ntp_conf_restrict[] = {
    {4, 0}, {4, 0}, {2, 0}, {2, 0}, {4, 0}, {16, 0}, {16, 0}};
/* NTPInfoIfStatsIPv4: 136 bytes */
static const field_size ntp_info_if_stats_i_pv4[] = {
    {4, 0}, {12, 1}, {4, 0}, {12, 1}, {4, 0}, {12, 1}, {4, 0}, {32, 1}, {4, 0}, {4, 0}, {4, 0}, {4,
    0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {2, 0}, {2, 1}, {4, 0}};
/* NTPInfoIfStatsIPv6: 136 bytes */
static const field_size ntp_info_if_stats_i_pv6[] = {
    {16, 0}, {16, 0}, {16, 0}, {4, 0}, {32, 1}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4,
    0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {2, 0}, {2, 1}, {4, 0}};
/* NTPPrivatePktTail: 28 bytes */
static const field_size ntp_private_pkt_tail[] = {{8, 0}, {4, 0}, {16, 1}};

typedef struct ntp_item_class {
    const field_size *fields;
    size_t count;
} ntp_item_class;

#define ITEM(table) {table, COUNT(table)}

/* NTPPrivateReqPacketListField.m2i (ntp.py:1587-1624); NULL = NTPPrivateReqPacket, a StrField. */
static ntp_item_class ntp_request_item(uint8_t request_code)
{
    static const ntp_item_class none = {NULL, 0};
    static const ntp_item_class peer_list = ITEM(ntp_info_peer_list);
    static const ntp_item_class conf_peer = ITEM(ntp_conf_peer);
    static const ntp_item_class conf_unpeer = ITEM(ntp_conf_unpeer);
    static const ntp_item_class conf_restrict = ITEM(ntp_conf_restrict);
    static const ntp_item_class conf_trap = ITEM(ntp_conf_trap);
    switch (request_code) {
    case 2: case 3: return peer_list;
    case 10: return conf_peer;
    case 11: case 22: return conf_unpeer;
    case 17: case 18: return conf_restrict;
    case 30: case 31: return conf_trap;
    default: return none;
    }
}

/* _private_data_objects (ntp.py:1459-1484) for NTPPrivateRespPacketListField.m2i; codes 44 and
 * 45 are handled by the caller; NULL = conf.raw_layer (never raises). */
static ntp_item_class ntp_response_item(uint8_t request_code)
{
    static const ntp_item_class table[] = {
        ITEM(ntp_info_peer_list), ITEM(ntp_info_peer_summary), ITEM(ntp_info_peer),
        ITEM(ntp_info_peer_stats), ITEM(ntp_info_sys), ITEM(ntp_info_sys_stats),
        ITEM(ntp_info_i_o_stats), ITEM(ntp_info_mem_stats), ITEM(ntp_info_loop),
        ITEM(ntp_info_timer_stats), ITEM(ntp_conf_peer), ITEM(ntp_conf_unpeer)};
    static const ntp_item_class none = {NULL, 0};
    static const ntp_item_class auth = ITEM(ntp_info_auth);
    static const ntp_item_class trap = ITEM(ntp_conf_trap);
    static const ntp_item_class control = ITEM(ntp_info_control);
    static const ntp_item_class kernel = ITEM(ntp_info_kernel);
    static const ntp_item_class monitor = ITEM(ntp_info_monitor1);
    if (request_code < COUNT(table)) return table[request_code];
    switch (request_code) {
    case 28: return auth;
    case 30: return trap;
    case 34: return control;
    case 38: return kernel;
    case 42: return monitor;
    default: return none;
    }
}

/* Does instantiating `item` on exactly `length` bytes raise? */
static int ntp_item_raises(ntp_item_class item, size_t length)
{
    if (item.fields == NULL) return 0;
    size_t position = 0;
    return walk_fields(item.fields, item.count, &position, length) == WALK_RAISES;
}

static const field_size ntp_header_fields[] = {
    {1, 0}, {1, 0}, {1, 0}, {1, 0}, {4, 0}, {4, 0}, {4, 0}, {8, 0}, {8, 0}, {8, 0}, {8, 0}};
static const field_size ntp_control_fields[] = {{1, 0}, {1, 0}, {2, 0}, {2, 0}, {2, 0}, {2, 0}, {2, 0}};
/* NTPAuthenticator after its padding field (which takes all but the last 20 bytes). */
static const field_size ntp_authenticator_fields[] = {{4, 0}, {16, 1}};

static int ntp_header_leaves_raw(const hf_dissector *d, size_t offset, size_t end)
{
    size_t position = offset;
    field_size fields[COUNT(ntp_header_fields)];
    memcpy(fields, ntp_header_fields, sizeof fields);
    /* id is an IPField (strict) when stratum > 1, ref_id a 4-byte string otherwise. */
    if (hf_dissector_byte_or_zero(d, offset + 1) < 2) fields[6].lenient = 1;
    walk_result header = walk_fields(fields, COUNT(fields), &position, end);
    if (header != WALK_COMPLETE) return header == WALK_RAISES;
    size_t rest = end - position;
    if (rest == 0) return 0;
    if (rest == 20 || rest == 24 || rest == 36 || rest == 68) return 0; /* NTPAuthenticator */
    return rest <= 20;                                                   /* > 20: NTPExtensions */
}

static int ntp_control_leaves_raw(const hf_dissector *d, size_t offset, size_t end)
{
    size_t position = offset;
    walk_result header = walk_fields(ntp_control_fields, COUNT(ntp_control_fields), &position, end);
    if (header != WALK_COMPLETE) return header == WALK_RAISES;
    size_t count = hf_dissector_be16_or_zero(d, offset + 10);
    if (count > 0) {
        if (count < 12) count = 12;
        if (count % 4) count += 4 - count % 4;
    }
    position += count < end - position ? count : end - position;
    size_t rest = end - position;
    if (rest > 20) position += rest - 20; /* _NTPAuthenticatorPaddingField */
    return walk_fields(ntp_authenticator_fields, COUNT(ntp_authenticator_fields), &position, end) ==
           WALK_RAISES;
}

static int ntp_private_leaves_raw(const hf_dissector *d, size_t offset, size_t end)
{
    uint8_t first = hf_dissector_byte_or_zero(d, offset);
    int response = (first & 0x80) != 0;
    int authenticated = (hf_dissector_byte_or_zero(d, offset + 1) & 0x80) != 0;
    uint8_t request_code = hf_dissector_byte_or_zero(d, offset + 3);
    size_t items = hf_dissector_be16_or_zero(d, offset + 4) & 0xfff;
    size_t item_size = hf_dissector_be16_or_zero(d, offset + 6) & 0xfff;
    size_t position = offset + 8; /* the dispatcher guaranteed 8 bytes */
    if (!response) {
        /* NTPPrivateReqPacketListField.getfield (ntp.py:1626-1643): items while the rest still
         * holds data_item_size * nb_items bytes (re-evaluated after every item). */
        ntp_item_class item = ntp_request_item(request_code);
        for (size_t n = 0; item_size > 0 && n < items && end - position >= item_size * items; n++) {
            if (ntp_item_raises(item, item_size)) return 1;
            position += item_size;
        }
        if (authenticated) {
            /* The padding is remain[:len - 28] (a negative index when shorter: Python keeps
             * the last 28 - len bytes, or all of them), then NTPPrivatePktTail on the rest. */
            size_t rest = end - position;
            if (rest >= 28) position += rest - 28;
            else if (2 * rest > 28) position += 2 * rest - 28;
            if (position < end) {
                size_t tail_position = 0;
                if (walk_fields(ntp_private_pkt_tail, COUNT(ntp_private_pkt_tail), &tail_position,
                                end - position) == WALK_RAISES)
                    return 1;
                position = end; /* bytes after the tail are Raw inside the PacketField */
            }
        }
    } else {
        /* NTPPrivateRespPacketListField.getfield (ntp.py:1504-1518). */
        for (size_t n = 0; item_size > 0 && n < items && end - position >= item_size; n++) {
            ntp_item_class item = ntp_response_item(request_code);
            if (request_code == 44 || request_code == 45) {
                /* struct.unpack("!I", s[48:52]) picks IPv6 or IPv4; raises below 52 bytes. */
                uint32_t is_v6 = 0;
                if (item_size < 52 || !hf_dissector_be32(d, position + 48, &is_v6)) return 1;
                item = is_v6 ? (ntp_item_class)ITEM(ntp_info_if_stats_i_pv6)
                             : (ntp_item_class)ITEM(ntp_info_if_stats_i_pv4);
            }
            if (ntp_item_raises(item, item_size)) return 1;
            position += item_size;
        }
    }
    return position < end; /* NTPPrivate / Raw */
}

int hf_dissect_ntp_leaves_raw(const hf_dissector *d, size_t offset, size_t end)
{
    if (end - offset < 8) return 1;
    switch (hf_dissector_byte_or_zero(d, offset) & 7) {
    case 6: return ntp_control_leaves_raw(d, offset, end);
    case 7: return ntp_private_leaves_raw(d, offset, end);
    default: return ntp_header_leaves_raw(d, offset, end);
    }
}
