/*
 * test_reader.c -- the capture reader on hand-built captures (in memory, in plain and gzip'ed
 * temporary files), the allocation-failure countdown, and every file of ../shared/pcaps when
 * that folder exists (skipped cleanly otherwise).  Run from the repository root.
 *
 * Expected values are computed by hand from the bytes the helpers write; the corpus checks use
 * record counts and caplens that scapy 2.5 (heifip 1.1.1's reader) gives for those files.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "reader.h"

/* ---------------------------------------------------------------------------------------- */
/* Capture builder. */

typedef struct builder {
    uint8_t *data;
    size_t length;
    size_t capacity;
    int big_endian;
} builder;

static void put(builder *b, const void *bytes, size_t n)
{
    if (b->length + n > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 256;
        while (capacity < b->length + n) capacity *= 2;
        b->data = realloc(b->data, capacity);
        if (b->data == NULL) abort();
        b->capacity = capacity;
    }
    if (n) memcpy(b->data + b->length, bytes, n);
    b->length += n;
}

static void put_u8(builder *b, uint8_t v) { put(b, &v, 1); }

static void put_u16(builder *b, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    if (b->big_endian) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
    put(b, p, 2);
}

static void put_u32(builder *b, uint32_t v)
{
    uint8_t p[4];
    for (int i = 0; i < 4; i++) p[b->big_endian ? 3 - i : i] = (uint8_t)(v >> (8 * i));
    put(b, p, 4);
}

static void put_u64(builder *b, uint64_t v)
{
    if (b->big_endian) { put_u32(b, (uint32_t)(v >> 32)); put_u32(b, (uint32_t)v); }
    else { put_u32(b, (uint32_t)v); put_u32(b, (uint32_t)(v >> 32)); }
}

static void set_u32(builder *b, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++) b->data[at + (size_t)(b->big_endian ? 3 - i : i)] = (uint8_t)(v >> (8 * i));
}

/* Byte i of the packet with `seed` is (seed * 31 + i) mod 256. */
static void put_pattern(builder *b, uint32_t seed, size_t n)
{
    for (size_t i = 0; i < n; i++) put_u8(b, (uint8_t)(seed * 31u + i));
}

static uint32_t fnv1a(const uint8_t *data, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ data[i]) * 16777619u;
    return h;
}

static uint32_t pattern_hash(uint32_t seed, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)(seed * 31u + i)) * 16777619u;
    return h;
}

static void builder_free(builder *b) { free(b->data); memset(b, 0, sizeof *b); }

/* Classic pcap. */
static void pcap_header(builder *b, int nanoseconds, uint32_t linktype_field)
{
    put_u32(b, nanoseconds ? 0xA1B23C4Du : 0xA1B2C3D4u);
    put_u16(b, 2);
    put_u16(b, 4);
    put_u32(b, 0);
    put_u32(b, 0);
    put_u32(b, 65535);
    put_u32(b, linktype_field);
}

static void pcap_record(builder *b, uint32_t seconds, uint32_t fraction, uint32_t caplen,
                        uint32_t wirelen, uint32_t seed, size_t written)
{
    put_u32(b, seconds);
    put_u32(b, fraction);
    put_u32(b, caplen);
    put_u32(b, wirelen);
    put_pattern(b, seed, written);
}

/* pcapng: ng_begin writes type and a placeholder length; ng_end pads to 4 and writes both
 * lengths (draft-ietf-opsawg-pcapng §3.1). */
static size_t ng_begin(builder *b, uint32_t type)
{
    size_t start = b->length;
    put_u32(b, type);
    put_u32(b, 0);
    return start;
}

static void ng_end(builder *b, size_t start)
{
    while ((b->length - start) % 4) put_u8(b, 0);
    uint32_t length = (uint32_t)(b->length - start + 4);
    set_u32(b, start + 4, length);
    put_u32(b, length);
}

static void ng_shb(builder *b)
{
    size_t s = ng_begin(b, 0x0A0D0D0Au);
    put_u32(b, 0x1A2B3C4Du);
    put_u16(b, 1);
    put_u16(b, 0);
    put_u64(b, UINT64_MAX);
    ng_end(b, s);
}

/* tsresol < 0: no if_tsresol option. */
static void ng_idb(builder *b, uint16_t linktype, uint32_t snaplen, int tsresol, int64_t tsoffset)
{
    size_t s = ng_begin(b, 1);
    put_u16(b, linktype);
    put_u16(b, 0);
    put_u32(b, snaplen);
    put_u16(b, 2); /* if_name "x" first, so that options are really walked */
    put_u16(b, 1);
    put_u8(b, 'x');
    put_u8(b, 0); put_u8(b, 0); put_u8(b, 0);
    if (tsresol >= 0) {
        put_u16(b, 9);
        put_u16(b, 1);
        put_u8(b, (uint8_t)tsresol);
        put_u8(b, 0); put_u8(b, 0); put_u8(b, 0);
    }
    if (tsoffset != 0) {
        put_u16(b, 14);
        put_u16(b, 8);
        put_u64(b, (uint64_t)tsoffset);
    }
    put_u16(b, 0);
    put_u16(b, 0);
    ng_end(b, s);
}

static void ng_epb(builder *b, uint32_t interface, uint64_t timestamp, uint32_t caplen,
                   uint32_t wirelen, uint32_t seed)
{
    size_t s = ng_begin(b, 6);
    put_u32(b, interface);
    put_u32(b, (uint32_t)(timestamp >> 32));
    put_u32(b, (uint32_t)timestamp);
    put_u32(b, caplen);
    put_u32(b, wirelen);
    put_pattern(b, seed, caplen);
    ng_end(b, s);
}

static void ng_spb(builder *b, uint32_t wirelen, uint32_t written, uint32_t seed)
{
    size_t s = ng_begin(b, 3);
    put_u32(b, wirelen);
    put_pattern(b, seed, written);
    ng_end(b, s);
}

static void ng_pb(builder *b, uint16_t interface, uint64_t timestamp, uint32_t caplen,
                  uint32_t wirelen, uint32_t seed)
{
    size_t s = ng_begin(b, 2);
    put_u16(b, interface);
    put_u16(b, 0);
    put_u32(b, (uint32_t)(timestamp >> 32));
    put_u32(b, (uint32_t)timestamp);
    put_u32(b, caplen);
    put_u32(b, wirelen);
    put_pattern(b, seed, caplen);
    ng_end(b, s);
}

static void ng_opaque(builder *b, uint32_t type, size_t body)
{
    size_t s = ng_begin(b, type);
    for (size_t i = 0; i < body; i++) put_u8(b, 0xEE);
    ng_end(b, s);
}

/* ---------------------------------------------------------------------------------------- */
/* Reading helpers. */

