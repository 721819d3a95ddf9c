/*
 * test_flows.c -- flow assembly (csrc/flows.h) on hand-built packet sequences whose sessions,
 * end reasons and emission order are worked out by hand in the comments.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "common.h"
#include "flows.h"

#define SEC 1000000000LL
#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

enum { TCP = 6, UDP = 17 };
#define SYN HF_TCP_SYN
#define ACK HF_TCP_ACK
#define FIN HF_TCP_FIN
#define RST HF_TCP_RST
#define PSH HF_TCP_PSH

/* The byte string of record r: byte i is r * 7 + i (so each packet is recognisable). */
static uint8_t pattern_byte(uint64_t record, size_t i) { return (uint8_t)(record * 7 + i); }

static hf_flow_packet make_packet(uint64_t record, int64_t timestamp_ns, uint8_t protocol, uint8_t flags,
                                  size_t length, uint8_t *storage)
{
    hf_flow_packet p;
    memset(&p, 0, sizeof p);
    p.has_key = 1;
    p.key.protocol = protocol;
    p.tcp_flags = flags;
    p.timestamp_ns = timestamp_ns;
    p.record_index = record;
    for (size_t i = 0; i < length; i++) storage[i] = pattern_byte(record, i);
    p.bytes = length ? storage : NULL;
    p.length = length;
    p.frame_length = length + 100;
    return p;
}

static void put4(uint8_t *address, uint32_t ip)
{
    address[0] = (uint8_t)(ip >> 24); address[1] = (uint8_t)(ip >> 16);
    address[2] = (uint8_t)(ip >> 8); address[3] = (uint8_t)ip;
}

/* Add an IPv4 packet of `length` bytes; returns the status of hf_flow_table_add. */
static hf_status add4(hf_flow_table *table, uint64_t record, int64_t timestamp_ns,
                      uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                      uint8_t protocol, uint8_t flags, size_t length)
{
    uint8_t storage[256];
    hf_flow_packet p = make_packet(record, timestamp_ns, protocol, flags, length, storage);
    p.key.family = 4;
    put4(p.key.address[0], src);
    put4(p.key.address[1], dst);
    p.key.port[0] = sport;
    p.key.port[1] = dport;
    return hf_flow_table_add(table, &p, NULL);
}

/* IPv6 2001:db8::<host>. */
static hf_status add6(hf_flow_table *table, uint64_t record, int64_t timestamp_ns,
                      uint8_t src_host, uint16_t sport, uint8_t dst_host, uint16_t dport,
                      uint8_t protocol, uint8_t flags, size_t length)
{
    uint8_t storage[256];
    hf_flow_packet p = make_packet(record, timestamp_ns, protocol, flags, length, storage);
    p.key.family = 6;
    for (int e = 0; e < 2; e++) {
        p.key.address[e][0] = 0x20; p.key.address[e][1] = 0x01;
        p.key.address[e][2] = 0x0d; p.key.address[e][3] = 0xb8;
    }
    p.key.address[0][15] = src_host;
    p.key.address[1][15] = dst_host;
    p.key.port[0] = sport;
    p.key.port[1] = dport;
    return hf_flow_table_add(table, &p, NULL);
}

static hf_status add_non_ip(hf_flow_table *table, uint64_t record, int64_t timestamp_ns, size_t length)
{
    uint8_t storage[256];
    hf_flow_packet p = make_packet(record, timestamp_ns, 0, 0, length, storage);
    p.has_key = 0;
    memset(&p.key, 0xAB, sizeof p.key);  /* ignored when has_key = 0 */
    return hf_flow_table_add(table, &p, NULL);
}

static hf_flow_config config_no_timeouts(hf_split_mode mode)
{
    hf_flow_config c;
    hf_flow_config_init(&c);
    c.split_mode = mode;
    c.idle_timeout_ns = 0;
    c.active_timeout_ns = 0;
    return c;
}

static hf_flow_table *new_table(const hf_flow_config *config)
{
    hf_flow_table *table = NULL;
    hf_status s = hf_flow_table_new(config, &table, NULL);
    CHECK_EQ_INT(s, HF_OK);
    return table;
}

/* Pop up to `max` flows into `out`; returns the count. */
static size_t pop_all(hf_flow_table *table, hf_flow **out, size_t max)
{
    size_t n = 0;
    hf_flow *flow;
    while (n < max && hf_flow_table_pop(table, &flow) == HF_OK) out[n++] = flow;
    return n;
}

static void free_all(hf_flow **flows, size_t n)
{
    for (size_t i = 0; i < n; i++) hf_flow_free(flows[i]);
}

static uint32_t key_ip(const hf_flow_key *key, int endpoint)
{
    const uint8_t *a = key->address[endpoint];
    return ((uint32_t)a[0] << 24) | ((uint32_t)a[1] << 16) | ((uint32_t)a[2] << 8) | a[3];
}

/* The kept packets of `flow` are the records `records[0..n)`, each cut to min(length, cut). */
static int kept_records_are(const hf_flow *flow, const uint64_t *records, const size_t *lengths, size_t n)
{
    if (flow->kept_count != n) return 0;
    for (size_t k = 0; k < n; k++) {
        if (flow->packets[k].length != lengths[k]) return 0;
        for (size_t i = 0; i < lengths[k]; i++)
            if (flow->packets[k].data[i] != pattern_byte(records[k], i)) return 0;
    }
    return 1;
}

#define A_CLIENT IP4(10, 0, 0, 1)
#define B_CLIENT IP4(10, 0, 0, 3)
#define SERVER IP4(10, 0, 0, 2)

/* Two interleaved TCP sessions: A closes with FIN/FIN/ACK, B is reset.
 *   rec  A: c=10.0.0.1:1000 s=10.0.0.2:80     B: c=10.0.0.3:2000 s=10.0.0.2:80
 *    0  A c>s SYN          1  B c>s SYN         2  A s>c SYN|ACK    3  B s>c SYN|ACK
 *    4  A c>s ACK          5  A c>s PSH|ACK     6  B c>s ACK        7  A c>s FIN|ACK (first FIN)
 *    8  A s>c ACK          9  A s>c FIN|ACK (second FIN)           10  A c>s ACK  -> A ends (FIN)
 *   11  B s>c RST  -> B ends (RST)              12  A s>c ACK  -> after close, dropped
 * A = records 0 2 4 5 7 8 9 10 (8 packets, 5 from the client: 0 4 5 7 10); B = 1 3 6 11 (2 from
 * the client: 1 6). */
static void test_session_interleaved(void)
{
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    hf_flow_table *t = new_table(&c);
    hf_flow *out[8];
    const uint16_t a = 1000, b = 2000;
    CHECK_EQ_INT(add4(t, 0, 0 * SEC, A_CLIENT, a, SERVER, 80, TCP, SYN, 10), HF_OK);
    CHECK_EQ_INT(add4(t, 1, 1 * SEC, B_CLIENT, b, SERVER, 80, TCP, SYN, 11), HF_OK);
    CHECK_EQ_INT(add4(t, 2, 2 * SEC, SERVER, 80, A_CLIENT, a, TCP, SYN | ACK, 12), HF_OK);
    CHECK_EQ_INT(add4(t, 3, 3 * SEC, SERVER, 80, B_CLIENT, b, TCP, SYN | ACK, 13), HF_OK);
    CHECK_EQ_INT(add4(t, 4, 4 * SEC, A_CLIENT, a, SERVER, 80, TCP, ACK, 14), HF_OK);
    CHECK_EQ_INT(add4(t, 5, 5 * SEC, A_CLIENT, a, SERVER, 80, TCP, PSH | ACK, 15), HF_OK);
    CHECK_EQ_INT(add4(t, 6, 6 * SEC, B_CLIENT, b, SERVER, 80, TCP, ACK, 16), HF_OK);
    CHECK_EQ_INT(add4(t, 7, 7 * SEC, A_CLIENT, a, SERVER, 80, TCP, FIN | ACK, 17), HF_OK);
    CHECK_EQ_INT(add4(t, 8, 8 * SEC, SERVER, 80, A_CLIENT, a, TCP, ACK, 18), HF_OK);
    CHECK_EQ_INT(add4(t, 9, 9 * SEC, SERVER, 80, A_CLIENT, a, TCP, FIN | ACK, 19), HF_OK);
    CHECK_EQ_INT(pop_all(t, out, 8), 0);  /* both FINs seen, final ACK still missing */
    CHECK_EQ_INT(add4(t, 10, 10 * SEC, A_CLIENT, a, SERVER, 80, TCP, ACK, 20), HF_OK);
    CHECK_EQ_INT(pop_all(t, out, 8), 1);
    hf_flow *fa = out[0];
    CHECK_EQ_INT(fa->end_reason, HF_FLOW_END_FIN);
    CHECK_EQ_INT(fa->packet_count, 8);
    CHECK_EQ_INT(fa->packet_count_forward, 5);
    CHECK_EQ_INT(fa->kept_count, 8);
    CHECK_EQ_INT(fa->first_record_index, 0);
    CHECK_EQ_INT(fa->last_record_index, 10);
    CHECK_EQ_INT(fa->first_timestamp_ns, 0);
    CHECK_EQ_INT(fa->last_timestamp_ns, 10 * SEC);
    /* frame_length = length + 100: 10+12+14+15+17+18+19+20 + 800 */
    CHECK_EQ_INT(fa->byte_count, 125 + 800);
    CHECK_EQ_INT(fa->tcp_flags_seen, SYN | ACK | PSH | FIN);
    CHECK_EQ_INT(fa->sequence, 0);
    CHECK_EQ_INT(fa->key.family, 4);
    CHECK_EQ_INT(fa->key.protocol, TCP);
    CHECK_EQ_INT(key_ip(&fa->key, 0), A_CLIENT);
    CHECK_EQ_INT(key_ip(&fa->key, 1), SERVER);
    CHECK_EQ_INT(fa->key.port[0], 1000);
    CHECK_EQ_INT(fa->key.port[1], 80);
    {
        uint64_t r[8] = {0, 2, 4, 5, 7, 8, 9, 10};
        size_t l[8] = {10, 12, 14, 15, 17, 18, 19, 20};
        CHECK(kept_records_are(fa, r, l, 8));
    }
    CHECK_EQ_INT(add4(t, 11, 11 * SEC, SERVER, 80, B_CLIENT, b, TCP, RST, 21), HF_OK);
    CHECK_EQ_INT(pop_all(t, out + 1, 7), 1);
    hf_flow *fb = out[1];
    CHECK_EQ_INT(fb->end_reason, HF_FLOW_END_RST);
    CHECK_EQ_INT(fb->packet_count, 4);
    CHECK_EQ_INT(fb->packet_count_forward, 2);
    CHECK_EQ_INT(fb->first_record_index, 1);
    CHECK_EQ_INT(fb->sequence, 1);
    CHECK_EQ_INT(key_ip(&fb->key, 0), B_CLIENT);
    CHECK_EQ_INT(add4(t, 12, 12 * SEC, SERVER, 80, A_CLIENT, a, TCP, ACK, 22), HF_OK);
    hf_flow_table_finish(t);
    CHECK_EQ_INT(pop_all(t, out + 2, 6), 0);
    hf_flow_stats st;
    hf_flow_table_stats(t, &st);
    CHECK_EQ_INT(st.packets_after_close, 1);
    CHECK_EQ_INT(st.packets_added, 12);
    CHECK_EQ_INT(st.flows_created, 2);
    CHECK_EQ_INT(st.flows_emitted, 2);
    CHECK_EQ_INT(st.open_flows, 0);
    hf_flow *none = (hf_flow *)1;
    CHECK_EQ_INT(hf_flow_table_pop(t, &none), HF_EOF);
    CHECK(none == NULL);
    free_all(out, 2);
    hf_flow_table_free(t);
}

