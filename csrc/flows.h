/*
 * flows.h -- one-pass flow assembly with bounded memory (issue 4).
 *
 * Pipeline: reader -> dissect -> preprocess -> FLOWS -> render -> png.  The caller hands every
 * packet of a capture, in record order, to hf_flow_table_add() with its flow key (taken from the
 * ORIGINAL addresses, see hf_flow_key_from_dissection), its TCP flags, its capture timestamp and
 * its already-preprocessed byte string.  The table copies at most `bytes_per_packet` bytes of the
 * first `max_packets` packets of each flow, and hands back completed flows (kept byte strings +
 * metadata) through hf_flow_table_pop() as soon as they end.  One sequential pass; nothing is
 * read twice; memory is bounded by `max_memory_bytes` however large the capture is.
 *
 * Normative references: reference-semantics.md §0.1 / §6.1 (1.1.1: one file = one flow, which is
 * HF_SPLIT_FILE); PcapPlusPlus PcapSplitter `-m connection` (FiveTupleSplitter) and Netresec
 * SplitCap `-s session` for HF_SPLIT_SESSION; RFC 9293 §3.6 (TCP connection close).
 *
 * ---------------------------------------------------------------------------------------------
 * SPLIT MODES
 *   HF_SPLIT_SESSION  bidirectional 5-tuple (addresses, ports, protocol; both directions are one
 *                     session).  The key of a session is oriented client -> server: address[0] /
 *                     port[0] is the sender of its first packet, except when that packet is a
 *                     TCP SYN+ACK, whose *receiver* is the client.
 *   HF_SPLIT_FLOW     unidirectional 5-tuple: each direction is its own flow.
 *   HF_SPLIT_FILE     every packet (IP or not) belongs to one flow (1.1.1).  No TCP state, no
 *                     timeouts; memory pressure (see below) still splits it, so that a huge file
 *                     with max_packets = 0 cannot exhaust memory.  The flow's key is all zero.
 *
 * KEYS, NON-IP FRAMES, FRAGMENTS
 *   - IP packets without ports (ICMP, GRE, ESP, ...) are keyed by the 3-tuple (ports 0).
 *   - IPv4/IPv6 fragments: *all* fragments of a datagram, the first included, are keyed by the
 *     3-tuple (src, dst, protocol) with ports 0, so that a datagram's fragments stay together
 *     without reassembly state.  A fragmented UDP/TCP conversation therefore appears as a
 *     5-tuple flow (its unfragmented packets) plus a 3-tuple flow (its fragments).
 *   - Non-IP frames (has_key = 0: ARP, STP, LLDP, ...): skipped and counted in
 *     hf_flow_stats.non_ip_packets by default; with keep_non_ip = 1 they form one flow per table
 *     (the all-zero key, family 0), like PcapSplitter's "miscellaneous" file #0.  In
 *     HF_SPLIT_FILE mode they are part of the one flow, as in 1.1.1.
 *
 * TCP (protocol 6, SESSION and FLOW modes; exact rules)
 *   - RST: the packet carrying it is the session's last; the session completes (HF_FLOW_END_RST).
 *     In FLOW mode the RST completes the sender's flow and the reverse flow, if open.
 *   - FIN: SESSION mode completes at the "final ACK": the first packet, after FINs have been seen
 *     in both directions, that is sent by the side that sent the first FIN and carries ACK without
 *     SYN/FIN/RST (HF_FLOW_END_FIN).  FLOW mode: the flow of the side that sends the second FIN
 *     completes with that FIN; the flow of the side that sent the first FIN completes with its
 *     next ACK-only packet after the second FIN.  If the reverse flow is no longer in the table
 *     (emitted or evicted), a FIN-ed flow ends by timeout or end of input instead.
 *   - After a FIN/RST completion the 5-tuple lingers as a small "closed" record for
 *     closed_linger_ns of capture time: packets of that 5-tuple without SYN (a retransmitted FIN,
 *     the ACK of a simultaneous close, a RST answering the final ACK) belong to the session
 *     already emitted and are dropped (counted in hf_flow_stats.packets_after_close) instead of
 *     becoming 1-packet flows.  closed_linger_ns = 0 disables this.
 *   - A packet with SYN set (SYN or SYN+ACK) on a 5-tuple whose session has seen a FIN or RST
 *     starts a new session; a still-open session that had seen a FIN completes with
 *     HF_FLOW_END_NEW_SYN.  SYN+ACK counts too because in FLOW mode the server's direction of a
 *     reused 5-tuple begins with SYN+ACK.  A SYN on a session without FIN/RST (a retransmitted
 *     SYN) stays in the session.
 *   - Versus PcapSplitter (connection mode): it keeps no FIN/RST state, has no timeouts, and
 *     starts a new file at every pure SYN unless the previous packet of the 5-tuple was also a
 *     pure SYN.  With idle_timeout_ns = active_timeout_ns = 0 and closed_linger_ns = 0 we match
 *     it for normally closed connections and differ for a port reused without FIN/RST (we keep
 *     one session) and for packets after a RST/final ACK (it appends them; we drop or start a
 *     new session).  SplitCap's session mode keeps no TCP state at all.
 *
 * TIMEOUTS (capture time, never wall time: deterministic)
 *   The table keeps a clock = the largest timestamp seen so far; a timestamp that goes
 *   backwards is accepted (the packet is stored and its own timestamp reported in the metadata)
 *   but never moves the clock back, so expiry order stays exactly the idle (LRU) order.
 *   - idle: a flow whose last packet arrived at clock L completes (HF_FLOW_END_IDLE) when a packet
 *     arrives with clock - L > idle_timeout_ns.  Default 300 s (YAF's idle timeout; long enough
 *     for interactive sessions, short enough that UDP pseudo-flows such as DNS queries leave the
 *     table).  0 = no idle timeout (PcapSplitter).
 *   - active: a flow that began at clock F completes (HF_FLOW_END_ACTIVE) when a packet arrives
 *     with clock - F > active_timeout_ns; its later packets start a new flow.  Default 1800 s (the
 *     common NetFlow/IPFIX active timeout of 30 min).  0 = none.
 *   A flow that is both idle and active expired reports HF_FLOW_END_IDLE.  Expiry is checked
 *   before the packet that moves the clock is looked up, so that packet starts a new flow.
 *
 * PER-FLOW LIMITS (applied while reading)
 *   max_packets       keep only the first max_packets packets (0 = all); later packets are still
 *                     counted (packet_count, byte_count, last timestamp).
 *   bytes_per_packet  keep at most this many bytes of each packet string (SIZE_MAX = all).
 *   min_packets       a completed flow with packet_count < min_packets is dropped, not emitted
 *                     (counted in hf_flow_stats.flows_dropped_short).
 *
 * BOUNDED MEMORY
 *   The table accounts every byte it holds (hash slots, flow records, closed records, packet
 *   copies and their arrays, up to 1024 freed records kept for reuse; requested sizes, allocator
 *   overhead excluded).  After each packet, while the total exceeds max_memory_bytes it frees
 *   the kept freed records, then drops the oldest closed record or, when there is none, evicts
 *   the least recently active flow: that flow is emitted early
 *   (HF_FLOW_END_EVICTED), and later packets of the same 5-tuple start a new flow, i.e. the images
 *   of a long session may be split into several.  Default 256 MiB; 0 = no limit.  Completed flows
 *   waiting to be popped are not counted: pop after every add.  The limit holds whenever add()
 *   returns (peak_memory_bytes may exceed it by the one packet being added).  Cost of a flow:
 *   about 300 bytes of records plus its kept bytes and 16 bytes per kept packet, both grown
 *   geometrically (at most 2x, capped by max_packets * bytes_per_packet).  First blocks: a new
 *   flow whose size is bounded (max_packets and bytes_per_packet set) starts with room for 2048
 *   bytes of packets and views for 2048 / min(bytes_per_packet, 64) of them (at most
 *   max_packets) if the table, block included, then holds at most half its
 *   limit and its open first blocks stay within 8 MiB and a quarter of the limit; that room is
 *   accounted, and before anything is evicted every open first block is shrunk to its geometric
 *   size, so evictions (and every result) are exactly those of geometric growth; memory_bytes
 *   and peak_memory_bytes include the room while it is held.  Traffic with more
 *   concurrent flows than fit (e.g. 500,000 interleaved sessions at 64 bytes per packet) is
 *   evicted in LRU order, so most flows leave early with few packets: raise the limit or lower
 *   bytes_per_packet / max_packets for such captures.
 *
 * ORDER OF EMITTED FLOWS (deterministic: depends only on the input sequence and the config)
 *   Flows are returned in the order in which they complete.  Within one hf_flow_table_add call:
 *   first the flows expired by the packet's timestamp, then those completed by the packet itself
 *   (NEW_SYN, FIN, RST), then evictions (one at a time, least recently active first).  Flows that
 *   complete in the same step (several expiries, the two directions of one RST, everything
 *   flushed by hf_flow_table_finish) are ordered by first_record_index, ties by creation order.
 *   hf_flow.sequence numbers the emitted flows 0, 1, 2, ... in that order.
 *
 * THREAD-SAFETY: no global or static mutable state.  A table must be used by one thread at a
 * time; distinct tables are independent.  A popped hf_flow is independent of its table (it may
 * outlive it and be freed on another thread).
 */
