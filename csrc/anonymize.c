/*
 * anonymize.c -- reproducible address replacement (see anonymize.h for the contract).
 */
#include "anonymize.h"

#include <string.h>

/* Bytes of a frame that key its RANDOM stream (see hf_address_map_begin). */
#define HF_RANDOM_STREAM_PREFIX 64

static inline uint64_t rotl64(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

#define SIPROUND(v0, v1, v2, v3) do { \
    v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32); \
    v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2; \
    v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0; \
    v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32); } while (0)

/* SipHash-c-d (the paper's §2): c compression rounds per 8-byte word, d finalisation rounds.
 * Inlined with constant round counts, so each variant compiles to its own straight loop. */
static inline uint64_t siphash(const uint64_t key[2], const uint8_t *data, size_t length,
                               int c_rounds, int d_rounds)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
    uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
    uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
    uint64_t v3 = 0x7465646279746573ULL ^ key[1];
    size_t full = length - length % 8;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(data + i);
        v3 ^= m;
        for (int r = 0; r < c_rounds; r++) SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    uint64_t last = (uint64_t)(length & 0xff) << 56;
    for (size_t i = 0; i < length % 8; i++) last |= (uint64_t)data[full + i] << (8 * i);
    v3 ^= last;
    for (int r = 0; r < c_rounds; r++) SIPROUND(v0, v1, v2, v3);
    v0 ^= last;
    v2 ^= 0xff;
    for (int r = 0; r < d_rounds; r++) SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t hf_siphash24(const uint64_t key[2], const uint8_t *data, size_t length)
{
    return siphash(key, data, length, 2, 4);
}

uint64_t hf_siphash13(const uint64_t key[2], const uint8_t *data, size_t length)
{
    return siphash(key, data, length, 1, 3);
}

/* splitmix64's finaliser: a bijective 64-bit mix, used to expand one seed into two key words and
 * (as splitmix64 proper, on stream + n x golden) a packet's stream into its draws. */
static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void hf_anonymizer_init(hf_anonymizer *anonymizer, hf_anonymize_mode mode, uint64_t seed)
{
    anonymizer->mode = mode;
    anonymizer->key[0] = mix64(seed + 0x9e3779b97f4a7c15ULL);
    anonymizer->key[1] = mix64(seed + 2 * 0x9e3779b97f4a7c15ULL);
}

void hf_address_map_begin(hf_address_map *map, const hf_anonymizer *anonymizer,
                          uint64_t packet_index, const uint8_t *frame, size_t caplen)
{
    map->anonymizer = anonymizer;
    map->n_entries = 0;
    map->draws = 0;
    map->stream = 0;
    map->stream_ready = 0;
    map->frame = frame;
    map->caplen = caplen;
    map->packet_index = packet_index;
}

/* RANDOM: key the packet's stream (at its first replaced address).  Stream seed = SipHash-1-3 of
 * the first HF_RANDOM_STREAM_PREFIX bytes with the packet index and caplen folded into the key: the
 * same frame at another position, or another frame at this position, gets unrelated values.  A
 * prefix, not the whole frame: the headers that differ between packets are at the start, and
 * hashing 1500-byte frames cost five times the whole dissect + preprocess.  SipHash-1-3 (the
 * variant CPython and Rust hash with) rather than 2-4: this runs once per packet, and its 12
 * rounds over 64 bytes take ~26 ns against ~44 ns for the 22 of 2-4 (a fifth of preprocessing a
 * packet); it is the same keyed construction with a smaller safety margin, with no known attack,
 * so the stream stays unpredictable without the seed.  CONSISTENT pseudonyms keep SipHash-2-4. */
static void key_stream(hf_address_map *map)
{
    const hf_anonymizer *a = map->anonymizer;
    uint64_t key[2] = {a->key[0] ^ mix64(map->packet_index),
                       a->key[1] ^ mix64((uint64_t)map->caplen)};
    size_t prefix = map->frame == NULL ? 0
                    : map->caplen < HF_RANDOM_STREAM_PREFIX ? map->caplen
                                                            : HF_RANDOM_STREAM_PREFIX;
    map->stream = hf_siphash13(key, map->frame, prefix);
    map->stream_ready = 1;
    map->frame = NULL;   /* not read again */
}