/* A session that starts with the server's SYN|ACK (the SYN was not captured) is oriented with
 * the SYN|ACK's receiver as the client. */
static void test_session_orientation_from_syn_ack(void)
{
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    hf_flow_table *t = new_table(&c);
    hf_flow *out[2];
    CHECK_EQ_INT(add4(t, 0, 0, SERVER, 443, A_CLIENT, 5555, TCP, SYN | ACK, 5), HF_OK);
    CHECK_EQ_INT(add4(t, 1, 1, A_CLIENT, 5555, SERVER, 443, TCP, ACK, 5), HF_OK);
    hf_flow_table_finish(t);
    CHECK_EQ_INT(pop_all(t, out, 2), 1);
    CHECK_EQ_INT(key_ip(&out[0]->key, 0), A_CLIENT);
    CHECK_EQ_INT(out[0]->key.port[0], 5555);
    CHECK_EQ_INT(out[0]->key.port[1], 443);
    CHECK_EQ_INT(out[0]->packet_count_forward, 1);  /* only record 1 is client -> server */
    CHECK_EQ_INT(out[0]->end_reason, HF_FLOW_END_INPUT);
    free_all(out, 1);
    hf_flow_table_free(t);
}

/* The same close in FLOW mode: c>s = records 0 2 3 6, s>c = records 1 4 5.
 *   0 c>s SYN   1 s>c SYN|ACK   2 c>s ACK   3 c>s FIN|ACK (first FIN)   4 s>c ACK
 *   5 s>c FIN|ACK (second FIN: s>c ends here)   6 c>s ACK (final ACK: c>s ends)
 * then UDP both ways: two flows, emitted at finish in first-record order (7 before 8). */
static void test_flow_mode(void)
{
    hf_flow_config c = config_no_timeouts(HF_SPLIT_FLOW);
    hf_flow_table *t = new_table(&c);
    hf_flow *out[8];
    CHECK_EQ_INT(add4(t, 0, 0, A_CLIENT, 1000, SERVER, 80, TCP, SYN, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 1, 1, SERVER, 80, A_CLIENT, 1000, TCP, SYN | ACK, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 2, 2, A_CLIENT, 1000, SERVER, 80, TCP, ACK, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 3, 3, A_CLIENT, 1000, SERVER, 80, TCP, FIN | ACK, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 4, 4, SERVER, 80, A_CLIENT, 1000, TCP, ACK, 4), HF_OK);
    CHECK_EQ_INT(pop_all(t, out, 8), 0);
    CHECK_EQ_INT(add4(t, 5, 5, SERVER, 80, A_CLIENT, 1000, TCP, FIN | ACK, 4), HF_OK);
    CHECK_EQ_INT(pop_all(t, out, 8), 1);
    CHECK_EQ_INT(out[0]->end_reason, HF_FLOW_END_FIN);
    CHECK_EQ_INT(out[0]->first_record_index, 1);
    CHECK_EQ_INT(out[0]->packet_count, 3);
    CHECK_EQ_INT(out[0]->packet_count_forward, 3);
    CHECK_EQ_INT(key_ip(&out[0]->key, 0), SERVER);  /* FLOW keys are sender -> receiver */
    CHECK_EQ_INT(out[0]->key.port[0], 80);
    CHECK_EQ_INT(add4(t, 6, 6, A_CLIENT, 1000, SERVER, 80, TCP, ACK, 4), HF_OK);
    CHECK_EQ_INT(pop_all(t, out + 1, 7), 1);
    CHECK_EQ_INT(out[1]->end_reason, HF_FLOW_END_FIN);
    CHECK_EQ_INT(out[1]->first_record_index, 0);
    CHECK_EQ_INT(out[1]->packet_count, 4);
    CHECK_EQ_INT(key_ip(&out[1]->key, 0), A_CLIENT);
    {
        uint64_t r[4] = {0, 2, 3, 6};
        size_t l[4] = {4, 4, 4, 4};
        CHECK(kept_records_are(out[1], r, l, 4));
    }
    /* UDP: s>c first (record 7), then c>s (record 8). */
    CHECK_EQ_INT(add4(t, 7, 7, SERVER, 53, A_CLIENT, 3000, UDP, 0, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 8, 8, A_CLIENT, 3000, SERVER, 53, UDP, 0, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 9, 9, SERVER, 53, A_CLIENT, 3000, UDP, 0, 4), HF_OK);
    hf_flow_table_finish(t);
    CHECK_EQ_INT(pop_all(t, out + 2, 6), 2);
    CHECK_EQ_INT(out[2]->first_record_index, 7);
    CHECK_EQ_INT(out[2]->packet_count, 2);
    CHECK_EQ_INT(out[3]->first_record_index, 8);
    CHECK_EQ_INT(out[3]->packet_count, 1);
    CHECK_EQ_INT(out[3]->end_reason, HF_FLOW_END_INPUT);
    CHECK_EQ_INT(out[3]->sequence, 3);
    free_all(out, 4);
    hf_flow_table_free(t);
}

/* A RST in FLOW mode ends both directions in one step, ordered by first record. */
static void test_flow_mode_rst_ends_both(void)
{
    hf_flow_config c = config_no_timeouts(HF_SPLIT_FLOW);
    hf_flow_table *t = new_table(&c);
    hf_flow *out[4];
    CHECK_EQ_INT(add4(t, 0, 0, A_CLIENT, 1000, SERVER, 80, TCP, SYN, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 1, 1, SERVER, 80, A_CLIENT, 1000, TCP, SYN | ACK, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 2, 2, SERVER, 80, A_CLIENT, 1000, TCP, RST, 4), HF_OK);
    CHECK_EQ_INT(pop_all(t, out, 4), 2);
    CHECK_EQ_INT(out[0]->first_record_index, 0);
    CHECK_EQ_INT(out[0]->packet_count, 1);
    CHECK_EQ_INT(out[0]->end_reason, HF_FLOW_END_RST);
    CHECK_EQ_INT(out[1]->first_record_index, 1);
    CHECK_EQ_INT(out[1]->packet_count, 2);
    CHECK_EQ_INT(out[1]->end_reason, HF_FLOW_END_RST);
    /* New connection on the same 5-tuple: the SYN|ACK direction restarts on SYN|ACK too. */
    CHECK_EQ_INT(add4(t, 3, 3, A_CLIENT, 1000, SERVER, 80, TCP, ACK, 4), HF_OK);  /* after close */
    CHECK_EQ_INT(add4(t, 4, 4, A_CLIENT, 1000, SERVER, 80, TCP, SYN, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 5, 5, SERVER, 80, A_CLIENT, 1000, TCP, SYN | ACK, 4), HF_OK);
    hf_flow_table_finish(t);
    CHECK_EQ_INT(pop_all(t, out + 2, 2), 2);
    CHECK_EQ_INT(out[2]->first_record_index, 4);
    CHECK_EQ_INT(out[3]->first_record_index, 5);
    hf_flow_stats st;
    hf_flow_table_stats(t, &st);
    CHECK_EQ_INT(st.packets_after_close, 1);
    free_all(out, 4);
    hf_flow_table_free(t);
}

/* Simultaneous close: 0 c>s FIN|ACK (first FIN), 1 s>c FIN|ACK (crossing), 2 s>c ACK (from the
 * second-FIN side: not the final ACK), 3 c>s ACK (final ACK) -> one session of 4 packets. */
static void test_simultaneous_close(void)
{
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    hf_flow_table *t = new_table(&c);
    hf_flow *out[2];
    CHECK_EQ_INT(add4(t, 0, 0, A_CLIENT, 1000, SERVER, 80, TCP, FIN | ACK, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 1, 1, SERVER, 80, A_CLIENT, 1000, TCP, FIN | ACK, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 2, 2, SERVER, 80, A_CLIENT, 1000, TCP, ACK, 4), HF_OK);
    CHECK_EQ_INT(pop_all(t, out, 2), 0);
    CHECK_EQ_INT(add4(t, 3, 3, A_CLIENT, 1000, SERVER, 80, TCP, ACK, 4), HF_OK);
    CHECK_EQ_INT(pop_all(t, out, 2), 1);
    CHECK_EQ_INT(out[0]->end_reason, HF_FLOW_END_FIN);
    CHECK_EQ_INT(out[0]->packet_count, 4);
    CHECK_EQ_INT(out[0]->packet_count_forward, 2);
    free_all(out, 1);
    hf_flow_table_free(t);
}

/* SYN reuse.  Session 1: 0 SYN, 1 SYN|ACK, 2 ACK, 3 c>s RST -> ends (RST).  4 s>c ACK: after
 * close, dropped.  5 SYN at t=5 s -> session 2; 6 SYN|ACK; 7 c>s FIN (half closed); 8 SYN ->
 * session 2 ends NEW_SYN (records 5 6 7), session 3 starts; 9 SYN again (retransmission, no FIN
 * in session 3) stays in session 3. */
static void test_syn_reuse(void)
{
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    hf_flow_table *t = new_table(&c);
    hf_flow *out[4];
    const uint32_t cl = A_CLIENT, sv = SERVER;
    CHECK_EQ_INT(add4(t, 0, 0 * SEC, cl, 1000, sv, 80, TCP, SYN, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 1, 1 * SEC, sv, 80, cl, 1000, TCP, SYN | ACK, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 2, 2 * SEC, cl, 1000, sv, 80, TCP, ACK, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 3, 3 * SEC, cl, 1000, sv, 80, TCP, RST | ACK, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 4, 4 * SEC, sv, 80, cl, 1000, TCP, ACK, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 5, 5 * SEC, cl, 1000, sv, 80, TCP, SYN, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 6, 6 * SEC, sv, 80, cl, 1000, TCP, SYN | ACK, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 7, 7 * SEC, cl, 1000, sv, 80, TCP, FIN | ACK, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 8, 8 * SEC, cl, 1000, sv, 80, TCP, SYN, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 9, 9 * SEC, cl, 1000, sv, 80, TCP, SYN, 4), HF_OK);
    hf_flow_table_finish(t);
    CHECK_EQ_INT(pop_all(t, out, 4), 3);
    CHECK_EQ_INT(out[0]->end_reason, HF_FLOW_END_RST);
    CHECK_EQ_INT(out[0]->packet_count, 4);
    CHECK_EQ_INT(out[0]->last_record_index, 3);
    CHECK_EQ_INT(out[1]->end_reason, HF_FLOW_END_NEW_SYN);
    CHECK_EQ_INT(out[1]->first_record_index, 5);
    CHECK_EQ_INT(out[1]->packet_count, 3);
    CHECK_EQ_INT(out[2]->end_reason, HF_FLOW_END_INPUT);
    CHECK_EQ_INT(out[2]->first_record_index, 8);
    CHECK_EQ_INT(out[2]->packet_count, 2);
    hf_flow_stats st;
    hf_flow_table_stats(t, &st);
    CHECK_EQ_INT(st.packets_after_close, 1);
    CHECK_EQ_INT(st.flows_created, 3);
    free_all(out, 3);
    hf_flow_table_free(t);
}