#ifndef HF_FLOWS_H
#define HF_FLOWS_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "common.h"
#include "dissect.h"

/* Defaults (see above for the reasons). */
#define HF_FLOW_DEFAULT_IDLE_TIMEOUT_NS   (300LL * 1000000000LL)
#define HF_FLOW_DEFAULT_ACTIVE_TIMEOUT_NS (1800LL * 1000000000LL)
/* Long enough for a retransmitted FIN or final ACK (Linux RTO starts at 1 s and doubles), short
 * enough that closed records of busy links stay few. */
#define HF_FLOW_DEFAULT_CLOSED_LINGER_NS  (4LL * 1000000000LL)
#define HF_FLOW_DEFAULT_MAX_MEMORY_BYTES  ((size_t)256 * 1024 * 1024)

/* TCP flag bits as in the TCP header's flags byte (RFC 9293 §3.1). */
#define HF_TCP_FIN 0x01u
#define HF_TCP_SYN 0x02u
#define HF_TCP_RST 0x04u
#define HF_TCP_PSH 0x08u
#define HF_TCP_ACK 0x10u

typedef enum hf_split_mode {
    HF_SPLIT_SESSION = 0,
    HF_SPLIT_FLOW = 1,
    HF_SPLIT_FILE = 2
} hf_split_mode;