typedef struct seen {
    uint32_t caplen, wirelen, linktype, hash;
    int64_t timestamp_ns;
    uint64_t index;
} seen;

/* Read up to `max` records.  OUT: *end = the status that ended the loop. */
static size_t read_all(hf_reader *reader, seen *out, size_t max, hf_status *end)
{
    size_t n = 0;
    hf_record record;
    hf_error error;
    hf_error_clear(&error);
    hf_status status;
    while ((status = hf_reader_next(reader, &record, &error)) == HF_OK) {
        if (n < max) {
            out[n].caplen = record.caplen;
            out[n].wirelen = record.wirelen;
            out[n].linktype = record.linktype;
            out[n].hash = fnv1a(record.data, record.caplen);
            out[n].timestamp_ns = record.timestamp_ns;
            out[n].index = record.index;
        }
        n++;
    }
    *end = status;
    return n;
}

static hf_reader *open_mem(const builder *b, hf_status expected)
{
    hf_reader *reader = NULL;
    hf_error error;
    hf_error_clear(&error);
    hf_status status = hf_reader_open_memory(b->data, b->length, &reader, &error);
    CHECK_EQ_INT(status, expected);
    if (status != HF_OK) CHECK(reader == NULL);
    return reader;
}

static char temp_directory[64];

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) abort();
    fclose(f);
}

static void write_gzip(const char *path, const void *data, size_t n)
{
    gzFile f = gzopen(path, "wb6");
    if (!f) abort();
    size_t done = 0;
    while (done < n) {
        unsigned chunk = n - done > 65536 ? 65536 : (unsigned)(n - done);
        if (gzwrite(f, (const uint8_t *)data + done, chunk) != (int)chunk) abort();
        done += chunk;
    }
    gzclose(f);
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) abort();
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc((size_t)size + 1);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) abort();
    fclose(f);
    *n = (size_t)size;
    return data;
}

static void temp_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", temp_directory, name);
}

/* ---------------------------------------------------------------------------------------- */
/* Classic pcap. */

static void test_pcap_byte_orders_and_resolutions(void)
{
    for (int big = 0; big <= 1; big++) {
        for (int nano = 0; nano <= 1; nano++) {
            builder b = {0};
            b.big_endian = big;
            pcap_header(&b, nano, 1);
            pcap_record(&b, 1700000000u, 123456u, 60, 60, 7, 60);
            pcap_record(&b, 1700000001u, 999999u, 0, 1514, 8, 0); /* zero-length record */
            pcap_record(&b, 5u, 1u, 70, 40, 9, 70);               /* caplen > wirelen: kept */
            hf_reader *reader = open_mem(&b, HF_OK);
            if (!reader) { builder_free(&b); continue; }
            CHECK_EQ_INT(hf_reader_format(reader), HF_CAPTURE_PCAP);
            CHECK_EQ_INT(hf_reader_is_gzip(reader), 0);
            seen s[4];
            hf_status end;
            size_t n = read_all(reader, s, 4, &end);
            CHECK_EQ_INT(n, 3);
            CHECK_EQ_INT(end, HF_EOF);
            CHECK_EQ_INT(s[0].caplen, 60);
            CHECK_EQ_INT(s[0].wirelen, 60);
            CHECK_EQ_INT(s[0].linktype, 1);
            CHECK_EQ_INT(s[0].index, 0);
            CHECK_EQ_INT(s[0].hash, pattern_hash(7, 60));
            CHECK_EQ_INT(s[0].timestamp_ns,
                         nano ? 1700000000000123456ll : 1700000000123456000ll);
            CHECK_EQ_INT(s[1].caplen, 0);
            CHECK_EQ_INT(s[1].wirelen, 1514);
            CHECK_EQ_INT(s[1].index, 1);
            CHECK_EQ_INT(s[1].timestamp_ns, nano ? 1700000001000999999ll : 1700000001999999000ll);
            CHECK_EQ_INT(s[2].caplen, 70);
            CHECK_EQ_INT(s[2].wirelen, 40);
            CHECK_EQ_INT(s[2].hash, pattern_hash(9, 70));
            CHECK_EQ_INT(s[2].timestamp_ns, nano ? 5000000001ll : 5000001000ll);
            CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_OK);
            CHECK_EQ_INT(hf_reader_record_count(reader), 3);
            /* After the end, only HF_EOF. */
            hf_record record;
            CHECK_EQ_INT(hf_reader_next(reader, &record, NULL), HF_EOF);
            hf_reader_free(reader);
            builder_free(&b);
        }
    }
}

static void test_pcap_linktype_fcs_bits(void)
{
    builder b = {0};
    /* LINKTYPE_ETHERNET with the FCS-present bit (26) and a 4-word FCS length (bits 28-31). */
    pcap_header(&b, 0, 0x44000001u);
    pcap_record(&b, 1, 0, 20, 20, 1, 20);
    for (int scapy = 0; scapy <= 1; scapy++) {
        hf_reader *reader = open_mem(&b, HF_OK);
        if (!reader) continue;
        hf_reader_set_scapy_compat(reader, scapy);
        seen s[1];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 1, &end), 1);
        /* scapy looks the unmasked field up, so it sees an unknown link type. */
        CHECK_EQ_INT(s[0].linktype, scapy ? 0x44000001u : 1);
        hf_reader_free(reader);
    }
    builder_free(&b);
}

static void test_pcap_version_read_anyway(void)
{
    builder b = {0};
    pcap_header(&b, 0, 1);
    b.data[4] = 1; /* version 1.4: libpcap's "archaic", scapy reads it */
    pcap_record(&b, 1, 0, 10, 10, 1, 10);
    hf_reader *reader = open_mem(&b, HF_OK);
    if (reader) {
        seen s[1];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 1, &end), 1);
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_UNSUPPORTED);
        CHECK(strstr(hf_reader_damage(reader)->reason, "1.4") != NULL);
        hf_reader_free(reader);
    }
    builder_free(&b);
}

static void test_pcap_truncated_last_record(void)
{
    builder b = {0};
    pcap_header(&b, 0, 1);
    pcap_record(&b, 1, 0, 100, 100, 1, 100);
    pcap_record(&b, 2, 0, 100, 100, 2, 37); /* header complete, 37 of 100 data bytes */
    hf_reader *reader = open_mem(&b, HF_OK);
    if (reader) {
        seen s[3];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 3, &end), 2);
        CHECK_EQ_INT(end, HF_EOF);
        CHECK_EQ_INT(s[1].caplen, 37);
        CHECK_EQ_INT(s[1].wirelen, 100);
        CHECK_EQ_INT(s[1].hash, pattern_hash(2, 37));
        const hf_error *damage = hf_reader_damage(reader);
        CHECK_EQ_INT(damage->status, HF_TRUNCATED);
        CHECK_EQ_INT(damage->record_index, 1);
        CHECK_EQ_INT(damage->byte_offset, 24 + 116 + 16 + 37);
        hf_reader_free(reader);
    }
    /* Header complete, no data at all: an empty record, as scapy's f.read(100) == b"". */
    b.length = 24 + 116 + 16;
    reader = open_mem(&b, HF_OK);
    if (reader) {
        seen s[3];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 3, &end), 2);
        CHECK_EQ_INT(s[1].caplen, 0);
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_TRUNCATED);
        hf_reader_free(reader);
    }
    builder_free(&b);
}