/* Closed records: with linger 0 a packet after the RST is a flow of its own; with the default
 * 4 s linger a packet 5 s after the RST is too (the closed record has expired), one 3 s after it
 * is dropped. */
static void test_closed_linger(void)
{
    hf_flow *out[4];
    for (int variant = 0; variant < 2; variant++) {
        hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
        if (variant == 0) c.closed_linger_ns = 0;
        hf_flow_table *t = new_table(&c);
        CHECK_EQ_INT(add4(t, 0, 10 * SEC, A_CLIENT, 1, SERVER, 2, TCP, ACK, 4), HF_OK);
        CHECK_EQ_INT(add4(t, 1, 11 * SEC, SERVER, 2, A_CLIENT, 1, TCP, RST, 4), HF_OK);
        CHECK_EQ_INT(add4(t, 2, 14 * SEC, A_CLIENT, 1, SERVER, 2, TCP, ACK, 4), HF_OK);
        CHECK_EQ_INT(add4(t, 3, 16 * SEC, A_CLIENT, 7, SERVER, 2, UDP, 0, 4), HF_OK);   /* moves the clock */
        CHECK_EQ_INT(add4(t, 4, 16 * SEC, A_CLIENT, 1, SERVER, 2, TCP, ACK, 4), HF_OK);
        hf_flow_table_finish(t);
        size_t n = pop_all(t, out, 4);
        hf_flow_stats st;
        hf_flow_table_stats(t, &st);
        if (variant == 0) {
            /* RST flow (0 1), then at finish: (2 4) and the UDP flow (3), in first-record order */
            CHECK_EQ_INT(n, 3);
            CHECK_EQ_INT(out[1]->first_record_index, 2);
            CHECK_EQ_INT(out[1]->packet_count, 2);
            CHECK_EQ_INT(out[2]->first_record_index, 3);
            CHECK_EQ_INT(st.packets_after_close, 0);
        } else {
            /* record 2 (3 s after the RST) dropped; record 4 (5 s after) starts a flow */
            CHECK_EQ_INT(n, 3);
            CHECK_EQ_INT(out[1]->first_record_index, 3);
            CHECK_EQ_INT(out[2]->first_record_index, 4);
            CHECK_EQ_INT(out[2]->packet_count, 1);
            CHECK_EQ_INT(st.packets_after_close, 1);
        }
        CHECK_EQ_INT(out[0]->end_reason, HF_FLOW_END_RST);
        free_all(out, n);
        hf_flow_table_free(t);
    }
}

/* Idle timeout 10 s, UDP.  X = 1.1.1.1:1 > 2.2.2.2:2, Y = ...:3, Z = ...:4, W = ...:5.
 *   0 X t=0   1 Y t=5   2 X t=12 (X idle 12 s > 10: X#1 ends first, record 2 starts X#2)
 *   3 Z t=30 (Y idle 25 s, X#2 idle 18 s: both end in one step, ordered Y (rec 1), X#2 (rec 2))
 *   4 W t=40 (Z idle exactly 10 s: not expired)  -> finish: Z, W. */
static void test_idle_timeout(void)
{
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    c.idle_timeout_ns = 10 * SEC;
    hf_flow_table *t = new_table(&c);
    hf_flow *out[8];
    const uint32_t s = IP4(1, 1, 1, 1), d = IP4(2, 2, 2, 2);
    CHECK_EQ_INT(add4(t, 0, 0 * SEC, s, 1, d, 2, UDP, 0, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 1, 5 * SEC, s, 3, d, 2, UDP, 0, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 2, 12 * SEC, s, 1, d, 2, UDP, 0, 4), HF_OK);
    CHECK_EQ_INT(pop_all(t, out, 8), 1);
    CHECK_EQ_INT(out[0]->end_reason, HF_FLOW_END_IDLE);
    CHECK_EQ_INT(out[0]->first_record_index, 0);
    CHECK_EQ_INT(out[0]->packet_count, 1);
    CHECK_EQ_INT(add4(t, 3, 30 * SEC, s, 4, d, 2, UDP, 0, 4), HF_OK);
    CHECK_EQ_INT(pop_all(t, out + 1, 7), 2);
    CHECK_EQ_INT(out[1]->first_record_index, 1);
    CHECK_EQ_INT(out[1]->end_reason, HF_FLOW_END_IDLE);
    CHECK_EQ_INT(out[2]->first_record_index, 2);
    CHECK_EQ_INT(out[2]->end_reason, HF_FLOW_END_IDLE);
    CHECK_EQ_INT(add4(t, 4, 40 * SEC, s, 5, d, 2, UDP, 0, 4), HF_OK);
    CHECK_EQ_INT(pop_all(t, out + 3, 5), 0);
    hf_flow_table_finish(t);
    CHECK_EQ_INT(pop_all(t, out + 3, 5), 2);
    CHECK_EQ_INT(out[3]->first_record_index, 3);
    CHECK_EQ_INT(out[4]->first_record_index, 4);
    CHECK_EQ_INT(out[4]->end_reason, HF_FLOW_END_INPUT);
    CHECK_EQ_INT(out[4]->sequence, 4);
    free_all(out, 5);
    hf_flow_table_free(t);
}

/* Active timeout 10 s: X at t = 0, 4, 8, 11 -> at 11 s the flow is 11 s old: X#1 = records
 * 0 1 2 (ACTIVE), X#2 = record 3. */
static void test_active_timeout(void)
{
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    c.active_timeout_ns = 10 * SEC;
    hf_flow_table *t = new_table(&c);
    hf_flow *out[4];
    const uint32_t s = IP4(1, 1, 1, 1), d = IP4(2, 2, 2, 2);
    CHECK_EQ_INT(add4(t, 0, 0 * SEC, s, 1, d, 2, UDP, 0, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 1, 4 * SEC, d, 2, s, 1, UDP, 0, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 2, 8 * SEC, s, 1, d, 2, UDP, 0, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 3, 11 * SEC, s, 1, d, 2, UDP, 0, 4), HF_OK);
    hf_flow_table_finish(t);
    CHECK_EQ_INT(pop_all(t, out, 4), 2);
    CHECK_EQ_INT(out[0]->end_reason, HF_FLOW_END_ACTIVE);
    CHECK_EQ_INT(out[0]->packet_count, 3);
    CHECK_EQ_INT(out[0]->packet_count_forward, 2);
    CHECK_EQ_INT(out[0]->last_timestamp_ns, 8 * SEC);
    CHECK_EQ_INT(out[1]->first_record_index, 3);
    CHECK_EQ_INT(out[1]->end_reason, HF_FLOW_END_INPUT);
    free_all(out, 2);
    hf_flow_table_free(t);
}

/* Timestamps going backwards never move the clock back.  Idle 10 s:
 *   0 X t=100   1 Y t=50 (clock stays 100)   2 X t=105   3 Y t=111: Y was last active at clock
 *   100, 11 s ago -> Y#1 (timestamps 50..50) ends IDLE, record 3 starts Y#2. */
static void test_backward_timestamps(void)
{
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    c.idle_timeout_ns = 10 * SEC;
    hf_flow_table *t = new_table(&c);
    hf_flow *out[4];
    const uint32_t s = IP4(1, 1, 1, 1), d = IP4(2, 2, 2, 2);
    CHECK_EQ_INT(add4(t, 0, 100 * SEC, s, 1, d, 2, UDP, 0, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 1, 50 * SEC, s, 3, d, 2, UDP, 0, 4), HF_OK);
    CHECK_EQ_INT(add4(t, 2, 105 * SEC, s, 1, d, 2, UDP, 0, 4), HF_OK);
    CHECK_EQ_INT(pop_all(t, out, 4), 0);
    CHECK_EQ_INT(add4(t, 3, 111 * SEC, s, 3, d, 2, UDP, 0, 4), HF_OK);
    CHECK_EQ_INT(pop_all(t, out, 4), 1);
    CHECK_EQ_INT(out[0]->first_record_index, 1);
    CHECK_EQ_INT(out[0]->first_timestamp_ns, 50 * SEC);
    CHECK_EQ_INT(out[0]->last_timestamp_ns, 50 * SEC);
    CHECK_EQ_INT(out[0]->end_reason, HF_FLOW_END_IDLE);
    hf_flow_table_finish(t);
    CHECK_EQ_INT(pop_all(t, out + 1, 3), 2);
    CHECK_EQ_INT(out[1]->first_record_index, 0);
    CHECK_EQ_INT(out[1]->packet_count, 2);
    CHECK_EQ_INT(out[2]->first_record_index, 3);
    free_all(out, 3);
    hf_flow_table_free(t);
}

/* IPv6 session, both directions; an IPv4 key with junk in address bytes 4..15 is the same
 * flow as the clean key. */
static void test_ipv6_and_key_normalisation(void)
{
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    hf_flow_table *t = new_table(&c);
    hf_flow *out[4];
    CHECK_EQ_INT(add6(t, 0, 0, 1, 40000, 2, 443, TCP, SYN, 8), HF_OK);
    CHECK_EQ_INT(add6(t, 1, 1, 2, 443, 1, 40000, TCP, SYN | ACK, 8), HF_OK);
    CHECK_EQ_INT(add6(t, 2, 2, 3, 40000, 2, 443, TCP, SYN, 8), HF_OK);  /* other client */
    uint8_t storage[8];
    hf_flow_packet p = make_packet(3, 3, UDP, 0, 8, storage);
    p.key.family = 4;
    put4(p.key.address[0], A_CLIENT);
    put4(p.key.address[1], SERVER);
    p.key.port[0] = 9; p.key.port[1] = 10;
    p.key.address[0][9] = 0x55;  /* junk */
    CHECK_EQ_INT(hf_flow_table_add(t, &p, NULL), HF_OK);
    CHECK_EQ_INT(add4(t, 4, 4, SERVER, 10, A_CLIENT, 9, UDP, 0, 8), HF_OK);
    hf_flow_table_finish(t);
    CHECK_EQ_INT(pop_all(t, out, 4), 3);
    CHECK_EQ_INT(out[0]->key.family, 6);
    CHECK_EQ_INT(out[0]->packet_count, 2);
    CHECK_EQ_INT(out[0]->key.address[0][0], 0x20);
    CHECK_EQ_INT(out[0]->key.address[0][15], 1);
    CHECK_EQ_INT(out[0]->key.address[1][15], 2);
    CHECK_EQ_INT(out[1]->packet_count, 1);
    CHECK_EQ_INT(out[1]->key.address[0][15], 3);
    CHECK_EQ_INT(out[2]->packet_count, 2);
    CHECK_EQ_INT(out[2]->key.address[0][9], 0);
    free_all(out, 3);
    hf_flow_table_free(t);
}