typedef enum hf_flow_end {
    HF_FLOW_END_FIN = 1,      /* TCP close handshake completed */
    HF_FLOW_END_RST,          /* TCP reset */
    HF_FLOW_END_NEW_SYN,      /* a SYN after a FIN on the same 5-tuple began a new session */
    HF_FLOW_END_IDLE,         /* idle timeout */
    HF_FLOW_END_ACTIVE,       /* active timeout */
    HF_FLOW_END_EVICTED,      /* memory pressure */
    HF_FLOW_END_INPUT         /* end of input (hf_flow_table_finish) */
} hf_flow_end;

/* Name of an end reason ("fin", "rst", "new_syn", "idle", "active", "evicted", "end_of_input");
 * never NULL ("unknown" for other values). */
const char *hf_flow_end_name(hf_flow_end reason);

/* A flow key.  family 4: address bytes 0..3 used, 4..15 must be zero (add() zeroes them);
 * family 6: all 16 bytes; family 0: not IP (all fields zero).  Ports are 0 for protocols without
 * ports and for fragments. */
typedef struct hf_flow_key {
    uint8_t family;       /* 4, 6, or 0 = not IP */
    uint8_t protocol;     /* IP protocol / IPv6 next header of the transport layer */
    uint8_t address[2][16];
    uint16_t port[2];
} hf_flow_key;

/* One packet, as given to hf_flow_table_add.  All fields are read during the call only. */
typedef struct hf_flow_packet {
    hf_flow_key key;          /* from the original (not anonymised) addresses; used if has_key */
    int has_key;              /* 0: not IP, key ignored (see NON-IP FRAMES) */
    uint8_t tcp_flags;        /* HF_TCP_* bits; used only when key.protocol == 6 */
    int64_t timestamp_ns;     /* capture time */
    uint64_t record_index;    /* 0-based record index in the capture (ordering and naming) */
    const uint8_t *bytes;     /* borrowed: the preprocessed byte string; may be NULL if length 0 */
    size_t length;
    uint64_t frame_length;    /* original length of the frame, summed into hf_flow.byte_count */
    /* Optional (NULL = `bytes`/`length` are final): make the packet's bytes only if its flow
     * keeps them -- preprocessing a packet that max_packets would drop is wasted work.  Called at
     * most once per add, before anything is committed, with `bytes`/`length` ignored; OUT: the
     * bytes (borrowed until the add returns) and their length.  A status other than HF_OK aborts
     * the add as HF_NOMEM does (the table is unchanged) and is returned. */
    hf_status (*materialize)(void *context, const uint8_t **bytes, size_t *length);
    /* Optional, only with `materialize` (NULL = always materialize): the same bytes, made in
     * place.  Called instead of `materialize` when the flow is not new and its buffer already
     * has room for bytes_per_packet more bytes (bytes_per_packet < SIZE_MAX), so the bytes are
     * written once, into the flow, instead of being made elsewhere and copied.  Write at most
     * `capacity` (= bytes_per_packet) bytes to `destination`; OUT: *length, their number (a
     * larger value counts as `capacity`).  Same once-per-add rule and failure semantics as
     * `materialize`; the table's observable state (kept bytes, capacities, memory) is exactly
     * what `materialize` would have made it. */
    hf_status (*materialize_to)(void *context, uint8_t *destination, size_t capacity,
                                size_t *length);
    void *materialize_context;
} hf_flow_packet;