static void test_pcap_truncated_record_header(void)
{
    builder b = {0};
    pcap_header(&b, 0, 1);
    pcap_record(&b, 1, 0, 30, 30, 1, 30);
    pcap_record(&b, 2, 0, 30, 30, 2, 30);
    put_u32(&b, 3);
    put_u8(&b, 0); /* 5 bytes of a 16-byte record header */
    hf_reader *reader = open_mem(&b, HF_OK);
    if (reader) {
        seen s[3];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 3, &end), 2);
        CHECK_EQ_INT(end, HF_EOF);
        const hf_error *damage = hf_reader_damage(reader);
        CHECK_EQ_INT(damage->status, HF_TRUNCATED);
        CHECK_EQ_INT(damage->record_index, 2);
        CHECK_EQ_INT(damage->byte_offset, 24 + 46 + 46);
        hf_reader_free(reader);
    }
    builder_free(&b);
}

static void test_pcap_absurd_caplen(void)
{
    builder b = {0};
    pcap_header(&b, 0, 1);
    pcap_record(&b, 1, 0, 30, 30, 1, 30);
    pcap_record(&b, 2, 0, 0x7FFFFFF0u, 30, 2, 50); /* claims ~2 GiB, 50 bytes follow */
    for (int scapy = 0; scapy <= 1; scapy++) {
        hf_reader *reader = open_mem(&b, HF_OK);
        if (!reader) continue;
        hf_reader_set_scapy_compat(reader, scapy);
        seen s[3];
        hf_status end;
        /* Specification: stop before it.  scapy: f.read(caplen) returns the rest of the file. */
        CHECK_EQ_INT(read_all(reader, s, 3, &end), scapy ? 2 : 1);
        CHECK_EQ_INT(end, HF_EOF);
        if (scapy) {
            CHECK_EQ_INT(s[1].caplen, 50);
            CHECK_EQ_INT(s[1].hash, pattern_hash(2, 50));
        }
        const hf_error *damage = hf_reader_damage(reader);
        CHECK_EQ_INT(damage->status, HF_LIMIT);
        CHECK_EQ_INT(damage->record_index, 1);
        CHECK_EQ_INT(damage->byte_offset, 24 + 46 + 8);
        hf_reader_free(reader);
    }
    builder_free(&b);
}

static void test_scapy_mtu_cut(void)
{
    builder b = {0};
    pcap_header(&b, 0, 1);
    pcap_record(&b, 1, 0, 70000, 70000, 3, 70000);
    pcap_record(&b, 2, 0, 10, 10, 4, 10);
    for (int scapy = 0; scapy <= 1; scapy++) {
        hf_reader *reader = open_mem(&b, HF_OK);
        if (!reader) continue;
        hf_reader_set_scapy_compat(reader, scapy);
        seen s[2];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 2, &end), 2);
        CHECK_EQ_INT(s[0].caplen, scapy ? 65535 : 70000);
        CHECK_EQ_INT(s[0].hash, pattern_hash(3, scapy ? 65535 : 70000));
        CHECK_EQ_INT(s[1].hash, pattern_hash(4, 10));
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_OK);
        hf_reader_free(reader);
    }
    builder_free(&b);
}