/* max_packets 2, bytes_per_packet 3, min_packets 2.  X: records 0..3 with lengths 5 2 5 5 ->
 * kept: record 0 cut to 3, record 1 (2 bytes); counts cover all 4.  Y: 1 packet -> dropped. */
/* Keys that differ only in the ports, or not at all between the endpoints: the two directions
 * still meet (SESSION) or find each other (FLOW, RST), and a key whose endpoints are equal
 * counts its first packet as the SYN|ACK rule says and every later one as forward.
 *   SESSION: 0 H:1000>H:2000 UDP, 1 H:2000>H:1000 UDP (one session, 1 forward);
 *            2 H:7>H:7 SYN|ACK (direction 1), 3 H:7>H:7 ACK (direction 0).
 *   FLOW:    0 H:1000>H:2000 TCP ACK, 1 H:2000>H:1000 TCP ACK, 2 H:2000>H:1000 RST -> both. */
static void test_key_matching_edges(void)
{
    const uint32_t h = IP4(192, 0, 2, 9);
    hf_flow *out[4];
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    hf_flow_table *t = new_table(&c);
    CHECK_EQ_INT(add4(t, 0, 0, h, 1000, h, 2000, UDP, 0, 8), HF_OK);
    CHECK_EQ_INT(add4(t, 1, 1, h, 2000, h, 1000, UDP, 0, 8), HF_OK);
    CHECK_EQ_INT(add4(t, 2, 2, h, 7, h, 7, TCP, SYN | ACK, 8), HF_OK);
    CHECK_EQ_INT(add4(t, 3, 3, h, 7, h, 7, TCP, ACK, 8), HF_OK);
    hf_flow_table_finish(t);
    CHECK_EQ_INT(pop_all(t, out, 4), 2);
    CHECK_EQ_INT(out[0]->packet_count, 2);
    CHECK_EQ_INT(out[0]->packet_count_forward, 1);
    CHECK_EQ_INT(out[0]->key.port[0], 1000);
    CHECK_EQ_INT(out[0]->key.port[1], 2000);
    CHECK_EQ_INT(out[1]->packet_count, 2);
    CHECK_EQ_INT(out[1]->packet_count_forward, 1);
    free_all(out, 2);
    hf_flow_table_free(t);

    c = config_no_timeouts(HF_SPLIT_FLOW);
    t = new_table(&c);
    CHECK_EQ_INT(add4(t, 0, 0, h, 1000, h, 2000, TCP, ACK, 8), HF_OK);
    CHECK_EQ_INT(add4(t, 1, 1, h, 2000, h, 1000, TCP, ACK, 8), HF_OK);
    CHECK_EQ_INT(add4(t, 2, 2, h, 2000, h, 1000, TCP, RST, 8), HF_OK);
    CHECK_EQ_INT(pop_all(t, out, 4), 2);
    CHECK_EQ_INT(out[0]->end_reason, HF_FLOW_END_RST);
    CHECK_EQ_INT(out[0]->key.port[0], 1000);
    CHECK_EQ_INT(out[0]->packet_count, 1);
    CHECK_EQ_INT(out[1]->end_reason, HF_FLOW_END_RST);
    CHECK_EQ_INT(out[1]->key.port[0], 2000);
    CHECK_EQ_INT(out[1]->packet_count, 2);
    free_all(out, 2);
    hf_flow_table_free(t);
}

/* The documented cost of a flow's packets: its kept bytes and 16 bytes per kept packet, both
 * grown geometrically (the first packet's size, then doubling, capped by max_packets *
 * bytes_per_packet).  Packets cut to 100 bytes, max_packets 6:
 *   record  0      1    2    3    4                    5    6, 7 (not kept)
 *   bytes   100    200  400  400  600 (800 capped)     600  600
 *   views   4      4    4    4    6 (8 capped)         6    6        */
static void test_packet_memory_accounting(void)
{
    /* Geometric growth (a flow whose size is not bounded gets no first block): the first kept
     * 100 bytes, then doubling; views 4, 8. */
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    c.max_packets = 0;
    c.bytes_per_packet = 100;
    hf_flow_table *t = new_table(&c);
    const uint32_t s = IP4(1, 1, 1, 1), d = IP4(2, 2, 2, 2);
    const size_t growth[8] = {0, 100, 200, 0, 400 + 4 * 16, 0, 0, 0};
    hf_flow_stats st;
    hf_flow_table_stats(t, &st);
    const size_t empty = st.memory_bytes;
    size_t before = empty, first = 0;
    for (uint64_t r = 0; r < 8; r++) {
        CHECK_EQ_INT(add4(t, r, (int64_t)r, s, 1, d, 2, UDP, 0, 150), HF_OK);
        hf_flow_table_stats(t, &st);
        if (r == 0) first = st.memory_bytes - before;
        else CHECK_EQ_INT(st.memory_bytes - before, growth[r]);
        before = st.memory_bytes;
    }
    /* The first packet: the records (documented as about 300 bytes), 100 bytes, 4 views. */
    CHECK(first >= 100 + 4 * 16 + 200 && first <= 100 + 4 * 16 + 400);
    hf_flow_table_finish(t);
    hf_flow *out[2];
    CHECK_EQ_INT(pop_all(t, out, 2), 1);
    CHECK_EQ_INT(out[0]->packet_count, 8);
    CHECK_EQ_INT(out[0]->kept_count, 8);
    hf_flow_table_stats(t, &st);
    CHECK_EQ_INT(st.memory_bytes, empty);
    free_all(out, 1);
    hf_flow_table_free(t);

    /* A bounded flow (6 x 50 of 100 bytes) starts with a first block holding all it can keep
     * (600 bytes, 6 views), accounted at once; its geometric capacities are 512 bytes (64,
     * 128, 256, 512 <= 600) and 6 views.  A second flow's first block (600, 6) has geometric
     * capacities 64 bytes and 4 views.  With a limit between the two totals, the blocks are
     * shrunk to their geometric sizes and nothing is evicted; one byte less than the geometric
     * total evicts the oldest flow, exactly as geometric growth alone would. */
    c.max_packets = 6;
    size_t geometric_total = 0, first_total = 0;
    for (int pass = 0; pass < 3; pass++) {
        if (pass == 0) c.max_memory_bytes = 0;
        else c.max_memory_bytes = pass == 1 ? geometric_total : geometric_total - 1;
        t = new_table(&c);
        for (uint64_t r = 0; r < 6; r++)
            CHECK_EQ_INT(add4(t, r, (int64_t)r, s, 1, d, 2, UDP, 0, 50), HF_OK);
        if (pass == 0) {
            hf_flow_table_stats(t, &st);
            CHECK_EQ_INT(st.memory_bytes - empty, first - 100 - 4 * 16 + 600 + 6 * 16);
        }
        CHECK_EQ_INT(add4(t, 6, 6, s, 3, d, 4, UDP, 0, 50), HF_OK);
        hf_flow_table_stats(t, &st);
        if (pass == 0) {
            first_total = st.memory_bytes;
            geometric_total = first_total - (600 - 512) - (600 - 64) - 2 * 16;
        } else {
            CHECK_EQ_INT(st.memory_bytes <= c.max_memory_bytes, 1);
            CHECK_EQ_INT(st.flows_evicted, pass == 1 ? 0 : 1);
        }
        hf_flow_table_finish(t);
        size_t n = pop_all(t, out, 2);
        CHECK_EQ_INT(n, 2);
        CHECK_EQ_INT(out[0]->kept_count, 6);
        for (size_t k = 0; k < 6; k++)
            CHECK_EQ_INT(out[0]->packets[k].data[49], pattern_byte(k, 49));
        free_all(out, n);
        hf_flow_table_free(t);
    }
}

static void test_limits(void)
{
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    c.max_packets = 2;
    c.bytes_per_packet = 3;
    c.min_packets = 2;
    hf_flow_table *t = new_table(&c);
    hf_flow *out[4];
    const uint32_t s = IP4(1, 1, 1, 1), d = IP4(2, 2, 2, 2);
    CHECK_EQ_INT(add4(t, 0, 0, s, 1, d, 2, UDP, 0, 5), HF_OK);
    CHECK_EQ_INT(add4(t, 1, 1, d, 2, s, 1, UDP, 0, 2), HF_OK);
    CHECK_EQ_INT(add4(t, 2, 2, s, 9, d, 2, UDP, 0, 5), HF_OK);   /* Y */
    CHECK_EQ_INT(add4(t, 3, 3, s, 1, d, 2, UDP, 0, 5), HF_OK);
    CHECK_EQ_INT(add4(t, 4, 4, s, 1, d, 2, UDP, 0, 5), HF_OK);
    hf_flow_table_finish(t);
    CHECK_EQ_INT(pop_all(t, out, 4), 1);
    CHECK_EQ_INT(out[0]->packet_count, 4);
    CHECK_EQ_INT(out[0]->byte_count, 5 + 2 + 5 + 5 + 400);
    CHECK_EQ_INT(out[0]->last_record_index, 4);
    uint64_t r[2] = {0, 1};
    size_t l[2] = {3, 2};
    CHECK(kept_records_are(out[0], r, l, 2));
    hf_flow_stats st;
    hf_flow_table_stats(t, &st);
    CHECK_EQ_INT(st.flows_dropped_short, 1);
    CHECK_EQ_INT(st.flows_emitted, 1);
    CHECK_EQ_INT(out[0]->sequence, 0);
    free_all(out, 1);
    hf_flow_table_free(t);
}

/* Eviction.  The limit is the memory a table holds with 3 one-packet UDP flows (measured on a
 * probe table with the same operations).  A B C (= limit, no eviction), A again (no growth),
 * D -> over: evict the least recently active, B.  B again -> evict C.  finish: A, D, B#2. */
