/*
 * anonymize.h -- what replaces the MAC and IP addresses that heifip 1.1.1 randomises.
 *
 * Pipeline position: called by preprocess for every address 1.1.1 rewrites
 * (reference-semantics.md §2.2, §2.3 E1/E2/E2').  1.1.1 draws fresh, unseeded random values for
 * every packet (quirks P1/P2: the mapping is private to one packet, so one original address gets a
 * different value in every packet, but equal addresses *within* a packet stay equal).  We keep
 * that distribution and make it reproducible, and offer the choices users need:
 *
 *   HF_ANONYMIZE_RANDOM      1.1.1's behaviour (default): uniform random bytes, new per packet,
 *                            equal within a packet.  The packet's stream is a keyed function of
 *                            (seed, packet index, caplen, the frame's first 64 bytes) -- a fast
 *                            non-cryptographic multiply-mix hash (wyhash-style), computed at the
 *                            packet's first replacement -- so a run is reproducible, independent
 *                            of threads and call order, and two different packets get unrelated
 *                            values.  An address's replacement is splitmix64's finaliser of
 *                            (stream, length, address): equal within the packet by construction.
 *                            Not a PRF: the seed is public by default, so the values are noise,
 *                            not secrets.
 *   HF_ANONYMIZE_CONSISTENT  keyed pseudonyms: one original address -> one pseudonym for a whole
 *                            run (and for every run with the same seed); SipHash-2-4 of the address.
 *   HF_ANONYMIZE_ZERO        every replaced byte is 0x00 (the parity tests' sentinel).
 *   HF_ANONYMIZE_KEEP        original addresses kept.
 *
 * CONSISTENT's keyed function is SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input
 * PRF", 2012), implemented from the paper.  It is a PRF, so pseudonyms cannot be inverted without
 * the seed -- but a 64-bit seed and the small IPv4 space mean a determined attacker with the seed
 * range can enumerate: treat the seed as a secret if anonymity matters.
 *
 * Thread-safety: an hf_anonymizer is immutable after hf_anonymizer_init and may be shared by any
 * number of threads; an hf_address_map is per packet and per thread (on the stack).
 */
#ifndef HF_ANONYMIZE_H
#define HF_ANONYMIZE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common.h"

typedef enum hf_anonymize_mode {
    HF_ANONYMIZE_RANDOM = 0,
    HF_ANONYMIZE_CONSISTENT,
    HF_ANONYMIZE_ZERO,
    HF_ANONYMIZE_KEEP
} hf_anonymize_mode;

typedef struct hf_anonymizer {
    hf_anonymize_mode mode;
    uint64_t key[2];          /* CONSISTENT: SipHash key derived from the seed */
    uint64_t stream_key[10];  /* RANDOM: the stream hash's key words, from the seed */
} hf_anonymizer;

void hf_anonymizer_init(hf_anonymizer *anonymizer, hf_anonymize_mode mode, uint64_t seed);

/* The per-packet mapping (1.1.1's `address_mapping`, private to one packet, §2.2). */
typedef struct hf_address_map {
    const hf_anonymizer *anonymizer;  /* borrowed; must outlive the map */
    const uint8_t *frame;             /* RANDOM: borrowed until the first apply keys the stream */
    size_t caplen;
    uint64_t packet_index;
    int stream_ready;                 /* RANDOM: `stream` computed (lazily, at the first apply) */
    uint64_t stream;                  /* RANDOM: per-packet stream seed */
    uint64_t draws;                   /* RANDOM: words drawn for lengths over 16 */
    uint64_t applied;                 /* addresses of up to 16 bytes replaced (for tests) */
} hf_address_map;

/* Start the mapping for one packet.  `packet_index` is the packet's position in its source (record
 * index in the file, or position in the caller's list); `frame`/`caplen` are its original bytes
 * (only read, and only in RANDOM mode: caplen and the first 64 bytes).  Costs nothing: the RANDOM
 * stream is keyed lazily by the first hf_address_map_apply, so `frame` is borrowed and must stay
 * valid and unchanged until the first apply of this packet (or until the next begin, when no
 * address is replaced); it is not read after that first apply. */
void hf_address_map_begin(hf_address_map *map, const hf_anonymizer *anonymizer,
                          uint64_t packet_index, const uint8_t *frame, size_t caplen);

/* Replace the `length`-byte address (6 = MAC, 4 = IPv4, 16 = IPv6; other lengths are replaced
 * too, byte-wise) in place.  The same original bytes of the same length map to the same
 * replacement within one packet in RANDOM mode, and across everything in CONSISTENT mode. */
static inline void hf_address_map_apply(hf_address_map *map, uint8_t *address, size_t length);

/* The keyed pseudonym of an address, for names and metadata (flow keys) rather than packet bytes:
 * RANDOM and CONSISTENT give the CONSISTENT pseudonym (stable across packets, so a flow has one
 * name), ZERO writes zeros, KEEP leaves the address.  In place; lengths up to 16. */
void hf_anonymizer_pseudonym(const hf_anonymizer *anonymizer, uint8_t *address, size_t length);

/* SipHash-2-4 of `length` bytes under `key` (exposed for tests). */
uint64_t hf_siphash24(const uint64_t key[2], const uint8_t *data, size_t length);

