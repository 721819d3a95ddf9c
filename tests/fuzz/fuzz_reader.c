/*
 * fuzz_reader.c -- libFuzzer harness for the capture reader (reader.h), fed from memory.
 *
 * Input: any bytes, read as a capture file with hf_reader_open_memory in both behaviours
 * (specifications and scapy 2.5 compatibility).  Then, if the input is not already gzip, the same
 * bytes gzip-compressed in memory: the reader must deliver exactly the same records from the
 * compressed stream (a complete gzip stream is transparent; only a cut or corrupt one may differ).
 *
 * Contracts checked besides the sanitizers (reader.h): every record's bytes are readable; caplen
 * <= HF_MAX_RECORD_LENGTH (scapy mode: <= HF_SCAPY_MTU); record indices strictly increase;
 * hf_reader_record_count equals the records delivered; after HF_EOF the reader stays at HF_EOF;
 * damage statuses are the four documented ones; open failures are HF_FORMAT (or HF_NOMEM).
 */
#include <string.h>
#include <zlib.h>

#include "fuzz_common.h"
#include "reader.h"

/* Up to this many records are summarised for the plain/gzip comparison. */
#define MAX_COMPARED 4096

typedef struct summary {
    hf_status open_status;
    uint64_t count;
    uint32_t caplen[MAX_COMPARED];
    uint32_t linktype[MAX_COMPARED];
    uint32_t crc[MAX_COMPARED];
    hf_status damage;
} summary;

static void read_all(const uint8_t *data, size_t size, int scapy, summary *s)
{
    memset(s, 0, sizeof *s);
    hf_reader *reader = NULL;
    hf_error error;
    hf_error_clear(&error);
    s->open_status = hf_reader_open_memory(data, size, &reader, &error);
    if (s->open_status != HF_OK) {
        FUZZ_CHECK(reader == NULL);
        FUZZ_CHECK(s->open_status == HF_FORMAT || s->open_status == HF_NOMEM);
        FUZZ_CHECK(memchr(error.reason, '\0', HF_ERROR_REASON_MAX) != NULL);
        return;
    }
    FUZZ_CHECK(reader != NULL);
    hf_reader_set_scapy_compat(reader, scapy);
    hf_capture_format format = hf_reader_format(reader);
    FUZZ_CHECK(format == HF_CAPTURE_PCAP || format == HF_CAPTURE_PCAPNG);
    uint64_t last_index = 0;
    hf_status status;
    hf_record record;
    while ((status = hf_reader_next(reader, &record, &error)) == HF_OK) {
        FUZZ_CHECK(record.caplen <= HF_MAX_RECORD_LENGTH);
        if (scapy) FUZZ_CHECK(record.caplen <= HF_SCAPY_MTU);
        FUZZ_CHECK(record.data != NULL || record.caplen == 0);
        FUZZ_CHECK(s->count == 0 || record.index > last_index);
        last_index = record.index;
        /* touch every byte (ASan checks the reads) */
        uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
        if (record.caplen) crc = (uint32_t)crc32(crc, record.data, record.caplen);
        if (s->count < MAX_COMPARED) {
            s->caplen[s->count] = record.caplen;
            s->linktype[s->count] = record.linktype;
            s->crc[s->count] = crc;
        }
        s->count++;
    }
    FUZZ_CHECK(status == HF_EOF || status == HF_IO || status == HF_NOMEM);
    FUZZ_CHECK(hf_reader_next(reader, &record, &error) == HF_EOF);
    FUZZ_CHECK(hf_reader_record_count(reader) == s->count);
    const hf_error *damage = hf_reader_damage(reader);
    FUZZ_CHECK(damage != NULL);
    s->damage = damage->status;
    FUZZ_CHECK(damage->status == HF_OK || damage->status == HF_TRUNCATED ||
               damage->status == HF_LIMIT || damage->status == HF_INVALID ||
               damage->status == HF_UNSUPPORTED);
    FUZZ_CHECK(memchr(damage->reason, '\0', HF_ERROR_REASON_MAX) != NULL);
    hf_reader_free(reader);
}

/* gzip-compress `data` (level 1) into a malloc'd buffer; NULL when zlib fails. */
static uint8_t *gzip_bytes(const uint8_t *data, size_t size, size_t *out_size)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t bound = deflateBound(&z, (uLong)size) + 64;
    uint8_t *out = malloc(bound);
    if (!out) { deflateEnd(&z); return NULL; }
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    *out_size = bound - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) { free(out); return NULL; }
    return out;
}

static summary plain_s, gzip_s;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int scapy = 0; scapy <= 1; scapy++) {
        read_all(data, size, scapy, &plain_s);
        int is_gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
        if (is_gzip || size == 0 || size > (1u << 20)) continue;
        size_t gz_size = 0;
        uint8_t *gz = gzip_bytes(data, size, &gz_size);
        if (!gz) continue;
        read_all(gz, gz_size, scapy, &gzip_s);
        free(gz);
        /* A complete gzip stream must be transparent. */
        FUZZ_CHECK(gzip_s.open_status == plain_s.open_status);
        FUZZ_CHECK(gzip_s.count == plain_s.count);
        uint64_t n = plain_s.count < MAX_COMPARED ? plain_s.count : MAX_COMPARED;
        for (uint64_t i = 0; i < n; i++) {
            FUZZ_CHECK(gzip_s.caplen[i] == plain_s.caplen[i]);
            FUZZ_CHECK(gzip_s.linktype[i] == plain_s.linktype[i]);
            FUZZ_CHECK(gzip_s.crc[i] == plain_s.crc[i]);
        }
        FUZZ_CHECK(gzip_s.damage == plain_s.damage);
    }
    return 0;
}