static void test_not_captures(void)
{
    hf_reader *reader = (hf_reader *)1;
    hf_error error;
    hf_error_clear(&error);
    CHECK_EQ_INT(hf_reader_open_memory((const uint8_t *)"", 0, &reader, &error), HF_FORMAT);
    CHECK(reader == NULL);
    CHECK(strcmp(error.reason, "empty file") == 0);

    const uint8_t text[] = "GET / HTTP/1.1\r\n";
    CHECK_EQ_INT(hf_reader_open_memory(text, sizeof text - 1, &reader, &error), HF_FORMAT);
    CHECK(strstr(error.reason, "not a pcap/pcapng file (magic 0x47455420)") != NULL);

    CHECK_EQ_INT(hf_reader_open_memory(text, 3, &reader, &error), HF_FORMAT);

    /* A pcap magic with a cut file header. */
    builder b = {0};
    pcap_header(&b, 0, 1);
    CHECK_EQ_INT(hf_reader_open_memory(b.data, 20, &reader, &error), HF_FORMAT);
    CHECK(strstr(error.reason, "20 of 24") != NULL);
    /* A header alone is a valid empty capture. */
    reader = open_mem(&b, HF_OK);
    if (reader) {
        seen s[1];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 1, &end), 0);
        CHECK_EQ_INT(end, HF_EOF);
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_OK);
        hf_reader_free(reader);
    }
    builder_free(&b);

    /* pcapng whose first SHB has a bad byte-order magic or a wrong trailer: not a capture
     * (scapy: "The first SHB of the pcapng file is malformed"). */
    builder n = {0};
    ng_shb(&n);
    n.data[8] = 0x55;
    CHECK_EQ_INT(hf_reader_open_memory(n.data, n.length, &reader, &error), HF_FORMAT);
    CHECK(strstr(error.reason, "byte-order magic") != NULL);
    n.data[8] = 0x4D;
    n.data[n.length - 4] = 0x20;
    CHECK_EQ_INT(hf_reader_open_memory(n.data, n.length, &reader, &error), HF_FORMAT);
    CHECK(strstr(error.reason, "trailer") != NULL);
    builder_free(&n);

    CHECK_EQ_INT(hf_reader_open_memory(NULL, 5, &reader, &error), HF_ARGUMENT);
    CHECK_EQ_INT(hf_reader_open_memory(text, 5, NULL, &error), HF_ARGUMENT);
    hf_reader_free(NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* pcapng. */

/* Section 1 (little-endian): IDB 0 Ethernet (default tsresol 10^-6), IDB 1 RAW (101) with
 * tsresol 10^-9 and tsoffset 100 s, an unknown block, EPB on 0, EPB on 1, an NRB.
 * Section 2 (big-endian): IDB 0 LINUX_SLL (113), snaplen 100, tsresol 2^-20; SPB of wirelen 150;
 * obsolete PB on interface 0; EPB on interface 0. */
static void build_two_sections(builder *b)
{
    b->big_endian = 0;
    ng_shb(b);
    ng_idb(b, 1, 0, -1, 0);
    ng_idb(b, 101, 65535, 9, 100);
    ng_opaque(b, 0x00000BADu, 13);
    ng_epb(b, 0, 1700000000123456ull, 60, 64, 11);
    ng_epb(b, 1, 1700000000123456789ull, 41, 41, 12);
    ng_opaque(b, 4, 8); /* Name Resolution Block */
    b->big_endian = 1;
    ng_shb(b);
    ng_idb(b, 113, 100, 0x80 | 20, 0);
    ng_spb(b, 150, 100, 13);
    ng_pb(b, 0, (3ull << 20) | (1ull << 19), 30, 30, 14); /* 3.5 s */
    ng_epb(b, 0, 1ull << 20, 22, 22, 15);
}

static void test_pcapng_two_sections(void)
{
    builder b = {0};
    build_two_sections(&b);
    hf_reader *reader = open_mem(&b, HF_OK);
    if (reader) {
        CHECK_EQ_INT(hf_reader_format(reader), HF_CAPTURE_PCAPNG);
        seen s[8];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 8, &end), 5);
        CHECK_EQ_INT(end, HF_EOF);
        CHECK_EQ_INT(s[0].linktype, 1);
        CHECK_EQ_INT(s[0].caplen, 60);
        CHECK_EQ_INT(s[0].wirelen, 64);
        CHECK_EQ_INT(s[0].hash, pattern_hash(11, 60));
        CHECK_EQ_INT(s[0].timestamp_ns, 1700000000123456000ll);
        CHECK_EQ_INT(s[1].linktype, 101);
        CHECK_EQ_INT(s[1].caplen, 41);
        CHECK_EQ_INT(s[1].hash, pattern_hash(12, 41));
        CHECK_EQ_INT(s[1].timestamp_ns, 1700000100123456789ll); /* + if_tsoffset 100 s */
        CHECK_EQ_INT(s[2].linktype, 113);                       /* SPB: section 2, interface 0 */
        CHECK_EQ_INT(s[2].caplen, 100);                         /* min(150, snaplen 100) */
        CHECK_EQ_INT(s[2].wirelen, 150);
        CHECK_EQ_INT(s[2].hash, pattern_hash(13, 100));
        CHECK_EQ_INT(s[2].timestamp_ns, 0);
        CHECK_EQ_INT(s[3].linktype, 113);
        CHECK_EQ_INT(s[3].caplen, 30);
        CHECK_EQ_INT(s[3].hash, pattern_hash(14, 30));
        CHECK_EQ_INT(s[3].timestamp_ns, 3500000000ll);
        CHECK_EQ_INT(s[4].linktype, 113);
        CHECK_EQ_INT(s[4].timestamp_ns, 1000000000ll);
        CHECK_EQ_INT(s[4].index, 4);
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_OK);
        hf_reader_free(reader);
    }
    /* scapy 2.5 numbers interfaces across sections: interface 0 of section 2 is the Ethernet
     * IDB of section 1 (snaplen 0 -> SPB caplen 0). */
    reader = open_mem(&b, HF_OK);
    if (reader) {
        hf_reader_set_scapy_compat(reader, 1);
        seen s[8];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 8, &end), 5);
        CHECK_EQ_INT(s[2].linktype, 1);
        CHECK_EQ_INT(s[2].caplen, 0);
        CHECK_EQ_INT(s[3].linktype, 1);
        CHECK_EQ_INT(s[3].timestamp_ns, 3670016000ll); /* 3670016 units read as microseconds */
        CHECK_EQ_INT(s[4].linktype, 1);
        hf_reader_free(reader);
    }
    builder_free(&b);
}

static void test_pcapng_spb_without_interface_and_bad_interface(void)
{
    builder b = {0};
    ng_shb(&b);
    ng_spb(&b, 20, 20, 1);
    hf_reader *reader = open_mem(&b, HF_OK);
    if (reader) {
        seen s[1];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 1, &end), 0);
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_INVALID);
        hf_reader_free(reader);
    }
    builder_free(&b);

    ng_shb(&b);
    ng_idb(&b, 1, 0, -1, 0);
    ng_epb(&b, 0, 0, 10, 10, 1);
    ng_epb(&b, 3, 0, 10, 10, 2); /* no interface 3 */
    ng_epb(&b, 0, 0, 10, 10, 3);
    reader = open_mem(&b, HF_OK);
    if (reader) {
        seen s[3];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 3, &end), 1);
        const hf_error *damage = hf_reader_damage(reader);
        CHECK_EQ_INT(damage->status, HF_INVALID);
        CHECK_EQ_INT(damage->record_index, 1);
        CHECK(strstr(damage->reason, "interface id 3") != NULL);
        hf_reader_free(reader);
    }
    builder_free(&b);
}