typedef struct hf_flow_config {
    hf_split_mode split_mode;
    int64_t idle_timeout_ns;      /* 0 = none; >= 0 */
    int64_t active_timeout_ns;    /* 0 = none; >= 0 */
    int64_t closed_linger_ns;     /* 0 = no closed records; >= 0 */
    size_t max_packets;           /* packets kept per flow; 0 = all */
    size_t min_packets;           /* flows with fewer packets are dropped; 0 = keep all */
    size_t bytes_per_packet;      /* bytes kept per packet; SIZE_MAX = all */
    size_t max_memory_bytes;      /* eviction threshold; 0 = no limit */
    int keep_non_ip;              /* 1: non-IP frames form one flow; 0: skip them */
    uint64_t hash_seed;           /* keys the hash function (flooding resistance); any value;
                                     results never depend on it */
} hf_flow_config;

/* Fill `config` with the defaults: SESSION, idle 300 s, active 1800 s, closed linger 4 s,
 * max_packets 0, min_packets 0, bytes_per_packet SIZE_MAX, max_memory 256 MiB, keep_non_ip 0,
 * hash_seed 0.  Thread-safe. */
void hf_flow_config_init(hf_flow_config *config);


/* A completed flow.  Read the public fields; do not modify them.  Owned by the caller after
 * hf_flow_table_pop; release with hf_flow_free. */
typedef struct hf_flow {
    hf_flow_key key;               /* SESSION: oriented client -> server; FLOW: sender -> receiver */
    hf_flow_end end_reason;
    int64_t first_timestamp_ns;    /* timestamp of the first packet (record order) */
    int64_t last_timestamp_ns;     /* timestamp of the last packet (record order; may be smaller
                                      than first when the capture's timestamps go backwards) */
    uint64_t first_record_index;
    uint64_t last_record_index;
    uint64_t packet_count;         /* packets seen, kept or not */
    uint64_t byte_count;           /* sum of frame_length over the packets seen */
    uint64_t packet_count_forward; /* packets from address[0] (SESSION; = packet_count otherwise) */
    uint8_t tcp_flags_seen;        /* OR of the TCP flags of all packets (TCP only) */
    uint64_t sequence;             /* 0-based position among the flows emitted by its table */
    size_t kept_count;             /* number of entries in `packets` */
    hf_packet_view *packets;  /* owned: kept_count views, in record order, pointing into
                                      the flow's own buffer; valid until hf_flow_free */
    /* private */
    uint8_t *kept_bytes_;          /* owned */
    size_t kept_bytes_length_;
    size_t kept_bytes_capacity_;
    size_t packets_capacity_;
    uint64_t creation_serial_;
    struct hf_flow *next_;
} hf_flow;

/* Release a flow and its packet bytes.  NULL is ignored. */
void hf_flow_free(hf_flow *flow);

typedef struct hf_flow_stats {
    uint64_t packets_added;        /* packets counted in a flow */
    uint64_t non_ip_packets;       /* skipped because has_key = 0 and keep_non_ip = 0 */
    uint64_t packets_after_close;  /* dropped by a closed record (see TCP) */
    uint64_t flows_created;
    uint64_t flows_emitted;        /* queued for pop */
    uint64_t flows_dropped_short;  /* completed with packet_count < min_packets */
    uint64_t flows_evicted;        /* emitted or dropped because of memory pressure */
    uint64_t open_flows;           /* currently in the table (closed records excluded) */
    size_t memory_bytes;           /* currently accounted */
    size_t peak_memory_bytes;
} hf_flow_stats;

typedef struct hf_flow_table hf_flow_table;

