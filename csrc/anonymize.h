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
void hf_address_map_apply(hf_address_map *map, uint8_t *address, size_t length);

/* The keyed pseudonym of an address, for names and metadata (flow keys) rather than packet bytes:
 * RANDOM and CONSISTENT give the CONSISTENT pseudonym (stable across packets, so a flow has one
 * name), ZERO writes zeros, KEEP leaves the address.  In place; lengths up to 16. */
void hf_anonymizer_pseudonym(const hf_anonymizer *anonymizer, uint8_t *address, size_t length);

/* SipHash-2-4 of `length` bytes under `key` (exposed for tests). */
uint64_t hf_siphash24(const uint64_t key[2], const uint8_t *data, size_t length);

#endif /* HF_ANONYMIZE_H */