static void test_pcapng_bad_block_lengths(void)
{
    /* A block length below 12. */
    builder b = {0};
    ng_shb(&b);
    ng_idb(&b, 1, 0, -1, 0);
    ng_epb(&b, 0, 0, 10, 10, 1);
    size_t bad = b.length;
    ng_epb(&b, 0, 0, 10, 10, 2);
    size_t after = b.length;
    ng_epb(&b, 0, 0, 10, 10, 3);
    set_u32(&b, bad + 4, 8);
    hf_reader *reader = open_mem(&b, HF_OK);
    if (reader) {
        seen s[3];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 3, &end), 1);
        CHECK_EQ_INT(end, HF_EOF);
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_INVALID);
        CHECK_EQ_INT(hf_reader_damage(reader)->byte_offset, (long long)bad + 4);
        hf_reader_free(reader);
    }

    /* A length running past the end of the file: the block is not delivered (scapy too). */
    set_u32(&b, bad + 4, 4000);
    b.length = after;
    reader = open_mem(&b, HF_OK);
    if (reader) {
        seen s[3];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 3, &end), 1);
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_TRUNCATED);
        hf_reader_free(reader);
    }

    /* Trailer differing from the header (the header claims 4 bytes of the next block). */
    b.length = after + 44;
    set_u32(&b, bad + 4, 48);
    reader = open_mem(&b, HF_OK);
    if (reader) {
        seen s[3];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 3, &end), 1);
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_INVALID);
        CHECK(strstr(hf_reader_damage(reader)->reason, "trailer") != NULL);
        hf_reader_free(reader);
    }
    builder_free(&b);

    /* Length 43, not a multiple of 4, with the trailer after the padding as scapy expects:
     * the specification stops; scapy reads the padding and goes on. */
    ng_shb(&b);
    ng_idb(&b, 1, 0, -1, 0);
    bad = b.length;
    ng_epb(&b, 0, 0, 10, 10, 1); /* 28 + 12 (10 padded) + 4 = 44 */
    set_u32(&b, bad + 4, 43);
    set_u32(&b, bad + 40, 43);
    ng_epb(&b, 0, 0, 10, 10, 2);
    for (int scapy = 0; scapy <= 1; scapy++) {
        reader = open_mem(&b, HF_OK);
        if (!reader) continue;
        hf_reader_set_scapy_compat(reader, scapy);
        seen s[3];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 3, &end), scapy ? 2 : 0);
        if (scapy) {
            CHECK_EQ_INT(s[0].hash, pattern_hash(1, 10));
            CHECK_EQ_INT(s[1].hash, pattern_hash(2, 10));
        }
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_INVALID);
        CHECK(strstr(hf_reader_damage(reader)->reason, "multiple of 4") != NULL);
        hf_reader_free(reader);
    }
    builder_free(&b);

    /* EPB caplen larger than its block (robust/...crash-pcapng-epb-unbounded-length):
     * specification: damage, stop; scapy: the bytes the block has, and on. */
    ng_shb(&b);
    ng_idb(&b, 1, 0, -1, 0);
    bad = b.length;
    ng_epb(&b, 0, 0, 8, 8, 1);
    set_u32(&b, bad + 20, 65536);
    ng_epb(&b, 0, 0, 10, 10, 2);
    for (int scapy = 0; scapy <= 1; scapy++) {
        reader = open_mem(&b, HF_OK);
        if (!reader) continue;
        hf_reader_set_scapy_compat(reader, scapy);
        seen s[3];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 3, &end), scapy ? 2 : 0);
        if (scapy) CHECK_EQ_INT(s[0].caplen, 8);
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_INVALID);
        hf_reader_free(reader);
    }
    builder_free(&b);

    /* Garbage after the last good block. */
    ng_shb(&b);
    ng_idb(&b, 1, 0, -1, 0);
    ng_epb(&b, 0, 0, 10, 10, 1);
    put(&b, "garbage!garbage!", 16);
    reader = open_mem(&b, HF_OK);
    if (reader) {
        seen s[3];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 3, &end), 1);
        CHECK(hf_reader_damage(reader)->status != HF_OK);
        hf_reader_free(reader);
    }
    builder_free(&b);

    /* A cut block header (5 bytes) after a good block. */
    ng_shb(&b);
    ng_idb(&b, 1, 0, -1, 0);
    ng_epb(&b, 0, 0, 10, 10, 1);
    put(&b, "\x06\x00\x00\x00\x30", 5);
    reader = open_mem(&b, HF_OK);
    if (reader) {
        seen s[3];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 3, &end), 1);
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_TRUNCATED);
        hf_reader_free(reader);
    }
    builder_free(&b);
}

static void test_pcapng_timestamp_resolutions(void)
{
    struct { int tsresol; uint64_t units; long long ns; } cases[] = {
        {0, 7, 7000000000ll},                /* 10^0: seconds */
        {3, 1500, 1500000000ll},             /* milliseconds */
        {12, 2500000000000ull, 2500000000ll}, /* picoseconds */
        {0x80 | 0, 2, 2000000000ll},         /* 2^0 */
        {0x80 | 10, 3 * 1024 + 512, 3500000000ll},
        {0x80 | 40, (5ull << 40) | (1ull << 39), 5500000000ll},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        builder b = {0};
        ng_shb(&b);
        ng_idb(&b, 1, 0, cases[i].tsresol, -2); /* tsoffset -2 s */
        ng_epb(&b, 0, cases[i].units, 4, 4, 1);
        hf_reader *reader = open_mem(&b, HF_OK);
        if (reader) {
            seen s[1];
            hf_status end;
            CHECK_EQ_INT(read_all(reader, s, 1, &end), 1);
            CHECK_EQ_INT(s[0].timestamp_ns, cases[i].ns - 2000000000ll);
            hf_reader_free(reader);
        }
        builder_free(&b);
    }
}

static void test_pcapng_large_skipped_blocks(void)
{
    /* An unknown block and a DSB larger than HF_MAX_BLOCK_LENGTH are skipped by streaming. */
    builder b = {0};
    ng_shb(&b);
    ng_idb(&b, 1, 0, -1, 0);
    ng_epb(&b, 0, 0, 10, 10, 1);
    ng_opaque(&b, 0x40000123u, HF_MAX_BLOCK_LENGTH + 1000);
    size_t dsb = ng_begin(&b, 10);
    put_u32(&b, 0x544c534bu);
    put_u32(&b, HF_MAX_BLOCK_LENGTH + 10);
    for (size_t i = 0; i < HF_MAX_BLOCK_LENGTH + 12; i++) put_u8(&b, 'k');
    ng_end(&b, dsb);
    ng_epb(&b, 0, 0, 12, 12, 2);
    hf_reader *reader = open_mem(&b, HF_OK);
    if (reader) {
        seen s[3];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 3, &end), 2);
        CHECK_EQ_INT(s[1].hash, pattern_hash(2, 12));
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_OK);
        hf_reader_free(reader);
    }
    /* The same through a gzip'ed file (the streamed path with refills). */
    char path[128];
    temp_path(path, sizeof path, "large.pcapng.gz");
    write_gzip(path, b.data, b.length);
    hf_error error;
    hf_error_clear(&error);
    CHECK_EQ_INT(hf_reader_open_path(path, &reader, &error), HF_OK);
    if (reader) {
        seen s[3];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 3, &end), 2);
        CHECK_EQ_INT(end, HF_EOF);
        CHECK_EQ_INT(s[1].hash, pattern_hash(2, 12));
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_OK);
        hf_reader_free(reader);
    }
    unlink(path);
    /* An EPB larger than HF_MAX_BLOCK_LENGTH is damage. */
    builder_free(&b);
    ng_shb(&b);
    ng_idb(&b, 1, 0, -1, 0);
    ng_epb(&b, 0, 0, HF_MAX_BLOCK_LENGTH, HF_MAX_BLOCK_LENGTH, 3);
    reader = open_mem(&b, HF_OK);
    if (reader) {
        seen s[1];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 1, &end), 0);
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_LIMIT);
        hf_reader_free(reader);
    }
    builder_free(&b);
}

/* ---------------------------------------------------------------------------------------- */
/* Files: plain, gzip, streaming through the bounded window, probe, errors. */

/* 3000 records of 40..1539 bytes (~2.4 MB, many window refills) and one of 200000 bytes
 * (the window grows past its initial 128 KiB). */
static void build_big_pcap(builder *b)
{
    pcap_header(b, 1, 1);
    for (uint32_t k = 0; k < 3000; k++) {
        uint32_t n = k == 1234 ? 200000u : 40u + (k * 7919u) % 1500u;
        pcap_record(b, k, k, n, n, k, n);
    }
}