/* An address of 0..16 bytes as two words, zero-filled, in host order: equal words <=> equal bytes
 * (for one length); the memo then compares integers instead of calling memcmp per entry.  The
 * lengths of real addresses (4, 6, 16) are loaded straight into registers: assembling the words
 * in memory from 4- and 2-byte pieces and reading them back whole stalls store forwarding, which
 * cost more than the rest of the map. */
static inline void address_words(const uint8_t *address, size_t length, uint64_t *low,
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
static inline void store_address(uint8_t *address, uint64_t low, uint64_t high, size_t length)
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
typedef struct address_words_t {
    uint64_t low, high;
} address_words_t;

/* The words of a `length`-byte (0..16) replacement (store_address writes their bytes, least
 * significant first), one 64-bit word per 8 bytes.
 * RANDOM: splitmix64 seeded with the (keyed, pseudo-random) stream: uniform, bijective in the draw
 * number, so draws within a packet never repeat a word.  Inline, so the words stay in registers. */
static inline address_words_t random_words(hf_address_map *map, size_t length)
{
    address_words_t out = {0, 0};
    if (length > 0) out.low = mix64(map->stream + ++map->draws * 0x9e3779b97f4a7c15ULL);
    if (length > 8) out.high = mix64(map->stream + ++map->draws * 0x9e3779b97f4a7c15ULL);
    return out;
}

/* CONSISTENT: the pseudonym of `original`.  message = length tag, block number, address: a MAC
 * and an IPv6 prefix never share a pseudonym, and the 16 bytes of an IPv6 pseudonym come from two
 * blocks. */
static address_words_t pseudonym_words(const hf_anonymizer *a, const uint8_t *original,
                                       size_t length)
{
    uint64_t word[2] = {0, 0};
    for (size_t done = 0, block = 0; done < length; done += 8, block++) {
        uint8_t message[2 + 16];
        message[0] = (uint8_t)length;
        message[1] = (uint8_t)block;
        memcpy(message + 2, original, length);
        word[block] = hf_siphash24(a->key, message, 2 + length);
    }
    address_words_t out = {word[0], word[1]};
    return out;
}

void hf_address_map_apply(hf_address_map *map, uint8_t *address, size_t length)
{
    const hf_anonymizer *a = map->anonymizer;
    address_words_t replacement;
    switch (a->mode) {
    case HF_ANONYMIZE_KEEP:
        return;
    case HF_ANONYMIZE_ZERO:
        memset(address, 0, length);
        return;
    case HF_ANONYMIZE_CONSISTENT:
        if (length <= 16) {
            replacement = pseudonym_words(a, address, length);
            store_address(address, replacement.low, replacement.high, length);
            return;
        }
        break;
    case HF_ANONYMIZE_RANDOM:
        if (!map->stream_ready) key_stream(map);
        break;
    }
    if (length > 16) {  /* not an address length we know: plain stream bytes, no memo */
        for (size_t off = 0; off < length; off += 16) {
            size_t n = length - off < 16 ? length - off : 16;
            replacement = a->mode == HF_ANONYMIZE_RANDOM ? random_words(map, n)
                                                         : pseudonym_words(a, address + off, n);
            store_address(address + off, replacement.low, replacement.high, n);
        }
        return;
    }
    /* RANDOM: equal original addresses within one packet map to the same value (§2.2). */
    uint64_t low, high;
    address_words(address, length, &low, &high);
    for (int i = 0; i < map->n_entries; i++) {
        const struct hf_address_map_entry *e = &map->entries[i];
        if (e->length == length && e->original[0] == low && e->original[1] == high) {
            store_address(address, e->replacement[0], e->replacement[1], length);
            return;
        }
    }
    replacement = random_words(map, length);
    if (map->n_entries < HF_ADDRESS_MAP_ENTRIES) {
        struct hf_address_map_entry *e = &map->entries[map->n_entries++];
        e->original[0] = low;
        e->original[1] = high;
        e->replacement[0] = replacement.low;
        e->replacement[1] = replacement.high;
        e->length = length;
    }
    store_address(address, replacement.low, replacement.high, length);
}

void hf_anonymizer_pseudonym(const hf_anonymizer *anonymizer, uint8_t *address, size_t length)
{
    hf_anonymizer consistent = *anonymizer;
    if (consistent.mode == HF_ANONYMIZE_RANDOM) consistent.mode = HF_ANONYMIZE_CONSISTENT;
    hf_address_map map;
    hf_address_map_begin(&map, &consistent, 0, NULL, 0);
    hf_address_map_apply(&map, address, length);
}