static void test_eviction(void)
{
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    const uint32_t s = IP4(1, 1, 1, 1), d = IP4(2, 2, 2, 2);
    hf_flow_table *probe = new_table(&c);
    CHECK_EQ_INT(add4(probe, 0, 0, s, 1, d, 2, UDP, 0, 10), HF_OK);
    CHECK_EQ_INT(add4(probe, 1, 1, s, 2, d, 2, UDP, 0, 10), HF_OK);
    CHECK_EQ_INT(add4(probe, 2, 2, s, 3, d, 2, UDP, 0, 10), HF_OK);
    CHECK_EQ_INT(add4(probe, 3, 3, s, 1, d, 2, UDP, 0, 10), HF_OK);
    hf_flow_stats st;
    hf_flow_table_stats(probe, &st);
    hf_flow_table_free(probe);
    c.max_memory_bytes = st.memory_bytes;

    hf_flow_table *t = new_table(&c);
    hf_flow *out[8];
    CHECK_EQ_INT(add4(t, 0, 0, s, 1, d, 2, UDP, 0, 10), HF_OK);  /* A */
    CHECK_EQ_INT(add4(t, 1, 1, s, 2, d, 2, UDP, 0, 10), HF_OK);  /* B */
    CHECK_EQ_INT(add4(t, 2, 2, s, 3, d, 2, UDP, 0, 10), HF_OK);  /* C */
    CHECK_EQ_INT(add4(t, 3, 3, s, 1, d, 2, UDP, 0, 10), HF_OK);  /* A */
    CHECK_EQ_INT(pop_all(t, out, 8), 0);
    CHECK_EQ_INT(add4(t, 4, 4, s, 4, d, 2, UDP, 0, 10), HF_OK);  /* D */
    CHECK_EQ_INT(pop_all(t, out, 8), 1);
    CHECK_EQ_INT(out[0]->end_reason, HF_FLOW_END_EVICTED);
    CHECK_EQ_INT(out[0]->first_record_index, 1);
    CHECK_EQ_INT(add4(t, 5, 5, s, 2, d, 2, UDP, 0, 10), HF_OK);  /* B#2 */
    CHECK_EQ_INT(pop_all(t, out + 1, 7), 1);
    CHECK_EQ_INT(out[1]->end_reason, HF_FLOW_END_EVICTED);
    CHECK_EQ_INT(out[1]->first_record_index, 2);
    hf_flow_table_stats(t, &st);
    CHECK(st.memory_bytes <= c.max_memory_bytes);
    CHECK_EQ_INT(st.flows_evicted, 2);
    CHECK_EQ_INT(st.open_flows, 3);
    hf_flow_table_finish(t);
    CHECK_EQ_INT(pop_all(t, out + 2, 6), 3);
    CHECK_EQ_INT(out[2]->first_record_index, 0);
    CHECK_EQ_INT(out[2]->packet_count, 2);
    CHECK_EQ_INT(out[3]->first_record_index, 4);
    CHECK_EQ_INT(out[4]->first_record_index, 5);
    free_all(out, 5);
    hf_flow_table_free(t);
}

/* Records freed when a flow ends are kept for the next flows, accounted, and given up before
 * anything is evicted: evictions are as without them.  Limit = 3 open one-packet flows.
 * A B C (TCP), A reset (closed_linger 0: its record is freed), D (no eviction: 3 flows),
 * E -> over: evict the least recently active, B.  finish: C, D, E; memory back to empty. */
static void test_freed_records_and_eviction(void)
{
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    c.closed_linger_ns = 0;
    const uint32_t s = IP4(1, 1, 1, 1), d = IP4(2, 2, 2, 2);
    hf_flow_table *probe = new_table(&c);
    hf_flow_stats st;
    hf_flow_table_stats(probe, &st);
    const size_t empty = st.memory_bytes;
    for (uint16_t port = 1; port <= 3; port++)
        CHECK_EQ_INT(add4(probe, port, port, s, port, d, 2, TCP, ACK, 10), HF_OK);
    hf_flow_table_stats(probe, &st);
    hf_flow_table_free(probe);
    c.max_memory_bytes = st.memory_bytes;

    hf_flow_table *t = new_table(&c);
    hf_flow *out[8];
    CHECK_EQ_INT(add4(t, 0, 0, s, 1, d, 2, TCP, ACK, 10), HF_OK);        /* A */
    CHECK_EQ_INT(add4(t, 1, 1, s, 2, d, 2, TCP, ACK, 10), HF_OK);        /* B */
    CHECK_EQ_INT(add4(t, 2, 2, s, 3, d, 2, TCP, ACK, 10), HF_OK);        /* C */
    CHECK_EQ_INT(add4(t, 3, 3, d, 2, s, 1, TCP, RST | ACK, 10), HF_OK);  /* A ends */
    CHECK_EQ_INT(pop_all(t, out, 8), 1);
    CHECK_EQ_INT(out[0]->end_reason, HF_FLOW_END_RST);
    CHECK_EQ_INT(add4(t, 4, 4, s, 4, d, 2, TCP, ACK, 10), HF_OK);        /* D */
    CHECK_EQ_INT(pop_all(t, out + 1, 7), 0);
    hf_flow_table_stats(t, &st);
    CHECK_EQ_INT(st.flows_evicted, 0);
    CHECK(st.memory_bytes <= c.max_memory_bytes);
    CHECK_EQ_INT(add4(t, 5, 5, s, 5, d, 2, TCP, ACK, 10), HF_OK);        /* E */
    CHECK_EQ_INT(pop_all(t, out + 1, 7), 1);
    CHECK_EQ_INT(out[1]->end_reason, HF_FLOW_END_EVICTED);
    CHECK_EQ_INT(out[1]->first_record_index, 1);
    hf_flow_table_stats(t, &st);
    CHECK(st.memory_bytes <= c.max_memory_bytes);
    hf_flow_table_finish(t);
    CHECK_EQ_INT(pop_all(t, out + 2, 6), 3);
    CHECK_EQ_INT(out[2]->first_record_index, 2);
    CHECK_EQ_INT(out[3]->first_record_index, 4);
    CHECK_EQ_INT(out[4]->first_record_index, 5);
    hf_flow_table_stats(t, &st);
    CHECK_EQ_INT(st.memory_bytes, empty);
    free_all(out, 5);
    hf_flow_table_free(t);
}

/* FILE mode: every packet, IP or not, in one flow with the zero key; TCP RST ignored.
 * SESSION mode: non-IP skipped by default, one family-0 flow with keep_non_ip. */
static void test_file_mode_and_non_ip(void)
{
    hf_flow *out[4];
    hf_flow_config c = config_no_timeouts(HF_SPLIT_FILE);
    c.idle_timeout_ns = 1;  /* ignored in FILE mode */
    hf_flow_table *t = new_table(&c);
    CHECK_EQ_INT(add4(t, 0, 0, A_CLIENT, 1, SERVER, 2, TCP, SYN, 4), HF_OK);
    CHECK_EQ_INT(add_non_ip(t, 1, 100 * SEC, 6), HF_OK);
    CHECK_EQ_INT(add4(t, 2, 200 * SEC, B_CLIENT, 1, SERVER, 2, TCP, RST, 4), HF_OK);
    CHECK_EQ_INT(add6(t, 3, 300 * SEC, 1, 1, 2, 2, UDP, 0, 4), HF_OK);
    CHECK_EQ_INT(pop_all(t, out, 4), 0);
    hf_flow_table_finish(t);
    CHECK_EQ_INT(pop_all(t, out, 4), 1);
    CHECK_EQ_INT(out[0]->packet_count, 4);
    CHECK_EQ_INT(out[0]->kept_count, 4);
    CHECK_EQ_INT(out[0]->key.family, 0);
    CHECK_EQ_INT(key_ip(&out[0]->key, 0), 0);
    CHECK_EQ_INT(out[0]->tcp_flags_seen, 0);
    CHECK_EQ_INT(out[0]->end_reason, HF_FLOW_END_INPUT);
    CHECK_EQ_INT(out[0]->packets[1].length, 6);
    CHECK_EQ_INT(out[0]->packets[1].data[5], pattern_byte(1, 5));
    free_all(out, 1);
    hf_flow_table_free(t);

    for (int keep = 0; keep < 2; keep++) {
        c = config_no_timeouts(HF_SPLIT_SESSION);
        c.keep_non_ip = keep;
        t = new_table(&c);
        CHECK_EQ_INT(add_non_ip(t, 0, 0, 6), HF_OK);
        CHECK_EQ_INT(add4(t, 1, 1, A_CLIENT, 1, SERVER, 2, UDP, 0, 4), HF_OK);
        CHECK_EQ_INT(add_non_ip(t, 2, 2, 6), HF_OK);
        hf_flow_table_finish(t);
        size_t n = pop_all(t, out, 4);
        hf_flow_stats st;
        hf_flow_table_stats(t, &st);
        if (keep) {
            CHECK_EQ_INT(n, 2);
            CHECK_EQ_INT(out[0]->key.family, 0);
            CHECK_EQ_INT(out[0]->packet_count, 2);
            CHECK_EQ_INT(out[1]->key.family, 4);
            CHECK_EQ_INT(st.non_ip_packets, 0);
        } else {
            CHECK_EQ_INT(n, 1);
            CHECK_EQ_INT(out[0]->key.family, 4);
            CHECK_EQ_INT(st.non_ip_packets, 2);
        }
        free_all(out, n);
        hf_flow_table_free(t);
    }
}

static void test_arguments(void)
{
    hf_flow_config c;
    hf_flow_config_init(&c);
    CHECK_EQ_INT(c.split_mode, HF_SPLIT_SESSION);
    CHECK_EQ_INT(c.idle_timeout_ns, 300 * SEC);
    CHECK_EQ_INT(c.active_timeout_ns, 1800 * SEC);
    CHECK_EQ_INT(c.max_memory_bytes, 256u * 1024 * 1024);
    CHECK(c.bytes_per_packet == SIZE_MAX);
    hf_flow_table *t = (hf_flow_table *)1;
    hf_error err;
    hf_error_clear(&err);
    c.split_mode = (hf_split_mode)7;
    CHECK_EQ_INT(hf_flow_table_new(&c, &t, &err), HF_ARGUMENT);
    CHECK(t == NULL);
    CHECK_EQ_INT(err.status, HF_ARGUMENT);
    c.split_mode = HF_SPLIT_FLOW;
    c.idle_timeout_ns = -1;
    CHECK_EQ_INT(hf_flow_table_new(&c, &t, NULL), HF_ARGUMENT);
    hf_flow_config_init(&c);
    t = new_table(&c);
    uint8_t storage[4];
    hf_flow_packet p = make_packet(0, 0, UDP, 0, 4, storage);
    p.key.family = 5;
    CHECK_EQ_INT(hf_flow_table_add(t, &p, &err), HF_ARGUMENT);
    p.key.family = 4;
    p.bytes = NULL;
    CHECK_EQ_INT(hf_flow_table_add(t, &p, NULL), HF_ARGUMENT);
    p.length = 0;
    CHECK_EQ_INT(hf_flow_table_add(t, &p, NULL), HF_OK);  /* an empty packet string is fine */
    CHECK_EQ_INT(hf_flow_table_add(NULL, &p, NULL), HF_ARGUMENT);
    CHECK_EQ_INT(hf_flow_table_pop(t, NULL), HF_ARGUMENT);
    hf_flow_table_finish(t);
    hf_flow *f = NULL;
    CHECK_EQ_INT(hf_flow_table_pop(t, &f), HF_OK);
    CHECK_EQ_INT(f->kept_count, 1);
    CHECK_EQ_INT(f->packets[0].length, 0);
    hf_flow_free(f);
    hf_flow_table_free(t);
    hf_flow_table_free(NULL);
    hf_flow_free(NULL);
    CHECK(strcmp(hf_flow_end_name(HF_FLOW_END_IDLE), "idle") == 0);
    CHECK(strcmp(hf_flow_end_name((hf_flow_end)99), "unknown") == 0);
}

/* ---- a mixed scenario, for the allocation-failure walk and the seed test ------------------ */

