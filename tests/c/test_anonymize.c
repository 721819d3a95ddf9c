/* test_anonymize.c -- SipHash-2-4 / 1-3 test vectors and the four address modes. */
#include <string.h>

#include "anonymize.h"
#include "check.h"

static void test_siphash_vectors(void)
{
    /* Reference vectors of the SipHash paper (Appendix A): key 00..0f, message 00..(n-1). */
    uint64_t key[2] = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    uint8_t message[64];
    for (int i = 0; i < 64; i++) message[i] = (uint8_t)i;
    CHECK(hf_siphash24(key, message, 0) == 0x726fdb47dd0e0e31ULL);
    CHECK(hf_siphash24(key, message, 1) == 0x74f839c593dc67fdULL);
    CHECK(hf_siphash24(key, message, 15) == 0xa129ca6149be45e5ULL);
    CHECK(hf_siphash24(key, message, 63) == 0x958a324ceb064572ULL);
    /* SipHash-1-3 (the RANDOM stream): the same key and messages as Rust's SipHasher13 test
     * vectors (library/core/tests/hash/sip.rs), and a zero key over "" and "siphash". */
    CHECK(hf_siphash13(key, message, 0) == 0xabac0158050fc4dcULL);
    CHECK(hf_siphash13(key, message, 1) == 0xc9f49bf37d57ca93ULL);
    uint64_t zero[2] = {0, 0};
    CHECK(hf_siphash13(zero, message, 0) == 0xd1fba762150c532cULL);
    CHECK(hf_siphash13(zero, (const uint8_t *)"siphash", 7) == 0x8264ceeccb16bcbeULL);
}

static void test_zero_and_keep(void)
{
    hf_anonymizer a;
    hf_address_map map;
    uint8_t mac[6] = {1, 2, 3, 4, 5, 6};
    hf_anonymizer_init(&a, HF_ANONYMIZE_ZERO, 0);
    hf_address_map_begin(&map, &a, 0, mac, 6);
    hf_address_map_apply(&map, mac, 6);
    static const uint8_t zeros[6] = {0};
    CHECK(memcmp(mac, zeros, 6) == 0);

    uint8_t ip[4] = {192, 168, 1, 1};
    hf_anonymizer_init(&a, HF_ANONYMIZE_KEEP, 0);
    hf_address_map_begin(&map, &a, 0, ip, 4);
    hf_address_map_apply(&map, ip, 4);
    CHECK(ip[0] == 192 && ip[1] == 168 && ip[2] == 1 && ip[3] == 1);
}

static void test_random_per_packet(void)
{
    hf_anonymizer a;
    hf_anonymizer_init(&a, HF_ANONYMIZE_RANDOM, 42);
    const uint8_t frame[8] = {9, 9, 9, 9, 9, 9, 9, 9};
    uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {10, 0, 0, 1}, other[4] = {10, 0, 0, 2};
    hf_address_map map;
    hf_address_map_begin(&map, &a, 7, frame, sizeof frame);
    hf_address_map_apply(&map, src, 4);
    hf_address_map_apply(&map, dst, 4);
    hf_address_map_apply(&map, other, 4);
    CHECK(memcmp(src, dst, 4) == 0);       /* equal within a packet (§2.2) */
    CHECK(memcmp(src, other, 4) != 0);
    uint8_t again[4] = {10, 0, 0, 1};
    hf_address_map_begin(&map, &a, 7, frame, sizeof frame);
    hf_address_map_apply(&map, again, 4);
    CHECK(memcmp(again, src, 4) == 0);     /* reproducible: same seed, index and frame */
    uint8_t next[4] = {10, 0, 0, 1};
    hf_address_map_begin(&map, &a, 8, frame, sizeof frame);
    hf_address_map_apply(&map, next, 4);
    CHECK(memcmp(next, src, 4) != 0);      /* another packet: a fresh value, as in 1.1.1 */
    hf_anonymizer b;
    hf_anonymizer_init(&b, HF_ANONYMIZE_RANDOM, 43);
    uint8_t seeded[4] = {10, 0, 0, 1};
    hf_address_map_begin(&map, &b, 7, frame, sizeof frame);
    hf_address_map_apply(&map, seeded, 4);
    CHECK(memcmp(seeded, src, 4) != 0);    /* another seed: another value */
}

static void test_consistent(void)
{
    hf_anonymizer a;
    hf_anonymizer_init(&a, HF_ANONYMIZE_CONSISTENT, 1);
    const uint8_t f1[2] = {1, 2}, f2[3] = {3, 4, 5};
    uint8_t x[16], y[16];
    memset(x, 0xab, 16);
    memset(y, 0xab, 16);
    hf_address_map map;
    hf_address_map_begin(&map, &a, 0, f1, 2);
    hf_address_map_apply(&map, x, 16);
    hf_address_map_begin(&map, &a, 99, f2, 3);
    hf_address_map_apply(&map, y, 16);
    CHECK(memcmp(x, y, 16) == 0);          /* same address, other packet: same pseudonym */
    uint8_t mac[6];
    memset(mac, 0xab, 6);
    hf_address_map_apply(&map, mac, 6);
    CHECK(memcmp(mac, x, 6) != 0);         /* length is part of the key */
    int changed = 0;
    for (int i = 0; i < 16; i++) changed += x[i] != 0xab;
    CHECK(changed >= 12);
}

int main(void)
{
    test_siphash_vectors();
    test_zero_and_keep();
    test_random_per_packet();
    test_consistent();
    return CHECK_REPORT();
}
