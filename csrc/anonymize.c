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
 * Inlined with constant round counts, so the rounds compile to a straight loop. */
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

void hf_anonymizer_init(hf_anonymizer *anonymizer, hf_anonymize_mode mode, uint64_t seed)
{
    anonymizer->mode = mode;
    anonymizer->key[0] = hf_anonymize_mix64_(seed + 0x9e3779b97f4a7c15ULL);
    anonymizer->key[1] = hf_anonymize_mix64_(seed + 2 * 0x9e3779b97f4a7c15ULL);
    /* splitmix64 continued: the RANDOM stream's key words (see hf_address_map_key_stream_). */
    for (int i = 0; i < 10; i++)
        anonymizer->stream_key[i] = hf_anonymize_mix64_(seed + (uint64_t)(3 + i) * 0x9e3779b97f4a7c15ULL);
}

void hf_address_map_begin(hf_address_map *map, const hf_anonymizer *anonymizer,
                          uint64_t packet_index, const uint8_t *frame, size_t caplen)
{
    map->anonymizer = anonymizer;
    map->draws = 0;
    map->applied = 0;
    map->stream = 0;
    map->stream_ready = 0;
    map->frame = frame;
    map->caplen = caplen;
    map->packet_index = packet_index;
}

/* The 128-bit product of a and b folded to 64 bits (hi ^ lo): the multiply-based mixing step of
 * wyhash-style hashes.  One multiply mixes two keyed input words into every output bit. */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
    __extension__ typedef unsigned __int128 u128;
    u128 product = (u128)a * b;
    return (uint64_t)product ^ (uint64_t)(product >> 64);
}

/* Word `i` (0..7) of the frame prefix of `n` (< 64) bytes, zero-filled past the end: whole words
 * are loaded directly, the partial one from the 8 bytes that end at `n` (shifted to drop the bytes
 * of the previous word) so that no byte past the frame is read. */
static inline uint64_t prefix_word(const uint8_t *p, size_t n, size_t i)
{
    size_t at = 8 * i;
    if (at + 8 <= n) return load_le64(p + at);
    if (at >= n) return 0;
    if (n >= 8) return load_le64(p + n - 8) >> (8 * (at + 8 - n));
    uint64_t w = 0;
    for (size_t j = at; j < n; j++) w |= (uint64_t)p[j] << (8 * (j - at));
    return w;
}

/* RANDOM: key the packet's stream (at its first replaced address).  Stream seed = a keyed
 * multiply-mix hash of the first HF_RANDOM_STREAM_PREFIX bytes (zero-filled), the packet index
 * and caplen: the same frame at another position, or another frame at this position, gets
 * unrelated values.  A prefix, not the whole frame: the headers that differ between packets are
 * at the start.  Why not a PRF (SipHash-1-3 was used here before): the stream only has to look
 * uniform and be reproducible -- it is not a secret, because its key comes from the seed, which
 * defaults to 0 and is public (anyone holding a seed can recompute every draw whatever the hash).
 * Five 64x64->128 multiplies of keyed word pairs (as in wyhash) plus a splitmix finaliser take
 * ~3 ns per packet against ~26 ns for SipHash-1-3's 12 rounds.  Each pair has its own key words,
 * so moving bytes within the prefix changes the stream.  CONSISTENT pseudonyms, which are meant to
 * be unlinkable without the seed, keep SipHash-2-4. */
void hf_address_map_key_stream_(hf_address_map *map)
{
    const uint64_t *k = map->anonymizer->stream_key;
    const uint8_t *p = map->frame;
    size_t n = p == NULL ? 0
               : map->caplen < HF_RANDOM_STREAM_PREFIX ? map->caplen : HF_RANDOM_STREAM_PREFIX;
    uint64_t w[8];
    if (n == HF_RANDOM_STREAM_PREFIX) {
        for (size_t i = 0; i < 8; i++) w[i] = load_le64(p + 8 * i);
    } else {
        for (size_t i = 0; i < 8; i++) w[i] = prefix_word(p, n, i);
    }
    uint64_t h = mum(w[0] ^ k[0], w[1] ^ k[1]) ^ mum(w[2] ^ k[2], w[3] ^ k[3])
                 ^ mum(w[4] ^ k[4], w[5] ^ k[5]) ^ mum(w[6] ^ k[6], w[7] ^ k[7])
                 ^ mum(map->packet_index ^ k[8], (uint64_t)map->caplen ^ k[9]);
    map->stream = hf_anonymize_mix64_(h);
    map->stream_ready = 1;
    map->frame = NULL;   /* not read again */
}

/* RANDOM, lengths over 16 (no address we know): fresh stream words per call, no memo. */
static inline hf_anonymize_words_ fresh_words(hf_address_map *map, size_t length)
{
    hf_anonymize_words_ out = {0, 0};
    uint64_t base = ~map->stream;   /* apart from random_words' inputs */
    if (length > 0) out.low = hf_anonymize_mix64_(base + ++map->draws * HF_ANONYMIZE_GOLDEN_);
    if (length > 8) out.high = hf_anonymize_mix64_(base + ++map->draws * HF_ANONYMIZE_GOLDEN_);
    return out;
}

/* CONSISTENT: the pseudonym of `original`.  message = length tag, block number, address: a MAC
 * and an IPv6 prefix never share a pseudonym, and the 16 bytes of an IPv6 pseudonym come from two
 * blocks. */
static hf_anonymize_words_ pseudonym_words(const hf_anonymizer *a, const uint8_t *original,
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
    hf_anonymize_words_ out = {word[0], word[1]};
    return out;
}

/* Every case but the RANDOM replacement of an address of up to 16 bytes (the inline
 * hf_address_map_apply): the other modes, and lengths over 16. */
void hf_address_map_apply_other_(hf_address_map *map, uint8_t *address, size_t length)
{
    const hf_anonymizer *a = map->anonymizer;
    hf_anonymize_words_ replacement;
    switch (a->mode) {
    case HF_ANONYMIZE_KEEP:
        return;
    case HF_ANONYMIZE_ZERO:
        memset(address, 0, length);
        return;
    case HF_ANONYMIZE_CONSISTENT:
        if (length <= 16) {
            replacement = pseudonym_words(a, address, length);
            hf_anonymize_store_(address, replacement.low, replacement.high, length);
            return;
        }
        break;
    case HF_ANONYMIZE_RANDOM:
        if (!map->stream_ready) hf_address_map_key_stream_(map);
        break;
    }
    /* length > 16: not an address length we know: plain stream bytes, no memo */
    for (size_t off = 0; off < length; off += 16) {
        size_t n = length - off < 16 ? length - off : 16;
        replacement = a->mode == HF_ANONYMIZE_RANDOM ? fresh_words(map, n)
                                                     : pseudonym_words(a, address + off, n);
        hf_anonymize_store_(address + off, replacement.low, replacement.high, n);
    }
}

void hf_anonymizer_pseudonym(const hf_anonymizer *anonymizer, uint8_t *address, size_t length)
{
    hf_anonymizer consistent = *anonymizer;
    if (consistent.mode == HF_ANONYMIZE_RANDOM) consistent.mode = HF_ANONYMIZE_CONSISTENT;
    hf_address_map map;
    hf_address_map_begin(&map, &consistent, 0, NULL, 0);
    hf_address_map_apply(&map, address, length);
}
