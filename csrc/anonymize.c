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

uint64_t hf_siphash24(const uint64_t key[2], const uint8_t *data, size_t length)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
    uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
    uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
    uint64_t v3 = 0x7465646279746573ULL ^ key[1];
    size_t full = length - length % 8;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(data + i);
        v3 ^= m;
        SIPROUND(v0, v1, v2, v3);
        SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    uint64_t last = (uint64_t)(length & 0xff) << 56;
    for (size_t i = 0; i < length % 8; i++) last |= (uint64_t)data[full + i] << (8 * i);
    v3 ^= last;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    v0 ^= last;
    v2 ^= 0xff;
    for (int i = 0; i < 4; i++) SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
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

/* RANDOM: key the packet's stream (at its first replaced address).  Stream seed = SipHash of the
 * first HF_RANDOM_STREAM_PREFIX bytes with the packet index and caplen folded into the key: the
 * same frame at another position, or another frame at this position, gets unrelated values.  A
 * prefix, not the whole frame: the headers that differ between packets are at the start, and
 * hashing 1500-byte frames cost five times the whole dissect + preprocess. */
static void key_stream(hf_address_map *map)
{
    const hf_anonymizer *a = map->anonymizer;
    uint64_t key[2] = {a->key[0] ^ mix64(map->packet_index),
                       a->key[1] ^ mix64((uint64_t)map->caplen)};
    size_t prefix = map->frame == NULL ? 0
                    : map->caplen < HF_RANDOM_STREAM_PREFIX ? map->caplen
                                                            : HF_RANDOM_STREAM_PREFIX;
    map->stream = hf_siphash24(key, map->frame, prefix);
    map->stream_ready = 1;
    map->frame = NULL;   /* not read again */
}

/* Fill `length` bytes with the keyed stream (RANDOM) or with the pseudonym of `original`
 * (CONSISTENT). */
static void generate(hf_address_map *map, const uint8_t *original, size_t length, uint8_t *out)
{
    const hf_anonymizer *a = map->anonymizer;
    for (size_t done = 0, block = 0; done < length; block++) {
        uint64_t word;
        if (a->mode == HF_ANONYMIZE_RANDOM) {
            /* splitmix64 seeded with the (keyed, pseudo-random) stream: uniform, bijective in
             * the draw number, so draws within a packet never repeat a word. */
            uint64_t draw = ++map->draws;
            word = mix64(map->stream + draw * 0x9e3779b97f4a7c15ULL);
        } else {
            /* message = length tag, block number, address: a MAC and an IPv6 prefix never share
             * a pseudonym, and the 16 bytes of an IPv6 pseudonym come from two blocks. */
            uint8_t message[2 + 16];
            message[0] = (uint8_t)length;
            message[1] = (uint8_t)block;
            size_t n = length <= 16 ? length : 16;
            memcpy(message + 2, original, n);
            word = hf_siphash24(a->key, message, 2 + n);
        }
        /* the word's bytes, least significant first */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        word = __builtin_bswap64(word);
#endif
        size_t n = length - done < 8 ? length - done : 8;
        memcpy(out + done, &word, n);
        done += n;
    }
}

void hf_address_map_apply(hf_address_map *map, uint8_t *address, size_t length)
{
    const hf_anonymizer *a = map->anonymizer;
    switch (a->mode) {
    case HF_ANONYMIZE_KEEP:
        return;
    case HF_ANONYMIZE_ZERO:
        memset(address, 0, length);
        return;
    case HF_ANONYMIZE_CONSISTENT:
        if (length <= 16) {
            uint8_t pseudonym[16];
            generate(map, address, length, pseudonym);
            memcpy(address, pseudonym, length);
            return;
        }
        break;
    case HF_ANONYMIZE_RANDOM:
        if (!map->stream_ready) key_stream(map);
        break;
    }
    if (length > 16) {  /* not an address length we know: plain stream bytes, no memo */
        uint8_t chunk[16];
        for (size_t off = 0; off < length; off += 16) {
            size_t n = length - off < 16 ? length - off : 16;
            generate(map, address + off, n, chunk);
            memcpy(address + off, chunk, n);
        }
        return;
    }
    /* RANDOM: equal original addresses within one packet map to the same value (§2.2). */
    for (int i = 0; i < map->n_entries; i++) {
        if (map->entries[i].length == length &&
            memcmp(map->entries[i].original, address, length) == 0) {
            memcpy(address, map->entries[i].replacement, length);
            return;
        }
    }
    uint8_t replacement[16];
    generate(map, address, length, replacement);
    if (map->n_entries < HF_ADDRESS_MAP_ENTRIES) {
        map->entries[map->n_entries].length = (uint8_t)length;
        memcpy(map->entries[map->n_entries].original, address, length);
        memcpy(map->entries[map->n_entries].replacement, replacement, length);
        map->n_entries++;
    }
    memcpy(address, replacement, length);
}

void hf_anonymizer_pseudonym(const hf_anonymizer *anonymizer, uint8_t *address, size_t length)
{
    hf_anonymizer consistent = *anonymizer;
    if (consistent.mode == HF_ANONYMIZE_RANDOM) consistent.mode = HF_ANONYMIZE_CONSISTENT;
    hf_address_map map;
    hf_address_map_begin(&map, &consistent, 0, NULL, 0);
    hf_address_map_apply(&map, address, length);
}