static void check_big_pcap(hf_reader *reader)
{
    hf_record record;
    hf_error error;
    hf_error_clear(&error);
    uint32_t k = 0, bad = 0;
    hf_status status;
    while ((status = hf_reader_next(reader, &record, &error)) == HF_OK) {
        uint32_t n = k == 1234 ? 200000u : 40u + (k * 7919u) % 1500u;
        if (record.caplen != n || record.index != k || fnv1a(record.data, n) != pattern_hash(k, n) ||
            record.timestamp_ns != (int64_t)k * 1000000000 + k)
            bad++;
        k++;
    }
    CHECK_EQ_INT(status, HF_EOF);
    CHECK_EQ_INT(k, 3000);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_OK);
}

static void test_files_plain_and_gzip(void)
{
    builder b = {0};
    build_big_pcap(&b);
    char plain[128], gz[128], ng[128], nggz[128], cut[128], garbage[128], empty[128];
    temp_path(plain, sizeof plain, "big.pcap");
    temp_path(gz, sizeof gz, "big.pcap.gz");
    temp_path(ng, sizeof ng, "two.pcapng");
    temp_path(nggz, sizeof nggz, "two-pcapng.bin");
    temp_path(cut, sizeof cut, "cut.pcap.gz");
    temp_path(garbage, sizeof garbage, "garbage.pcap");
    temp_path(empty, sizeof empty, "empty.pcap");
    write_file(plain, b.data, b.length);
    write_gzip(gz, b.data, b.length);

    hf_error error;
    hf_error_clear(&error);
    hf_reader *reader = NULL;
    CHECK_EQ_INT(hf_reader_open_path(plain, &reader, &error), HF_OK);
    if (reader) {
        CHECK_EQ_INT(hf_reader_is_gzip(reader), 0);
        check_big_pcap(reader);
        hf_reader_free(reader);
    }
    CHECK_EQ_INT(hf_reader_open_path(gz, &reader, &error), HF_OK);
    if (reader) {
        CHECK_EQ_INT(hf_reader_is_gzip(reader), 1);
        CHECK_EQ_INT(hf_reader_format(reader), HF_CAPTURE_PCAP);
        check_big_pcap(reader);
        hf_reader_free(reader);
    }
    /* gzip in memory (inflate), and memory not modified. */
    size_t gz_length;
    uint8_t *gz_bytes = slurp(gz, &gz_length);
    uint8_t *gz_copy = malloc(gz_length);
    memcpy(gz_copy, gz_bytes, gz_length);
    CHECK_EQ_INT(hf_reader_open_memory(gz_bytes, gz_length, &reader, &error), HF_OK);
    if (reader) {
        CHECK_EQ_INT(hf_reader_is_gzip(reader), 1);
        check_big_pcap(reader);
        hf_reader_free(reader);
    }
    CHECK(memcmp(gz_copy, gz_bytes, gz_length) == 0);
    /* Two concatenated gzip members read as one stream (as gzread does). */
    {
        char part1[128], part2[128];
        temp_path(part1, sizeof part1, "part1.gz");
        temp_path(part2, sizeof part2, "part2.gz");
        size_t half = 24 + 16 + (40u + 0u);
        write_gzip(part1, b.data, half);
        write_gzip(part2, b.data + half, b.length - half);
        size_t n1, n2;
        uint8_t *p1 = slurp(part1, &n1), *p2 = slurp(part2, &n2);
        uint8_t *joined = malloc(n1 + n2);
        memcpy(joined, p1, n1);
        memcpy(joined + n1, p2, n2);
        CHECK_EQ_INT(hf_reader_open_memory(joined, n1 + n2, &reader, &error), HF_OK);
        if (reader) { check_big_pcap(reader); hf_reader_free(reader); }
        write_file(part1, joined, n1 + n2);
        CHECK_EQ_INT(hf_reader_open_path(part1, &reader, &error), HF_OK);
        if (reader) { check_big_pcap(reader); hf_reader_free(reader); }
        free(p1); free(p2); free(joined);
        unlink(part1); unlink(part2);
    }
    /* A gzip file cut in the middle: the records before the cut, then damage. */
    write_file(cut, gz_bytes, gz_length / 2);
    CHECK_EQ_INT(hf_reader_open_path(cut, &reader, &error), HF_OK);
    if (reader) {
        seen s[1];
        hf_status end;
        size_t n = read_all(reader, s, 1, &end);
        CHECK(n > 100 && n < 3000);
        CHECK_EQ_INT(end, HF_EOF);
        CHECK(hf_reader_damage(reader)->status != HF_OK);
        hf_reader_free(reader);
    }
    size_t cut_count[2] = {0, 0};
    uint32_t last_caplen = 0, last_expected = 0;
    for (int scapy = 0; scapy <= 1; scapy++) {
        CHECK_EQ_INT(hf_reader_open_memory(gz_bytes, gz_length / 2, &reader, &error), HF_OK);
        if (!reader) continue;
        hf_reader_set_scapy_compat(reader, scapy);
        hf_record record;
        while (hf_reader_next(reader, &record, &error) == HF_OK) {
            uint32_t k = (uint32_t)record.index;
            last_expected = k == 1234 ? 200000u : 40u + (k * 7919u) % 1500u;
            last_caplen = record.caplen;
            cut_count[scapy]++;
        }
        CHECK_EQ_INT(hf_reader_damage(reader)->status, HF_TRUNCATED);
        /* The specification mode ends with the partial record; scapy mode drops it, as
         * Python's gzip module raises EOFError from f.read(caplen). */
        if (scapy) CHECK_EQ_INT(last_caplen, last_expected);
        else CHECK(last_caplen < last_expected);
        hf_reader_free(reader);
    }
    CHECK(cut_count[0] > 100 && cut_count[0] < 3000);
    CHECK_EQ_INT(cut_count[1], cut_count[0] - 1);
    /* Corrupt deflate data right after the gzip header: no capture bytes -> HF_FORMAT. */
    {
        uint8_t corrupt[64];
        memcpy(corrupt, gz_bytes, 10);
        memset(corrupt + 10, 0xFF, sizeof corrupt - 10);
        write_file(cut, corrupt, sizeof corrupt);
        CHECK_EQ_INT(hf_reader_open_path(cut, &reader, &error), HF_FORMAT);
        CHECK_EQ_INT(hf_reader_open_memory(corrupt, sizeof corrupt, &reader, &error), HF_FORMAT);
        CHECK_EQ_INT(hf_reader_probe_path(cut, NULL, &error), HF_FORMAT);
    }
    free(gz_bytes);
    free(gz_copy);
    builder_free(&b);

    /* pcapng, plain and gzip'ed under a misleading name: decided by content. */
    build_two_sections(&b);
    write_file(ng, b.data, b.length);
    write_gzip(nggz, b.data, b.length);
    const char *paths[2] = {ng, nggz};
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(hf_reader_open_path(paths[i], &reader, &error), HF_OK);
        if (!reader) continue;
        CHECK_EQ_INT(hf_reader_format(reader), HF_CAPTURE_PCAPNG);
        CHECK_EQ_INT(hf_reader_is_gzip(reader), i);
        seen s[8];
        hf_status end;
        CHECK_EQ_INT(read_all(reader, s, 8, &end), 5);
        CHECK_EQ_INT(s[2].linktype, 113);
        CHECK_EQ_INT(s[2].hash, pattern_hash(13, 100));
        hf_reader_free(reader);
        hf_capture_format format = 0;
        CHECK_EQ_INT(hf_reader_probe_path(paths[i], &format, &error), HF_OK);
        CHECK_EQ_INT(format, HF_CAPTURE_PCAPNG);
    }
    builder_free(&b);
    hf_capture_format format = 0;
    CHECK_EQ_INT(hf_reader_probe_path(gz, &format, &error), HF_OK);
    CHECK_EQ_INT(format, HF_CAPTURE_PCAP);

    write_file(garbage, "this is not a capture", 21);
    CHECK_EQ_INT(hf_reader_open_path(garbage, &reader, &error), HF_FORMAT);
    CHECK(strstr(error.reason, "magic 0x74686973") != NULL);
    CHECK_EQ_INT(hf_reader_probe_path(garbage, &format, &error), HF_FORMAT);
    write_file(empty, "", 0);
    CHECK_EQ_INT(hf_reader_open_path(empty, &reader, &error), HF_FORMAT);
    CHECK(strcmp(error.reason, "empty file") == 0);
    CHECK_EQ_INT(hf_reader_probe_path(empty, &format, &error), HF_FORMAT);
    CHECK(strcmp(error.reason, "empty file") == 0);
    /* Short files: the plain read(2) probe and the open path say what zlib's reading said. */
    write_file(garbage, "\x1f", 1);   /* half a gzip magic is plain */
    CHECK_EQ_INT(hf_reader_probe_path(garbage, &format, &error), HF_FORMAT);
    CHECK(strcmp(error.reason, "not a pcap/pcapng file (1 bytes)") == 0);
    CHECK_EQ_INT(hf_reader_open_path(garbage, &reader, &error), HF_FORMAT);
    CHECK(strcmp(error.reason, "not a pcap/pcapng file (1 bytes, first 0x1f)") == 0);
    write_file(garbage, "\x1f\x8b", 2);   /* the gzip magic alone: a cut gzip stream */
    CHECK_EQ_INT(hf_reader_probe_path(garbage, &format, &error), HF_FORMAT);
    CHECK(strcmp(error.reason, "empty file") == 0);
    CHECK_EQ_INT(hf_reader_open_path(garbage, &reader, &error), HF_FORMAT);
    CHECK(strcmp(error.reason, "not a capture file (gzip stream ends early)") == 0);
    write_file(garbage, "\xd4\xc3\xb2", 3);
    CHECK_EQ_INT(hf_reader_probe_path(garbage, &format, &error), HF_FORMAT);
    CHECK(strcmp(error.reason, "not a pcap/pcapng file (3 bytes)") == 0);

    char missing[128];
    temp_path(missing, sizeof missing, "does-not-exist.pcap");
    hf_error_clear(&error);
    CHECK_EQ_INT(hf_reader_open_path(missing, &reader, &error), HF_NOTFOUND);
    CHECK(reader == NULL);
    CHECK_EQ_INT(error.os_errno, ENOENT);
    CHECK_EQ_INT(hf_reader_probe_path(missing, &format, &error), HF_NOTFOUND);
    hf_error_clear(&error);
    CHECK_EQ_INT(hf_reader_open_path(temp_directory, &reader, &error), HF_IO);
    CHECK_EQ_INT(error.os_errno, EISDIR);
    CHECK_EQ_INT(hf_reader_open_path(NULL, &reader, &error), HF_ARGUMENT);

    unlink(plain); unlink(gz); unlink(ng); unlink(nggz); unlink(cut); unlink(garbage); unlink(empty);
}