/* One step of the scenario: packet i of N. */
#define SCENARIO_PACKETS 400
static hf_status scenario_packet(hf_flow_table *t, int i)
{
    const uint32_t s = IP4(10, 1, 0, 0), d = IP4(10, 2, 0, 0);
    int64_t ts = (int64_t)i * (SEC / 4);
    if (i % 10 == 0) {  /* TCP sessions that open and close every 10 packets */
        int k = (i / 10) % 5;
        uint8_t flags[5] = {SYN, SYN | ACK, FIN | ACK, FIN | ACK, ACK};
        if ((i / 50) % 2 == 1) flags[2] = RST;  /* every other session is reset */
        int from_server = k == 1 || k == 3;
        uint16_t port = (uint16_t)(5000 + i / 50);
        return from_server ? add4(t, (uint64_t)i, ts, d, 80, s, port, TCP, flags[k], 30)
                           : add4(t, (uint64_t)i, ts, s, port, d, 80, TCP, flags[k], 30);
    }
    if (i % 7 == 0) return add6(t, (uint64_t)i, ts, (uint8_t)(i % 13), 53, 1, 53, UDP, 0, (size_t)(i % 50));
    /* 60 UDP flows, each revisited, lengths vary so buffers grow */
    uint16_t port = (uint16_t)(i * 37 % 60);
    return add4(t, (uint64_t)i, ts, s + port, port, d, 9, UDP, 0, (size_t)(20 + i % 200));
}

/* 9/10 of the memory the scenario needs without a limit (measured first by
 * test_scenario_sanity_and_seed), so that some flows are evicted. */
static size_t scenario_memory_limit;

static hf_flow_config scenario_config(void)
{
    hf_flow_config c;
    hf_flow_config_init(&c);
    c.idle_timeout_ns = 20 * SEC;
    c.active_timeout_ns = 60 * SEC;
    c.max_packets = 5;
    c.bytes_per_packet = 64;
    c.min_packets = 2;
    c.max_memory_bytes = scenario_memory_limit;
    return c;
}

static unsigned reason_counts[HF_FLOW_END_INPUT + 1];

/* Append a one-line summary of every popped flow to `summary`. */
static void summarise(hf_flow_table *t, char *summary, size_t size)
{
    hf_flow *f;
    while (hf_flow_table_pop(t, &f) == HF_OK) {
        if (f->end_reason <= HF_FLOW_END_INPUT) reason_counts[f->end_reason]++;
        unsigned sum = 0;
        for (size_t k = 0; k < f->kept_count; k++)
            for (size_t i = 0; i < f->packets[k].length; i++) sum = sum * 31 + f->packets[k].data[i];
        size_t used = strlen(summary);
        snprintf(summary + used, size - used, "%llu:%d:%llu:%llu:%zu:%u;",
                 (unsigned long long)f->sequence, (int)f->end_reason,
                 (unsigned long long)f->first_record_index, (unsigned long long)f->packet_count,
                 f->kept_count, sum);
        hf_flow_free(f);
    }
}

static void run_scenario(const hf_flow_config *c, char *summary, size_t size, hf_flow_stats *stats)
{
    summary[0] = '\0';
    hf_flow_table *t = new_table(c);
    for (int i = 0; i < SCENARIO_PACKETS; i++) {
        CHECK_EQ_INT(scenario_packet(t, i), HF_OK);
        summarise(t, summary, size);
    }
    hf_flow_table_finish(t);
    summarise(t, summary, size);
    hf_flow_table_stats(t, stats);
    hf_flow_table_free(t);
}

static char reference_summary[64 * 1024];
static char trial_summary[64 * 1024];

static void test_scenario_sanity_and_seed(void)
{
    hf_flow_config c = scenario_config();
    hf_flow_stats st;
    c.max_memory_bytes = 0;
    run_scenario(&c, reference_summary, sizeof reference_summary, &st);
    CHECK_EQ_INT(st.flows_evicted, 0);
    /* The unlimited peak includes first blocks (flows.h, BOUNDED MEMORY), which a limited table
     * gives back before evicting: lower the limit until it evicts. */
    scenario_memory_limit = st.peak_memory_bytes;
    do {
        scenario_memory_limit = scenario_memory_limit / 10 * 9;
        c = scenario_config();
        memset(reason_counts, 0, sizeof reason_counts);
        run_scenario(&c, reference_summary, sizeof reference_summary, &st);
    } while (st.flows_evicted == 0 && scenario_memory_limit > 4096);
    CHECK(strlen(reference_summary) > 200);
    /* every way of ending occurs in the scenario */
    CHECK(st.flows_evicted > 0);
    CHECK(st.flows_dropped_short > 0);
    CHECK(reason_counts[HF_FLOW_END_FIN] > 0);
    CHECK(reason_counts[HF_FLOW_END_RST] > 0);
    CHECK(st.packets_after_close > 0);
    CHECK(reason_counts[HF_FLOW_END_IDLE] > 0);
    CHECK(reason_counts[HF_FLOW_END_ACTIVE] > 0);
    CHECK(reason_counts[HF_FLOW_END_EVICTED] > 0);
    CHECK(reason_counts[HF_FLOW_END_INPUT] > 0);
    CHECK(st.peak_memory_bytes <= c.max_memory_bytes + 2048);
    c.hash_seed = 0x123456789abcdefULL;
    hf_flow_stats st2;
    run_scenario(&c, trial_summary, sizeof trial_summary, &st2);
    CHECK_EQ_INT(st2.flows_emitted, st.flows_emitted);
    CHECK(strcmp(reference_summary, trial_summary) == 0);
}

/* Fail the n-th allocation for every n: creation may fail (retry), a packet may fail with
 * HF_NOMEM (then re-add it with allocation enabled).  The strong guarantee of add() means the
 * output must equal the reference exactly; ASan checks that nothing leaks. */
static void test_allocation_failures(void)
{
    hf_flow_config c = scenario_config();
    hf_flow_stats st;
    run_scenario(&c, reference_summary, sizeof reference_summary, &st);
    int failures_seen = 0, mismatches = 0;
    for (long n = 0;; n++) {
        trial_summary[0] = '\0';
        hf_alloc_fail_after(n);
        hf_flow_table *t = NULL;
        int failed = 0;
        if (hf_flow_table_new(&c, &t, NULL) != HF_OK) {
            CHECK(t == NULL);
            failed = 1;
            hf_alloc_fail_after(-1);
            t = new_table(&c);
        }
        for (int i = 0; i < SCENARIO_PACKETS; i++) {
            hf_status s = scenario_packet(t, i);
            if (s == HF_NOMEM) {
                failed = 1;
                hf_alloc_fail_after(-1);
                s = scenario_packet(t, i);
            }
            if (s != HF_OK) { CHECK_EQ_INT(s, HF_OK); break; }
            summarise(t, trial_summary, sizeof trial_summary);
        }
        hf_flow_table_finish(t);
        summarise(t, trial_summary, sizeof trial_summary);
        hf_flow_table_free(t);
        hf_alloc_fail_after(-1);
        if (strcmp(trial_summary, reference_summary) != 0) mismatches++;
        if (!failed) break;
        failures_seen++;
    }
    CHECK(failures_seen > 50);
    CHECK_EQ_INT(mismatches, 0);
}

/* ---- keys from real frames (hf_dissect_packet + hf_flow_key_from_dissection) -------------- */

/* Ethernet header with `ethertype`; returns 14. */
static size_t put_ether(uint8_t *f, uint16_t ethertype)
{
    static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    memcpy(f, macs, 12);
    f[12] = (uint8_t)(ethertype >> 8);
    f[13] = (uint8_t)ethertype;
    return 14;
}

/* IPv4 header (20 bytes) carrying `payload_length` bytes. */
static size_t put_ipv4(uint8_t *f, uint8_t protocol, uint16_t fragment_field, uint32_t src, uint32_t dst,
                       size_t payload_length)
{
    size_t total = 20 + payload_length;
    memset(f, 0, 20);
    f[0] = 0x45;
    f[2] = (uint8_t)(total >> 8); f[3] = (uint8_t)total;
    f[4] = 0x12; f[5] = 0x34;
    f[6] = (uint8_t)(fragment_field >> 8); f[7] = (uint8_t)fragment_field;
    f[8] = 64;
    f[9] = protocol;
    put4(f + 12, src);
    put4(f + 16, dst);
    return 20;
}

static size_t put_tcp(uint8_t *f, uint16_t sport, uint16_t dport, uint8_t flags)
{
    memset(f, 0, 20);
    f[0] = (uint8_t)(sport >> 8); f[1] = (uint8_t)sport;
    f[2] = (uint8_t)(dport >> 8); f[3] = (uint8_t)dport;
    f[12] = 0x50;
    f[13] = flags;
    f[14] = 0xff; f[15] = 0xff;
    return 20;
}

static size_t put_udp(uint8_t *f, uint16_t sport, uint16_t dport, size_t payload_length)
{
    size_t length = 8 + payload_length;
    memset(f, 0, 8 + payload_length);
    f[0] = (uint8_t)(sport >> 8); f[1] = (uint8_t)sport;
    f[2] = (uint8_t)(dport >> 8); f[3] = (uint8_t)dport;
    f[4] = (uint8_t)(length >> 8); f[5] = (uint8_t)length;
    return length;
}

static int fast_keys;   /* frames whose key hf_flow_key_from_frame took (key_of) */

/* hf_flow_key_from_frame's contract for one frame: when it takes a key, the key of the full
 * dissection `full`.  Returns whether it took one. */
static int fast_key_agrees(const uint8_t *frame, size_t caplen, uint32_t linktype,
                           const hf_flow_packet *full)
{
    hf_flow_packet fast;
    memset(&fast, 0xAB, sizeof fast);   /* every field it claims must be written */
    if (!hf_flow_key_from_frame(frame, caplen, linktype, &fast)) return 0;
    CHECK_EQ_INT(fast.has_key, full->has_key);
    CHECK_EQ_INT(fast.tcp_flags, full->tcp_flags);
    CHECK(memcmp(&fast.key, &full->key, sizeof fast.key) == 0);
    return 1;
}

/* Dissect `frame` as Ethernet and fill a packet's key (and check the fast path agrees). */
static hf_flow_packet key_of(const uint8_t *frame, size_t caplen)
{
    hf_dissection d;
    hf_flow_packet p;
    memset(&p, 0, sizeof p);
    p.tcp_flags = 0xEE;  /* must be overwritten */
    CHECK_EQ_INT(hf_dissect_packet(frame, caplen, HF_LINKTYPE_ETHERNET, &d), HF_OK);
    CHECK_EQ_INT(hf_flow_key_from_dissection(frame, caplen, &d, &p), HF_OK);
    fast_keys += fast_key_agrees(frame, caplen, HF_LINKTYPE_ETHERNET, &p);
    return p;
}

