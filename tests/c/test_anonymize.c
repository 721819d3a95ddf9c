/* test_anonymize.c -- SipHash-2-4 test vectors and the four address modes. */
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

/* RANDOM beyond the first test: the memo holds for every length and any number of distinct
 * addresses; short frames (read only up to caplen) and a byte moved within the 64-byte prefix
 * change the stream; and the output bits look uniform across packets. */
static void test_random_stream(void)
{
    hf_anonymizer a;
    hf_anonymizer_init(&a, HF_ANONYMIZE_RANDOM, 0);
    uint8_t frame[80];
    for (int i = 0; i < 80; i++) frame[i] = (uint8_t)(i * 7);
    hf_address_map map;
    hf_address_map_begin(&map, &a, 3, frame, sizeof frame);
    uint8_t v6a[16], v6b[16], first[20][4], again[20][4];
    memset(v6a, 0x20, 16);
    memset(v6b, 0x20, 16);
    hf_address_map_apply(&map, v6a, 16);
    for (int i = 0; i < 20; i++) {
        uint8_t ip[4] = {10, 0, 0, (uint8_t)i};
        hf_address_map_apply(&map, ip, 4);
        memcpy(first[i], ip, 4);
    }
    hf_address_map_apply(&map, v6b, 16);
    CHECK(memcmp(v6a, v6b, 16) == 0);
    for (int i = 0; i < 20; i++) {
        uint8_t ip[4] = {10, 0, 0, (uint8_t)i};
        hf_address_map_apply(&map, ip, 4);
        memcpy(again[i], ip, 4);
        CHECK(memcmp(first[i], again[i], 4) == 0);
        if (i) CHECK(memcmp(first[i], first[i - 1], 4) != 0);
    }

    /* The stream depends on every prefix byte and on caplen, for full and short frames. */
    uint8_t base[6], changed[6];
    for (size_t caplen = 0; caplen <= 70; caplen += 5) {
        memset(base, 1, 6);
        hf_address_map_begin(&map, &a, 1, frame, caplen);
        hf_address_map_apply(&map, base, 6);
        for (size_t at = 0; at < caplen && at < 64; at++) {
            uint8_t copy[80];
            memcpy(copy, frame, sizeof copy);
            copy[at] ^= 0x01;
            memset(changed, 1, 6);
            hf_address_map_begin(&map, &a, 1, copy, caplen);
            hf_address_map_apply(&map, changed, 6);
            CHECK(memcmp(base, changed, 6) != 0);
        }
        memset(changed, 1, 6);
        hf_address_map_begin(&map, &a, 1, frame, caplen + 1);
        hf_address_map_apply(&map, changed, 6);
        CHECK(memcmp(base, changed, 6) != 0);
    }

    /* Bit balance over 4096 packets (each bit: mean 2048, sd 32; bounds at ~6 sd). */
    int ones[32] = {0};
    for (int p = 0; p < 4096; p++) {
        uint8_t ip[4] = {192, 168, 0, 1};
        hf_address_map_begin(&map, &a, (uint64_t)p, frame, 60);
        hf_address_map_apply(&map, ip, 4);
        for (int b = 0; b < 32; b++) ones[b] += (ip[b / 8] >> (b % 8)) & 1;
    }
    for (int b = 0; b < 32; b++) CHECK(ones[b] > 2048 - 200 && ones[b] < 2048 + 200);
}

int main(void)
{
    test_siphash_vectors();
    test_zero_and_keep();
    test_random_per_packet();
    test_consistent();
    test_random_stream();
    return CHECK_REPORT();
}