/* ---------------------------------------------------------------------------------------- */
/* Allocation failures: every countdown either succeeds fully or fails with HF_NOMEM. */

static int read_under_countdown(const builder *b, const char *path, long n, int *nomem_seen)
{
    hf_alloc_fail_after(n);
    hf_reader *reader = NULL;
    hf_error error;
    hf_error_clear(&error);
    hf_status status = path ? hf_reader_open_path(path, &reader, &error)
                            : hf_reader_open_memory(b->data, b->length, &reader, &error);
    size_t count = 0;
    if (status == HF_OK) {
        hf_record record;
        while ((status = hf_reader_next(reader, &record, &error)) == HF_OK) count++;
        if (status == HF_EOF) status = HF_OK;
    } else {
        CHECK(reader == NULL);
    }
    hf_reader_free(reader);
    hf_alloc_fail_after(-1);
    if (status == HF_NOMEM) *nomem_seen = 1;
    CHECK(status == HF_OK || status == HF_NOMEM);
    return status == HF_OK ? (int)count : -1;
}

static void test_allocation_failures(void)
{
    /* pcapng with 40 interfaces (the interface array grows several times). */
    builder ng = {0};
    ng_shb(&ng);
    for (int i = 0; i < 40; i++) ng_idb(&ng, (uint16_t)i, 0, -1, 0);
    for (uint32_t i = 0; i < 40; i++) ng_epb(&ng, i, 0, 20, 20, i);
    builder big = {0};
    build_big_pcap(&big);
    char gz[128], plain[128];
    temp_path(gz, sizeof gz, "alloc.pcapng.gz");
    temp_path(plain, sizeof plain, "alloc.pcap");
    write_gzip(gz, ng.data, ng.length);
    write_file(plain, big.data, big.length);
    size_t gz_length;
    uint8_t *gz_bytes = slurp(gz, &gz_length);
    builder gzmem = {gz_bytes, gz_length, gz_length, 0};

    struct { const builder *b; const char *path; int expected; const char *name; } cases[] = {
        {&ng, NULL, 40, "pcapng memory"},
        {&gzmem, NULL, 40, "pcapng.gz memory"},
        {NULL, gz, 40, "pcapng.gz file"},
        {NULL, plain, 3000, "big pcap file"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int nomem_seen = 0, succeeded_at = -1;
        for (long n = 0; n < 64; n++) {
            int count = read_under_countdown(cases[c].b, cases[c].path, n, &nomem_seen);
            if (count >= 0) {
                CHECK_EQ_INT(count, cases[c].expected);
                if (succeeded_at < 0) succeeded_at = (int)n;
            }
        }
        CHECK(nomem_seen);
        CHECK(succeeded_at > 0);
        printf("allocation countdown %-18s: HF_NOMEM for n < %d, then success\n", cases[c].name,
               succeeded_at);
    }
    unlink(gz);
    unlink(plain);
    free(gz_bytes);
    builder_free(&ng);
    builder_free(&big);
}

/* ---------------------------------------------------------------------------------------- */
/* The shared corpus (../shared/pcaps), if present. */

typedef struct corpus_summary {
    int files, read, format, failures, damaged;
    unsigned long long records;
} corpus_summary;

static void corpus_file(const char *path, corpus_summary *summary)
{
    summary->files++;
    hf_reader *reader = NULL;
    hf_error error;
    hf_error_clear(&error);
    hf_status status = hf_reader_open_path(path, &reader, &error);
    if (status == HF_FORMAT) {
        summary->format++;
        return;
    }
    if (status != HF_OK) {
        summary->failures++;
        fprintf(stderr, "corpus: %s: %s %s\n", path, hf_status_name(status), error.reason);
        return;
    }
    hf_reader_set_scapy_compat(reader, 1);
    hf_record record;
    unsigned long long n = 0;
    while ((status = hf_reader_next(reader, &record, &error)) == HF_OK) {
        n++;
        if (record.caplen > HF_SCAPY_MTU) summary->failures++;
    }
    if (status != HF_EOF) {
        summary->failures++;
        fprintf(stderr, "corpus: %s: %s %s\n", path, hf_status_name(status), error.reason);
    }
    summary->read++;
    summary->records += n;
    if (hf_reader_damage(reader)->status != HF_OK) summary->damaged++;
    hf_reader_free(reader);
}

static void corpus_walk(const char *directory, corpus_summary *summary)
{
    DIR *dir = opendir(directory);
    if (!dir) return;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", directory, entry->d_name);
        struct stat info;
        if (stat(path, &info) != 0) continue;
        if (S_ISDIR(info.st_mode)) corpus_walk(path, summary);
        else if (S_ISREG(info.st_mode)) corpus_file(path, summary);
    }
    closedir(dir);
}