static void test_key_from_dissection(void)
{
    uint8_t f[200];
    size_t n;
    hf_flow_packet p;

    /* IPv4 TCP SYN 10.0.0.1:1234 -> 10.0.0.2:80 */
    n = put_ether(f, 0x0800);
    n += put_ipv4(f + n, TCP, 0, A_CLIENT, SERVER, 20);
    n += put_tcp(f + n, 1234, 80, SYN);
    p = key_of(f, n);
    CHECK_EQ_INT(p.has_key, 1);
    CHECK_EQ_INT(p.key.family, 4);
    CHECK_EQ_INT(p.key.protocol, TCP);
    CHECK_EQ_INT(key_ip(&p.key, 0), A_CLIENT);
    CHECK_EQ_INT(key_ip(&p.key, 1), SERVER);
    CHECK_EQ_INT(p.key.address[0][4], 0);
    CHECK_EQ_INT(p.key.port[0], 1234);
    CHECK_EQ_INT(p.key.port[1], 80);
    CHECK_EQ_INT(p.tcp_flags, SYN);
    /* the same frame cut to 8 TCP bytes: ports captured, flags not -> flags 0 */
    p = key_of(f, 14 + 20 + 8);
    CHECK_EQ_INT(p.has_key, 1);
    CHECK_EQ_INT(p.key.port[0], 1234);
    CHECK_EQ_INT(p.tcp_flags, 0);
    /* cut after the source port: a 3-tuple (no half-known ports) */
    p = key_of(f, 14 + 20 + 2);
    CHECK_EQ_INT(p.has_key, 1);
    CHECK_EQ_INT(p.key.protocol, TCP);
    CHECK_EQ_INT(p.key.port[0], 0);
    CHECK_EQ_INT(p.key.port[1], 0);
    CHECK_EQ_INT(p.tcp_flags, 0);
    /* cut inside the IPv4 addresses: no key */
    p = key_of(f, 14 + 18);
    CHECK_EQ_INT(p.has_key, 0);

    /* IPv4 UDP, first fragment (MF) and a later fragment (offset 185 * 8): 3-tuple, ports 0 */
    n = put_ether(f, 0x0800);
    n += put_ipv4(f + n, UDP, 0x2000, A_CLIENT, SERVER, 16);
    n += put_udp(f + n, 5353, 53, 8);
    p = key_of(f, n);
    CHECK_EQ_INT(p.has_key, 1);
    CHECK_EQ_INT(p.key.protocol, UDP);
    CHECK_EQ_INT(p.key.port[0], 0);
    CHECK_EQ_INT(p.key.port[1], 0);
    n = put_ether(f, 0x0800);
    n += put_ipv4(f + n, UDP, 185, A_CLIENT, SERVER, 16);
    memset(f + n, 0x77, 16);
    n += 16;
    p = key_of(f, n);
    CHECK_EQ_INT(p.has_key, 1);
    CHECK_EQ_INT(p.key.protocol, UDP);
    CHECK_EQ_INT(p.key.port[0], 0);
    /* unfragmented UDP keeps its ports */
    n = put_ether(f, 0x0800);
    n += put_ipv4(f + n, UDP, 0x4000 /* DF */, A_CLIENT, SERVER, 16);
    n += put_udp(f + n, 5353, 53, 8);
    p = key_of(f, n);
    CHECK_EQ_INT(p.key.port[0], 5353);
    CHECK_EQ_INT(p.key.port[1], 53);
    CHECK_EQ_INT(p.tcp_flags, 0);

    /* ICMP echo: protocol 1, ports 0 */
    n = put_ether(f, 0x0800);
    n += put_ipv4(f + n, 1, 0, A_CLIENT, SERVER, 8);
    memset(f + n, 0, 8);
    f[n] = 8;
    n += 8;
    p = key_of(f, n);
    CHECK_EQ_INT(p.has_key, 1);
    CHECK_EQ_INT(p.key.protocol, 1);
    CHECK_EQ_INT(p.key.port[0], 0);

    /* ARP: not IP */
    n = put_ether(f, 0x0806);
    memset(f + n, 0, 28);
    f[n + 1] = 1; f[n + 2] = 0x08; f[n + 4] = 6; f[n + 5] = 4; f[n + 7] = 1;
    n += 28;
    p = key_of(f, n);
    CHECK_EQ_INT(p.has_key, 0);
    CHECK_EQ_INT(p.tcp_flags, 0);

    /* IPv6 2001:db8::1 -> 2001:db8::2, Hop-by-Hop options, then UDP 5353 -> 53 */
    n = put_ether(f, 0x86dd);
    memset(f + n, 0, 40);
    f[n] = 0x60;
    f[n + 5] = 8 + 8 + 4;  /* payload length */
    f[n + 6] = 0;          /* next header: Hop-by-Hop */
    f[n + 7] = 64;
    for (int e = 0; e < 2; e++) {
        uint8_t *a = f + n + 8 + 16 * e;
        a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8; a[15] = (uint8_t)(e + 1);
    }
    n += 40;
    static const uint8_t hop_by_hop[8] = {17, 0, 1, 4, 0, 0, 0, 0};
    memcpy(f + n, hop_by_hop, 8);
    n += 8;
    n += put_udp(f + n, 5353, 53, 4);
    p = key_of(f, n);
    CHECK_EQ_INT(p.has_key, 1);
    CHECK_EQ_INT(p.key.family, 6);
    CHECK_EQ_INT(p.key.protocol, UDP);
    CHECK_EQ_INT(p.key.address[0][0], 0x20);
    CHECK_EQ_INT(p.key.address[0][15], 1);
    CHECK_EQ_INT(p.key.address[1][15], 2);
    CHECK_EQ_INT(p.key.port[0], 5353);
    CHECK_EQ_INT(p.key.port[1], 53);

    /* End to end: SYN and SYN|ACK of one connection make one session. */
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    hf_flow_table *t = new_table(&c);
    for (int i = 0; i < 2; i++) {
        n = put_ether(f, 0x0800);
        n += i == 0 ? put_ipv4(f + n, TCP, 0, A_CLIENT, SERVER, 20) : put_ipv4(f + n, TCP, 0, SERVER, A_CLIENT, 20);
        n += i == 0 ? put_tcp(f + n, 1234, 80, SYN) : put_tcp(f + n, 80, 1234, SYN | ACK);
        p = key_of(f, n);
        p.record_index = (uint64_t)i;
        p.timestamp_ns = i;
        p.bytes = f;
        p.length = n;
        p.frame_length = n;
        CHECK_EQ_INT(hf_flow_table_add(t, &p, NULL), HF_OK);
    }
    hf_flow_table_finish(t);
    hf_flow *out[2];
    CHECK_EQ_INT(pop_all(t, out, 2), 1);
    CHECK_EQ_INT(out[0]->packet_count, 2);
    CHECK_EQ_INT(out[0]->tcp_flags_seen, SYN | ACK);
    CHECK_EQ_INT(out[0]->byte_count, 2 * 54);
    free_all(out, 1);
    hf_flow_table_free(t);

    hf_dissection d;
    CHECK_EQ_INT(hf_dissect_packet(f, n, HF_LINKTYPE_ETHERNET, &d), HF_OK);
    CHECK_EQ_INT(hf_flow_key_from_dissection(f, n, &d, NULL), HF_ARGUMENT);
    CHECK_EQ_INT(hf_flow_key_from_dissection(NULL, 5, &d, &p), HF_ARGUMENT);
}

/* hf_flow_key_from_frame: which frames it takes, and on those (and on every cut and many
 * one-byte changes of them) the key of the full dissection. */
static void test_key_from_frame(void)
{
    uint8_t base[8][120];
    size_t lengths[8], n;
    int frames = 0;
    /* 0: IPv4 TCP; 1: IPv4 UDP; 2: IPv4 TCP with 4 bytes of options (ihl 6); 3: IPv4 UDP first
     * fragment (MF); 4: IPv6 TCP; 5: IPv6 UDP; 6: IPv4 TCP, total length cutting the TCP header
     * to 10 bytes; 7: IPv6 with Hop-by-Hop then UDP (left to the dissection) */
    n = put_ether(base[0], 0x0800);
    n += put_ipv4(base[0] + n, TCP, 0, A_CLIENT, SERVER, 20);
    lengths[0] = n + put_tcp(base[0] + n, 1234, 80, SYN | ACK);
    n = put_ether(base[1], 0x0800);
    n += put_ipv4(base[1] + n, UDP, 0x4000, A_CLIENT, SERVER, 12);
    lengths[1] = n + put_udp(base[1] + n, 5353, 53, 4);
    memcpy(base[2], base[0], lengths[0]);
    base[2][14] = 0x46;
    base[2][17] = 44;
    memmove(base[2] + 38, base[2] + 34, 20);
    memset(base[2] + 34, 1, 4);    /* NOP options */
    lengths[2] = lengths[0] + 4;
    n = put_ether(base[3], 0x0800);
    n += put_ipv4(base[3] + n, UDP, 0x2000, A_CLIENT, SERVER, 12);
    lengths[3] = n + put_udp(base[3] + n, 5353, 53, 4);
    for (int k = 4; k <= 5; k++) {
        n = put_ether(base[k], 0x86dd);
        memset(base[k] + n, 0, 40);
        base[k][n] = 0x60;
        base[k][n + 5] = k == 4 ? 20 : 12;
        base[k][n + 6] = k == 4 ? TCP : UDP;
        base[k][n + 7] = 64;
        base[k][n + 8] = 0x20; base[k][n + 23] = 1; base[k][n + 24] = 0x20; base[k][n + 39] = 2;
        n += 40;
        lengths[k] = n + (k == 4 ? put_tcp(base[k] + n, 443, 50000, ACK)
                                 : put_udp(base[k] + n, 123, 123, 4));
    }
    memcpy(base[6], base[0], lengths[0]);
    base[6][17] = 30;
    lengths[6] = lengths[0];
    memcpy(base[7], base[5], lengths[5]);
    base[7][20] = 0;
    static const uint8_t hop_by_hop[8] = {17, 0, 1, 4, 0, 0, 0, 0};
    memmove(base[7] + 62, base[7] + 54, 12);
    memcpy(base[7] + 54, hop_by_hop, 8);
    base[7][19] = 20;
    lengths[7] = lengths[5] + 8;

    /* taken: whole frames 0..5; not taken: 6 (TCP cut by total length), 7 (extension header),
     * another link type, VLAN, a cut inside the IPv4 header */
    int expected[8] = {1, 1, 1, 1, 1, 1, 0, 0};
    hf_flow_packet p;
    for (int k = 0; k < 8; k++) {
        int before = fast_keys;
        p = key_of(base[k], lengths[k]);
        CHECK_EQ_INT(fast_keys - before, expected[k]);
    }
    CHECK_EQ_INT(hf_flow_key_from_frame(base[0], lengths[0], HF_LINKTYPE_RAW, &p), 0);
    CHECK_EQ_INT(hf_flow_key_from_frame(base[0], 14 + 19, HF_LINKTYPE_ETHERNET, &p), 0);
    CHECK_EQ_INT(hf_flow_key_from_frame(NULL, 0, HF_LINKTYPE_ETHERNET, &p), 0);
    uint8_t vlan[140];
    memcpy(vlan, base[0], 12);
    vlan[12] = 0x81; vlan[13] = 0; vlan[14] = 0; vlan[15] = 5;
    memcpy(vlan + 16, base[0] + 12, lengths[0] - 12);
    CHECK_EQ_INT(hf_flow_key_from_frame(vlan, lengths[0] + 4, HF_LINKTYPE_ETHERNET, &p), 0);
    /* IPv6, UDP to VXLAN's port 4789, VXLAN, then an IPv4 header (fuzz_dissect found it): the
     * inner IPv4 header gives the key (P4: IPv4 wins), so the frame is left to the dissection */
    static const uint8_t vxlan6[] = {
        0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x86, 0xdd,                  /* Ether */
        0x60, 0, 0, 0, 0, 52, UDP, 64,                                    /* IPv6 */
        0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
        0xba, 0x50, 0x12, 0xb5, 0, 52, 0, 0,                              /* UDP -> 4789 */
        0x08, 0, 0, 0, 0, 0, 1, 0,                                        /* VXLAN, VNI 1 */
        0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 3, 0x08, 0x00,                  /* Ether */
        0x45, 0, 0, 22, 0, 1, 0, 0, 64, 99, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0xaa, 0xbb,
    };
    int before = fast_keys;
    p = key_of(vxlan6, sizeof vxlan6);
    CHECK_EQ_INT(fast_keys - before, 0);
    CHECK_EQ_INT(p.key.family, 4);
    CHECK_EQ_INT(key_ip(&p.key, 0), A_CLIENT);
    /* the same behind an outer IPv4 header: the outer header is the first IPv4 one and gives the
     * key, so the fast path takes it (and key_of checks it is the dissection's) */
    uint8_t vxlan4[14 + 20 + sizeof vxlan6 - 54];
    n = put_ether(vxlan4, 0x0800);
    n += put_ipv4(vxlan4 + n, UDP, 0, SERVER, A_CLIENT, sizeof vxlan6 - 54);
    memcpy(vxlan4 + n, vxlan6 + 54, sizeof vxlan6 - 54);
    before = fast_keys;
    p = key_of(vxlan4, sizeof vxlan4);
    CHECK_EQ_INT(fast_keys - before, 1);
    CHECK_EQ_INT(p.key.port[1], 4789);
    /* the fast path's key on frame 0: 10.0.0.1:1234 -> 10.0.0.2:80, SYN|ACK */
    CHECK_EQ_INT(hf_flow_key_from_frame(base[0], lengths[0], HF_LINKTYPE_ETHERNET, &p), 1);
    CHECK_EQ_INT(p.has_key, 1);
    CHECK_EQ_INT(p.key.family, 4);
    CHECK_EQ_INT(key_ip(&p.key, 0), A_CLIENT);
    CHECK_EQ_INT(p.key.port[1], 80);
    CHECK_EQ_INT(p.tcp_flags, SYN | ACK);

    /* every cut of every frame, and each of the first 64 bytes set to 0x00, 0x0f, 0x45, 0xff */
    static const uint8_t values[4] = {0x00, 0x0f, 0x45, 0xff};
    int taken = 0;
    for (int k = 0; k < 8; k++) {
        for (size_t cut = 0; cut <= lengths[k]; cut++, frames++) {
            int before = fast_keys;
            (void)key_of(base[k], cut);
            taken += fast_keys - before;
        }
        for (size_t at = 0; at < 64 && at < lengths[k]; at++) {
            for (int v = 0; v < 4; v++, frames++) {
                uint8_t f[140];
                memcpy(f, base[k], lengths[k]);
                f[at] = values[v];
                int before = fast_keys;
                (void)key_of(f, lengths[k]);
                taken += fast_keys - before;
            }
        }
    }
    printf("hf_flow_key_from_frame: %d of %d edge frames taken, every key equal\n", taken, frames);
    CHECK(taken > frames / 4);
}