/* Create a table.  The config is copied.
 * OUT: *out = the new table (owned by the caller; hf_flow_table_free), NULL on failure.
 * Errors: HF_ARGUMENT (NULL pointer, unknown split mode, negative timeout), HF_NOMEM. */
hf_status hf_flow_table_new(const hf_flow_config *config,
                            hf_flow_table **out,
                            hf_error *error);

/* Free the table, its open flows and any completed flows not yet popped.  NULL is ignored. */
void hf_flow_table_free(hf_flow_table *table);

/* Add one packet (see the rules above).  It may complete flows; pop them afterwards.
 * Precondition: packets of one capture in record order.
 * Errors: HF_ARGUMENT (NULL table/packet, bytes NULL with length > 0, has_key with a family
 * other than 4 or 6); HF_NOMEM: the packet was not added and the table is unchanged except
 * that flows expired by its timestamp may have completed; the table stays usable.  */
hf_status hf_flow_table_add(hf_flow_table *table,
                            const hf_flow_packet *packet,
                            hf_error *error);

/* Take the next completed flow in the documented order.
 * OUT: *out = the flow (owned by the caller) and HF_OK, or *out = NULL and HF_EOF when none is
 * waiting.  Never fails otherwise (HF_ARGUMENT for NULL pointers). */
hf_status hf_flow_table_pop(hf_flow_table *table, hf_flow **out);

/* End of input: every open flow completes (HF_FLOW_END_INPUT) in first_record_index order, and
 * closed records are forgotten.  Does not allocate; cannot fail.  The table may be used again
 * afterwards (its clock is kept). */
void hf_flow_table_finish(hf_flow_table *table);

/* Fill packet->key, packet->has_key and packet->tcp_flags from a dissection of `frame`
 * (the other fields are left alone).  The key follows the dissection's network layer (the first
 * IPv4 layer, else the first IPv6 layer, reference: dissect.h `network`) and the TCP/UDP header
 * that directly follows it (IPv6 extension headers / AH in between are allowed):
 *   - not IP, or the addresses not captured      -> has_key = 0 (non-IP, see NON-IP FRAMES)
 *   - a fragment (offset != 0 or MF set)          -> 3-tuple: ports 0, protocol = the IP header's
 *                                                    protocol / IPv6 fixed header's next header
 *                                                    (identical in every fragment of a datagram)
 *   - TCP/UDP right after the IP layer with both ports captured -> 5-tuple; tcp_flags = the TCP
 *                                                    flags byte if captured, else 0
 *   - otherwise (ICMP, GRE, tunnels whose first TCP/UDP is inside another IP layer, a transport
 *     header cut before its ports)                -> 3-tuple with the protocol of the layer after
 *                                                    the IP layer (ICMP 1, ICMPv6 58, GRE 47, TCP
 *                                                    6, UDP 17) or else the IP header's protocol.
 * Preconditions: `dissection` was produced by hf_dissect_packet(frame, caplen, ...).
 * Errors: HF_ARGUMENT (NULL dissection/packet, frame NULL with caplen > 0).  Reentrant. */
hf_status hf_flow_key_from_dissection(const uint8_t *frame,
                                      size_t caplen,
                                      const hf_dissection *dissection,
                                      hf_flow_packet *packet);

/* The same key straight from the bytes of the commonest frames, without a dissection: linktype
 * Ethernet with ethertype IPv4 (a 20-byte or longer header whose options were captured) or IPv6,
 * and then an IPv4 fragment, or TCP (>= 20 bytes inside the IP payload) or UDP (>= 8; behind
 * IPv6 not to a tunnel port, dissect.h hf_dissect_udp_ports_tunnel) right after the IP header.
 * Returns 1 and fills packet->key, has_key and tcp_flags exactly as hf_flow_key_from_dissection
 * does after hf_dissect_packet (a build with HF_DEBUG checks this on every packet of a flow job,
 * job.c); returns 0 for every other frame, *packet then unspecified.
 * It lets a flow job dissect only the packets a flow keeps (and, with
 * hf_preprocess_frame_prefix_to, none of the commonest frames).  Reentrant. */
int hf_flow_key_from_frame(const uint8_t *frame, size_t caplen, uint32_t linktype,
                           hf_flow_packet *packet);

/* OUT: *out = the table's counters.  Thread-safety as for the table. */
void hf_flow_table_stats(const hf_flow_table *table, hf_flow_stats *out);

#endif /* HF_FLOWS_H */