/* ---- inline implementation (not part of the contract) -------------------------------------
 * hf_address_map_apply runs for every address of every kept packet, so its common case -- RANDOM,
 * an address of up to 16 bytes -- is inline: out of line it cost a call, a switch on the mode and
 * the register saves of the rare paths, about 90 instructions per address (callgrind) for ~25 of
 * work.  Everything else goes to hf_address_map_apply_other_ (anonymize.c). */
void hf_address_map_key_stream_(hf_address_map *map);
void hf_address_map_apply_other_(hf_address_map *map, uint8_t *address, size_t length);

/* splitmix64's finaliser: a bijective 64-bit mix, used to expand one seed into two key words and
 * (as splitmix64 proper, on stream + n x golden) a packet's stream into its draws. */
static inline uint64_t hf_anonymize_mix64_(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* An address of 0..16 bytes as two words, zero-filled, in host order: equal words <=> equal bytes
 * (for one length); the memo then compares integers instead of calling memcmp per entry.  The
 * lengths of real addresses (4, 6, 16) are loaded straight into registers: assembling the words
 * in memory from 4- and 2-byte pieces and reading them back whole stalls store forwarding, which
 * cost more than the rest of the map. */
static inline void hf_anonymize_load_(const uint8_t *address, size_t length, uint64_t *low,
                                 uint64_t *high)
{
    uint32_t a;
    uint16_t b;
    switch (length) {
    case 4:
        memcpy(&a, address, 4);
        *low = a;
        *high = 0;
        return;
    case 6:
        memcpy(&a, address, 4);
        memcpy(&b, address + 4, 2);
        *low = a | (uint64_t)b << 32;
        *high = 0;
        return;
    case 16:
        memcpy(low, address, 8);
        memcpy(high, address + 8, 8);
        return;
    default: {
        uint8_t padded[16] = {0};
        memcpy(padded, address, length);
        memcpy(low, padded, 8);
        memcpy(high, padded + 8, 8);
        return;
    }
    }
}

/* Write a `length`-byte (0..16) replacement: word 0 gives bytes 0..7, word 1 bytes 8..15, each
 * least significant first.  Copied out of whole 8-byte words (a narrower load from a wider
 * store forwards; a 16-byte load from two 8-byte stores would not). */
static inline void hf_anonymize_store_(uint8_t *address, uint64_t low, uint64_t high, size_t length)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    low = __builtin_bswap64(low);
    high = __builtin_bswap64(high);
#endif
    switch (length) {
    case 4: memcpy(address, &low, 4); return;
    case 6: memcpy(address, &low, 6); return;
    case 16:
        memcpy(address, &low, 8);
        memcpy(address + 8, &high, 8);
        return;
    default:
        memcpy(address, &low, length < 8 ? length : 8);
        if (length > 8) memcpy(address + 8, &high, length - 8);
        return;
    }
}

/* Two 64-bit words, returned in registers: going through memory, the two 8-byte stores were read
 * back as one 16-byte load, which stalls store forwarding. */
typedef struct hf_anonymize_words_ {
    uint64_t low, high;
} hf_anonymize_words_;

#define HF_ANONYMIZE_GOLDEN_ 0x9e3779b97f4a7c15ULL

/* RANDOM: the words of the replacement of the `length`-byte (0..16) address (`low`, `high`, as
 * address_words gives them) in this packet.  A function of (stream, length, address) rather than
 * draws in call order plus a memo of the packet's addresses: equal addresses within a packet get
 * equal replacements (§2.2) by construction, with no table to search or fill, and with no limit
 * on the number of distinct addresses.  mix64 (splitmix64's finaliser) is bijective, so for one
 * stream and length two different addresses of up to 8 bytes never share a replacement word;
 * the high word of a 16-byte address is folded in first.  The per-packet stream makes the words
 * unrelated between packets.  Inline, so the words stay in registers. */
static inline hf_anonymize_words_ hf_anonymize_random_words_(const hf_address_map *map, size_t length,
                                           uint64_t low, uint64_t high)
{
    hf_anonymize_words_ out = {0, 0};
    uint64_t base = map->stream + (uint64_t)length * HF_ANONYMIZE_GOLDEN_;
    if (length > 8) base = hf_anonymize_mix64_(base ^ high);
    if (length > 0) out.low = hf_anonymize_mix64_(base ^ low);
    if (length > 8) out.high = hf_anonymize_mix64_(out.low + HF_ANONYMIZE_GOLDEN_);
    return out;
}

/* hf_address_map_apply when the caller knows the mode is RANDOM and length <= 16 (preprocess
 * checks the mode once per packet and calls this with constant lengths, which then fold). */
static HF_ALWAYS_INLINE void hf_address_map_apply_random(hf_address_map *map, uint8_t *address,
                                                         size_t length)
{
    if (!map->stream_ready) hf_address_map_key_stream_(map);
    uint64_t low, high;
    hf_anonymize_load_(address, length, &low, &high);
    map->applied++;
    hf_anonymize_words_ replacement = hf_anonymize_random_words_(map, length, low, high);
    hf_anonymize_store_(address, replacement.low, replacement.high, length);
}

static inline void hf_address_map_apply(hf_address_map *map, uint8_t *address, size_t length)
{
    if (map->anonymizer->mode != HF_ANONYMIZE_RANDOM || length > 16) {
        hf_address_map_apply_other_(map, address, length);
        return;
    }
    hf_address_map_apply_random(map, address, length);
}

#endif /* HF_ANONYMIZE_H */