/* materialize: bytes are made only for packets the flow keeps; a failure aborts the add. */
typedef struct made_bytes {
    int calls;
    hf_status status;
    uint8_t storage[8];
} made_bytes;

static hf_status make_bytes(void *context, const uint8_t **bytes, size_t *length)
{
    made_bytes *m = context;
    m->calls++;
    for (int i = 0; i < 8; i++) m->storage[i] = (uint8_t)(0xa0 + m->calls);
    *bytes = m->storage;
    *length = 8;
    return m->status;
}

static void test_materialize_only_kept_packets(void)
{
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    c.max_packets = 2;
    hf_flow_table *t = new_table(&c);
    made_bytes made = {0, HF_OK, {0}};
    for (uint64_t r = 0; r < 5; r++) {
        hf_flow_packet p = make_packet(r, (int64_t)r, UDP, 0, 0, NULL);
        p.key.family = 4;
        put4(p.key.address[0], IP4(1, 1, 1, 1));
        put4(p.key.address[1], IP4(2, 2, 2, 2));
        p.materialize = make_bytes;
        p.materialize_context = &made;
        CHECK_EQ_INT(hf_flow_table_add(t, &p, NULL), HF_OK);
    }
    CHECK_EQ_INT(made.calls, 2);                 /* records 2..4 are counted, not made */
    made.status = HF_INVALID;
    hf_flow_packet q = make_packet(9, 9, UDP, 0, 0, NULL);
    q.key.family = 4;
    put4(q.key.address[0], IP4(3, 3, 3, 3));
    put4(q.key.address[1], IP4(4, 4, 4, 4));
    q.materialize = make_bytes;
    q.materialize_context = &made;
    CHECK_EQ_INT(hf_flow_table_add(t, &q, NULL), HF_INVALID);   /* aborted: no new flow */
    hf_flow_table_finish(t);
    hf_flow *out[4];
    CHECK_EQ_INT(pop_all(t, out, 4), 1);
    CHECK_EQ_INT(out[0]->packet_count, 5);
    CHECK_EQ_INT(out[0]->kept_count, 2);
    CHECK_EQ_INT(out[0]->packets[0].length, 8);
    CHECK_EQ_INT(out[0]->packets[0].data[0], 0xa1);
    CHECK_EQ_INT(out[0]->packets[1].data[7], 0xa2);
    free_all(out, 1);
    hf_flow_table_free(t);
}

/* materialize_to: the in-place form gives exactly what `materialize` gives -- the same kept
 * bytes, capacities and memory after every add -- including packets longer than
 * bytes_per_packet, view growth that moves the block after the bytes were made, and a failure
 * of the in-place call (table unchanged). */
typedef struct made_in_place {
    uint64_t record;
    size_t length;
    int to_calls, copy_calls;
    hf_status to_status;
    uint8_t storage[64];
} made_in_place;

static hf_status make_copy(void *context, const uint8_t **bytes, size_t *length)
{
    made_in_place *m = context;
    m->copy_calls++;
    for (size_t i = 0; i < m->length; i++) m->storage[i] = pattern_byte(m->record, i);
    *bytes = m->storage;
    *length = m->length;
    return HF_OK;
}

static hf_status make_to(void *context, uint8_t *destination, size_t capacity, size_t *length)
{
    made_in_place *m = context;
    m->to_calls++;
    if (m->to_status != HF_OK) {
        if (capacity) destination[0] = 0xEE;  /* scribbles in the free room, then fails */
        return m->to_status;
    }
    size_t n = m->length < capacity ? m->length : capacity;
    for (size_t i = 0; i < n; i++) destination[i] = pattern_byte(m->record, i);
    *length = m->length;  /* may exceed capacity: counts as capacity */
    return HF_OK;
}

static void test_materialize_in_place(void)
{
    hf_flow_config c = config_no_timeouts(HF_SPLIT_SESSION);
    c.max_packets = 40;
    c.bytes_per_packet = 24;
    hf_flow_table *t[2] = {new_table(&c), new_table(&c)};
    made_in_place made[2];
    memset(made, 0, sizeof made);
    for (uint64_t r = 0; r < 50; r++) {
        for (int k = 0; k < 2; k++) {
            hf_flow_packet p = make_packet(r, (int64_t)r, UDP, 0, 0, NULL);
            p.key.family = 4;
            put4(p.key.address[0], IP4(1, 1, 1, 1));
            put4(p.key.address[1], IP4(2, 2, 2, 2));
            made[k].record = r;
            made[k].length = (size_t)(r * 7 % 37);  /* 0 .. 36, some beyond bytes_per_packet */
            p.materialize = make_copy;
            p.materialize_to = k ? make_to : NULL;
            p.materialize_context = &made[k];
            if (k && r == 20) {  /* a failed in-place add changes nothing */
                made[k].to_status = HF_INVALID;
                int before = made[k].to_calls;
                CHECK_EQ_INT(hf_flow_table_add(t[k], &p, NULL), HF_INVALID);
                CHECK_EQ_INT(made[k].to_calls, before + 1);
                made[k].to_status = HF_OK;
            }
            CHECK_EQ_INT(hf_flow_table_add(t[k], &p, NULL), HF_OK);
        }
        hf_flow_stats s0, s1;
        hf_flow_table_stats(t[0], &s0);
        hf_flow_table_stats(t[1], &s1);
        CHECK_EQ_INT(s0.memory_bytes, s1.memory_bytes);
        CHECK_EQ_INT(s0.peak_memory_bytes, s1.peak_memory_bytes);
    }
    CHECK(made[1].to_calls > 10);                       /* the in-place form was used */
    CHECK(made[1].copy_calls > 0);                      /* and the copy when there was no room */
    CHECK_EQ_INT(made[1].to_calls - 1 + made[1].copy_calls, 40);  /* kept packets only */
    hf_flow *out[2][2];
    for (int k = 0; k < 2; k++) {
        hf_flow_table_finish(t[k]);
        CHECK_EQ_INT(pop_all(t[k], out[k], 2), 1);
    }
    CHECK_EQ_INT(out[1][0]->kept_count, 40);
    CHECK_EQ_INT(out[0][0]->kept_count, out[1][0]->kept_count);
    for (size_t i = 0; i < out[0][0]->kept_count; i++) {
        const hf_packet_view *a = &out[0][0]->packets[i], *b = &out[1][0]->packets[i];
        size_t expected = (size_t)(i * 7 % 37);
        CHECK_EQ_INT(b->length, expected < 24 ? expected : 24);
        CHECK_EQ_INT(a->length, b->length);
        CHECK(b->length == 0 || memcmp(a->data, b->data, b->length) == 0);
        for (size_t j = 0; j < b->length; j++) CHECK_EQ_INT(b->data[j], pattern_byte(i, j));
    }
    for (int k = 0; k < 2; k++) {
        free_all(out[k], 1);
        hf_flow_table_free(t[k]);
    }
}

int main(void)
{
    test_session_interleaved();
    test_session_orientation_from_syn_ack();
    test_flow_mode();
    test_flow_mode_rst_ends_both();
    test_simultaneous_close();
    test_syn_reuse();
    test_closed_linger();
    test_idle_timeout();
    test_active_timeout();
    test_backward_timestamps();
    test_ipv6_and_key_normalisation();
    test_key_matching_edges();
    test_limits();
    test_packet_memory_accounting();
    test_materialize_only_kept_packets();
    test_materialize_in_place();
    test_eviction();
    test_freed_records_and_eviction();
    test_file_mode_and_non_ip();
    test_arguments();
    test_key_from_dissection();
    test_key_from_frame();
    test_scenario_sanity_and_seed();
    test_allocation_failures();
    return CHECK_REPORT();
}