/* Counts and caplens scapy 2.5 gives (RawPcapReader/RawPcapNgReader, records cut to MTU). */
static void corpus_known(const char *name, int expected_count, long last_caplen,
                         hf_status expected_damage)
{
    char path[512];
    snprintf(path, sizeof path, "../shared/pcaps/%s", name);
    struct stat info;
    if (stat(path, &info) != 0) return;
    hf_reader *reader = NULL;
    hf_error error;
    hf_error_clear(&error);
    hf_status status = hf_reader_open_path(path, &reader, &error);
    if (expected_count < 0) {
        CHECK_EQ_INT(status, HF_FORMAT);
        return;
    }
    CHECK_EQ_INT(status, HF_OK);
    if (!reader) return;
    hf_reader_set_scapy_compat(reader, 1);
    seen s[1];
    hf_record record;
    int n = 0;
    long last = -1;
    while (hf_reader_next(reader, &record, &error) == HF_OK) {
        n++;
        last = record.caplen;
    }
    (void)s;
    if (n != expected_count || last != last_caplen)
        fprintf(stderr, "corpus: %s: %d records, last %ld\n", name, n, last);
    CHECK_EQ_INT(n, expected_count);
    CHECK_EQ_INT(last, last_caplen);
    CHECK_EQ_INT(hf_reader_damage(reader)->status, expected_damage);
    hf_reader_free(reader);
}

static void test_shared_corpus(void)
{
    struct stat info;
    if (stat("../shared/pcaps", &info) != 0 || !S_ISDIR(info.st_mode)) {
        printf("shared corpus: ../shared/pcaps absent, skipped\n");
        return;
    }
    corpus_summary summary = {0};
    corpus_walk("../shared/pcaps", &summary);
    printf("shared corpus: %d files: %d read (%llu records, %d with damage), %d not captures "
           "(HF_FORMAT), %d failures\n",
           summary.files, summary.read, summary.records, summary.damaged, summary.format,
           summary.failures);
    CHECK_EQ_INT(summary.failures, 0);
    CHECK(summary.read > 0);

    corpus_known("robust/debian__pcapfix__usr__share__doc__pcapfix__examples__test_damaged.pcap",
                 2, 8756, HF_TRUNCATED);
    corpus_known("robust/debian__pcapfix__usr__share__doc__pcapfix__examples__"
                 "test_without_pcap_header.pcap", -1, 0, HF_OK);
    corpus_known("robust/libpcap__tests__pcap-invalid-version-1.pcap", 1, 490, HF_UNSUPPORTED);
    corpus_known("robust/libpcap__tests__pcapng-invalid-vers-2.pcapng", 1, 142, HF_UNSUPPORTED);
    corpus_known("robust/libpcap__tests__shb-option-too-long.pcapng", -1, 0, HF_OK);
    corpus_known("robust/pcapng-test-generator__output_be__difficult__test202.pcapng", 8, 168,
                 HF_OK);
    corpus_known("robust/pcapplusplus__Tests__Fuzzers__RegressionTests__regression_samples__"
                 "crash-pcapng-epb-unbounded-length", 1, 0, HF_INVALID);
    corpus_known("robust/pcapplusplus__Tests__Fuzzers__RegressionTests__regression_samples__"
                 "radiuslayer", 6, 16, HF_LIMIT);
    corpus_known("robust/zeek__testing__btest__Traces__trunc__mpls-6in6-broken.pcap.gz", 1811, 128,
                 HF_OK);
    corpus_known("robust/pcapplusplus__Tests__Pcap++Test__PcapExamples__many_interfaces-1.pcapng",
                 64, 195, HF_OK);
}

int main(void)
{
    snprintf(temp_directory, sizeof temp_directory, "/tmp/hf_test_reader.XXXXXX");
    if (mkdtemp(temp_directory) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    test_pcap_byte_orders_and_resolutions();
    test_pcap_linktype_fcs_bits();
    test_pcap_version_read_anyway();
    test_pcap_truncated_last_record();
    test_pcap_truncated_record_header();
    test_pcap_absurd_caplen();
    test_scapy_mtu_cut();
    test_not_captures();
    test_pcapng_two_sections();
    test_pcapng_spb_without_interface_and_bad_interface();
    test_pcapng_bad_block_lengths();
    test_pcapng_timestamp_resolutions();
    test_pcapng_large_skipped_blocks();
    test_files_plain_and_gzip();
    test_allocation_failures();
    test_shared_corpus();
    rmdir(temp_directory);
    return CHECK_REPORT();
}
