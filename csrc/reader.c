/*
 * reader.c -- capture files -> records (contract in reader.h).
 *
 * Normative references: the classic pcap format (pcap-savefile(5), draft-ietf-opsawg-pcap),
 * the pcapng format (draft-ietf-opsawg-pcapng, sections cited below), and for heifip 1.1.1
 * parity scapy 2.5.0 `scapy/utils.py` RawPcapReader / RawPcapNgReader (reference-semantics.md
 * §1.2: what `sniff(offline=path)` reads).  Every multi-byte field is in the byte order of the
 * file (pcap: given by the magic; pcapng: by each section's byte-order magic).
 *
 * Classic pcap file header (24 bytes)
 *   offset size  field
 *      0     4   magic: A1B2C3D4 (microsecond timestamps) or A1B23C4D (nanosecond), written in
 *                the file's byte order, so D4C3B2A1 / 4D3CB2A1 read big-endian mean little-endian
 *      4     2   version_major (2)
 *      6     2   version_minor (4)
 *      8     4   thiszone (ignored)
 *     12     4   sigfigs (ignored)
 *     16     4   snaplen (ignored: neither scapy nor we cut records to it)
 *     20     4   linktype: bits 0-15 LINKTYPE_*, 16-25 reserved, 26 FCS-present flag,
 *                28-31 FCS length in 16-bit words
 * Classic pcap record header (16 bytes), followed by caplen bytes of packet data
 *      0     4   ts_sec
 *      4     4   ts_usec, or ts_nsec with the nanosecond magic
 *      8     4   caplen (incl_len)
 *     12     4   wirelen (orig_len)
 *
 * pcapng general block (draft-ietf-opsawg-pcapng §3.1); all blocks are a multiple of 4 long
 *      0     4   block type
 *      4     4   block total length L (header and trailer included)
 *      8   L-12  block body
 *    L-4     4   block total length again
 * Section Header Block, type 0x0A0D0D0A (§4.1); a file is one or more sections
 *      8     4   byte-order magic 1A2B3C4D in the section's byte order
 *     12     2   major version (1)       14  2  minor version (0)
 *     16     8   section length (ignored: -1 when unknown)
 *     24     .   options
 * Interface Description Block, type 1 (§4.2); interfaces are numbered 0.. in their section
 *      8     2   linktype          10  2  reserved
 *     12     4   snaplen (0 = no limit)
 *     16     .   options: if_tsresol (code 9, 1 byte: bit 7 clear -> 10^-n s, set -> 2^-n s;
 *                default 10^-6), if_tsoffset (code 14, 8 bytes, signed seconds added)
 * Enhanced Packet Block, type 6 (§4.3)
 *      8     4   interface id      12  4  timestamp high    16  4  timestamp low
 *     20     4   caplen            24  4  wirelen
 *     28     .   packet data, padded to 4 bytes, then options
 * Simple Packet Block, type 3 (§4.4): interface 0, no timestamp,
 *                caplen = min(wirelen, snaplen of interface 0, block space)
 *      8     4   wirelen           12  .  packet data, padded to 4 bytes
 * Packet Block (obsolete), type 2 (Appendix A)
 *      8     2   interface id      10  2  drops count
 *     12     4   timestamp high    16  4  timestamp low
 *     20     4   caplen            24  4  wirelen          28  .  packet data, options
 * Decryption Secrets Block, type 10 (§4.7)
 *      8     4   secrets type      12  4  secrets length   16  .  secrets (padded), options
 * Options (§3.5): code (2), length (2), value padded to 4 bytes; code 0 ends the list.
 * Every other block type (NRB, ISB, custom, unknown) is skipped by its length.
 *
 * Buffering.  The input is read through one window (reader->window, [window_start,
 * window_end)).  For a plain capture in memory the window is the caller's bytes; otherwise it
 * is an owned buffer refilled by read(2) (plain regular files: straight into the window, one
 * copy), gzread (gzip files, and plain input that is not a regular file: pipes, /dev/stdin,
 * where we cannot look at the magic without consuming it) or inflate (gzip in memory).  ensure(n) makes n
 * bytes contiguous unless the input ends first, moving only the unconsumed tail; blocks larger
 * than the window that we do not need are skipped by streaming.
 */
/* open(2) with O_CLOEXEC, fstat(2): POSIX.1-2008 on top of C11. */
#define _POSIX_C_SOURCE 200809L

#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "bytes.h"

#define PCAP_FILE_HEADER_LENGTH 24u
#define PCAP_RECORD_HEADER_LENGTH 16u

#define PCAP_MAGIC_MICROSECONDS 0xA1B2C3D4u
#define PCAP_MAGIC_NANOSECONDS 0xA1B23C4Du
#define PCAP_MAGIC_MICROSECONDS_SWAPPED 0xD4C3B2A1u
#define PCAP_MAGIC_NANOSECONDS_SWAPPED 0x4D3CB2A1u

#define PCAPNG_BLOCK_SECTION_HEADER 0x0A0D0D0Au
#define PCAPNG_BLOCK_INTERFACE_DESCRIPTION 1u
#define PCAPNG_BLOCK_PACKET_OBSOLETE 2u
#define PCAPNG_BLOCK_SIMPLE_PACKET 3u
#define PCAPNG_BLOCK_ENHANCED_PACKET 6u
#define PCAPNG_BLOCK_DECRYPTION_SECRETS 10u
#define PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define PCAPNG_BYTE_ORDER_MAGIC_SWAPPED 0x4D3C2B1Au

#define PCAPNG_OPTION_END 0u
#define PCAPNG_OPTION_IF_TSRESOL 9u
#define PCAPNG_OPTION_IF_TSOFFSET 14u
#define PCAPNG_DEFAULT_TSRESOL 6u /* 10^-6 s (§4.2) */

/* Initial window; it grows (up to one maximal block) only when a block needs it. */
#define WINDOW_INITIAL_CAPACITY 131072u
/* zlib's own input buffer for gzip files. */
#define GZIP_BUFFER_LENGTH 131072u

#define NANOSECONDS_PER_SECOND 1000000000ll

typedef enum { SOURCE_MEMORY, SOURCE_GZFILE, SOURCE_INFLATE, SOURCE_FD } source_kind;

typedef struct interface_description {
    uint32_t linktype;
    uint32_t snaplen;
    uint8_t tsresol;          /* the if_tsresol byte */
    int64_t tsoffset_seconds; /* if_tsoffset */
} interface_description;

struct hf_reader {
    source_kind source;
    gzFile file;                 /* owned (SOURCE_GZFILE), closes the descriptor */
    int descriptor;              /* owned (SOURCE_FD): a plain regular file; else -1 */
    z_stream inflater;           /* SOURCE_INFLATE; owned state once inflater_ready */
    int inflater_ready;
    const uint8_t *memory;       /* borrowed input of hf_reader_open_memory */
    size_t memory_length;
    size_t memory_position;      /* SOURCE_INFLATE: next input byte not yet given to zlib */

    uint8_t *buffer;             /* owned window storage (not for SOURCE_MEMORY) */
    size_t capacity;
    const uint8_t *window;       /* memory, or buffer */
    size_t window_start;         /* first unconsumed byte */
    size_t window_end;           /* one past the last byte read */
    uint64_t window_offset;      /* input offset of window[0] */
    int source_ended;            /* the source has no more bytes */
    int source_damaged;          /* ... because the gzip stream was cut short or corrupt */

    hf_capture_format format;
    int is_gzip;
    int big_endian;              /* of the file (pcap) or current section (pcapng) */
    int scapy_compat;

    uint32_t pcap_linktype_field;
    int pcap_nanoseconds;

    interface_description *interfaces; /* owned; this section's (all sections' in scapy mode) */
    size_t interface_count;
    size_t interface_capacity;

    int finished;                /* only HF_EOF from now on */
    uint64_t record_count;
    hf_error damage;
};

/* Record the first damage of the file; later damage is ignored (reported once per file). */
#define RECORD_DAMAGE(reader, damage_status, offset, ...)                                       \
    do {                                                                                         \
        if ((reader)->damage.status == HF_OK)                                                   \
            hf_error_set(&(reader)->damage, (damage_status), (int64_t)(reader)->record_count,   \
                         (int64_t)(offset), __VA_ARGS__);                                        \
    } while (0)

/* ---------------------------------------------------------------------------------------- */
/* Byte order helpers over the bounded cursor. */

static hf_status read_u16(hf_cursor *cursor, int big_endian, uint16_t *out)
{
    return big_endian ? hf_read_be16(cursor, out) : hf_read_le16(cursor, out);
}

static hf_status read_u32(hf_cursor *cursor, int big_endian, uint32_t *out)
{
    return big_endian ? hf_read_be32(cursor, out) : hf_read_le32(cursor, out);
}

static hf_status read_u64(hf_cursor *cursor, int big_endian, uint64_t *out)
{
    uint32_t first, second;
    if (read_u32(cursor, big_endian, &first) != HF_OK) return HF_TRUNCATED;
    if (read_u32(cursor, big_endian, &second) != HF_OK) return HF_TRUNCATED;
    *out = big_endian ? ((uint64_t)first << 32) | second : ((uint64_t)second << 32) | first;
    return HF_OK;
}

/* The 32-bit field at `offset` of a header already copied out whole (offset + 4 <= its size). */
static inline uint32_t header_u32(const uint8_t *header, size_t offset, int big_endian)
{
    const uint8_t *p = header + offset;
    return big_endian ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]
                      : (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                            ((uint32_t)p[3] << 24);
}

/* ---------------------------------------------------------------------------------------- */
/* Sources. */

static voidpf zlib_allocate(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    size_t total;
    if (hf_size_mul(items, size, &total)) return Z_NULL;
    return hf_malloc(total);
}

static void zlib_release(voidpf opaque, voidpf pointer)
{
    (void)opaque;
    hf_free(pointer);
}

static uint64_t input_offset(const hf_reader *reader)
{
    return reader->window_offset + reader->window_start;
}

/* Read up to `length` bytes into `destination`.  OUT: *got (0 only when the source ended).
 * A damaged compressed stream ends the source and is recorded as damage; an operating-system
 * read error is HF_IO and an allocation failure inside zlib HF_NOMEM. */
static hf_status source_fill(hf_reader *reader, uint8_t *destination, size_t length, size_t *got,
                             hf_error *error)
{
    *got = 0;
    if (length > (size_t)INT_MAX / 2) length = (size_t)INT_MAX / 2;
    uint64_t offset = reader->window_offset + reader->window_end;
    if (reader->source == SOURCE_FD) {
        ssize_t count;
        do count = read(reader->descriptor, destination, length);
        while (count < 0 && errno == EINTR);
        if (count > 0) {
            *got = (size_t)count;
            return HF_OK;
        }
        reader->source_ended = 1;
        if (count == 0) return HF_OK;
        int saved = errno;
        hf_error_set(error, HF_IO, (int64_t)reader->record_count, (int64_t)offset,
                     "read failed: %s", strerror(saved));
        if (error) error->os_errno = saved;
        return HF_IO;
    }
    if (reader->source == SOURCE_GZFILE) {
        int count = gzread(reader->file, destination, (unsigned)length);
        if (count > 0) {
            *got = (size_t)count;
            return HF_OK;
        }
        int zlib_error = Z_OK;
        const char *message = gzerror(reader->file, &zlib_error);
        reader->source_ended = 1;
        if (zlib_error == Z_OK) return HF_OK;
        if (zlib_error == Z_ERRNO) {
            int saved = errno;
            hf_error_set(error, HF_IO, (int64_t)reader->record_count, (int64_t)offset,
                         "read failed: %s", strerror(saved));
            if (error) error->os_errno = saved;
            return HF_IO;
        }
        if (zlib_error == Z_MEM_ERROR)
            return hf_error_set(error, HF_NOMEM, (int64_t)reader->record_count, (int64_t)offset,
                                "out of memory in zlib");
        reader->source_damaged = 1;
        if (zlib_error == Z_BUF_ERROR) {
            RECORD_DAMAGE(reader, HF_TRUNCATED, offset, "gzip stream ends early");
        } else {
            RECORD_DAMAGE(reader, HF_INVALID, offset, "corrupt gzip stream: %s",
                          message ? message : "unknown zlib error");
        }
        return HF_OK;
    }
    if (HF_NEVER(reader->source != SOURCE_INFLATE)) {
        reader->source_ended = 1;
        return HF_OK;
    }
    z_stream *stream = &reader->inflater;
    stream->next_out = destination;
    stream->avail_out = (uInt)length;
    while (stream->avail_out > 0) {
        if (stream->avail_in == 0 && reader->memory_position < reader->memory_length) {
            size_t left = reader->memory_length - reader->memory_position;
            stream->next_in = (Bytef *)(uintptr_t)(reader->memory + reader->memory_position);
            stream->avail_in = left > UINT_MAX ? UINT_MAX : (uInt)left;
            reader->memory_position += stream->avail_in;
        }
        uInt before_out = stream->avail_out;
        int result = inflate(stream, Z_NO_FLUSH);
        if (result == Z_STREAM_END) {
            /* Another gzip member follows (concatenated .gz files), as gzread reads them;
             * anything else after a member is ignored, as gzread does. */
            if (stream->avail_in == 0 && reader->memory_position < reader->memory_length) {
                size_t left = reader->memory_length - reader->memory_position;
                stream->next_in = (Bytef *)(uintptr_t)(reader->memory + reader->memory_position);
                stream->avail_in = left > UINT_MAX ? UINT_MAX : (uInt)left;
                reader->memory_position += stream->avail_in;
            }
            if (stream->avail_in >= 2 && stream->next_in[0] == 0x1f && stream->next_in[1] == 0x8b) {
                if (inflateReset(stream) != Z_OK) {
                    reader->source_ended = 1;
                    break;
                }
                continue;
            }
            reader->source_ended = 1;
            break;
        }
        if (result == Z_MEM_ERROR) {
            reader->source_ended = 1;
            return hf_error_set(error, HF_NOMEM, (int64_t)reader->record_count, (int64_t)offset,
                                "out of memory in zlib");
        }
        if (result == Z_DATA_ERROR || result == Z_NEED_DICT || result == Z_STREAM_ERROR) {
            RECORD_DAMAGE(reader, HF_INVALID, offset, "corrupt gzip stream: %s",
                          stream->msg ? stream->msg : "bad data");
            reader->source_ended = 1;
            reader->source_damaged = 1;
            break;
        }
        /* Z_OK or Z_BUF_ERROR: no progress possible without more input. */
        if (stream->avail_in == 0 && reader->memory_position >= reader->memory_length &&
            stream->avail_out == before_out) {
            RECORD_DAMAGE(reader, HF_TRUNCATED, offset, "gzip stream ends early");
            reader->source_ended = 1;
            reader->source_damaged = 1;
            break;
        }
    }
    *got = length - stream->avail_out;
    return HF_OK;
}

/* Make `wanted` bytes available from window_start unless the input ends first.
 * Precondition: wanted <= HF_MAX_BLOCK_LENGTH.  OUT: *available = bytes now available (may be
 * more or, at the end of the input, fewer than wanted).  Moves the window: pointers into it
 * taken before the call are dead after it. */
static hf_status refill(hf_reader *reader, size_t wanted, size_t *available, hf_error *error);

static inline hf_status ensure(hf_reader *reader, size_t wanted, size_t *available, hf_error *error)
{
    size_t have = reader->window_end - reader->window_start;
    if (have >= wanted || reader->source_ended || reader->source == SOURCE_MEMORY) {
        *available = have;
        return HF_OK;
    }
    return refill(reader, wanted, available, error);
}

/* ensure() when the window holds fewer than `wanted` bytes and the source has more: kept out of
 * line, so that the per-record check above inlines into its callers. */
static hf_status refill(hf_reader *reader, size_t wanted, size_t *available, hf_error *error)
{
    size_t have = reader->window_end - reader->window_start;
    if (HF_NEVER(wanted > HF_MAX_BLOCK_LENGTH)) wanted = HF_MAX_BLOCK_LENGTH;
    if (reader->capacity - reader->window_start < wanted) {
        /* Move the unconsumed tail (less than one block) to the front. */
        memmove(reader->buffer, reader->buffer + reader->window_start, have);
        reader->window_offset += reader->window_start;
        reader->window_start = 0;
        reader->window_end = have;
    }
    if (reader->capacity < wanted) {
        size_t capacity = reader->capacity * 2;
        if (capacity < wanted) capacity = wanted;
        if (capacity > HF_MAX_BLOCK_LENGTH) capacity = HF_MAX_BLOCK_LENGTH;
        uint8_t *grown = hf_realloc(reader->buffer, capacity);
        if (grown == NULL)
            return hf_error_set(error, HF_NOMEM, (int64_t)reader->record_count,
                                (int64_t)input_offset(reader), "out of memory for a %zu-byte block",
                                wanted);
        reader->buffer = grown;
        reader->window = grown;
        reader->capacity = capacity;
    }
    while (reader->window_end - reader->window_start < wanted && !reader->source_ended) {
        size_t got = 0;
        hf_status status = source_fill(reader, reader->buffer + reader->window_end,
                                       reader->capacity - reader->window_end, &got, error);
        if (status != HF_OK) return status;
        reader->window_end += got;
    }
    *available = reader->window_end - reader->window_start;
    return HF_OK;
}

static void consume(hf_reader *reader, size_t length)
{
    size_t have = reader->window_end - reader->window_start;
    if (HF_NEVER(length > have)) length = have;
    reader->window_start += length;
}

/* Consume `length` bytes, refilling as needed, without keeping them.
 * OUT: *skipped = bytes actually skipped (fewer when the input ends). */
static hf_status skip_stream(hf_reader *reader, uint64_t length, uint64_t *skipped,
                             hf_error *error)
{
    *skipped = 0;
    while (*skipped < length) {
        uint64_t left = length - *skipped;
        size_t chunk = left > WINDOW_INITIAL_CAPACITY ? WINDOW_INITIAL_CAPACITY : (size_t)left;
        size_t available;
        hf_status status = ensure(reader, chunk, &available, error);
        if (status != HF_OK) return status;
        if (available == 0) break;
        size_t take = available < chunk ? available : chunk;
        consume(reader, take);
        *skipped += take;
    }
    return HF_OK;
}

static hf_cursor window_cursor(const hf_reader *reader, size_t length)
{
    size_t have = reader->window_end - reader->window_start;
    return hf_cursor_make(reader->window + reader->window_start, length < have ? length : have);
}

static hf_status stop(hf_reader *reader)
{
    reader->finished = 1;
    return HF_EOF;
}

/* ---------------------------------------------------------------------------------------- */
/* Timestamps. */

static int64_t saturating_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
    return a + b;
}

static uint64_t power_of_ten(unsigned exponent) /* exponent <= 19 */
{
    uint64_t value = 1;
    while (exponent--) value *= 10;
    return value;
}

/* `units` of 10^-n or 2^-n seconds (if_tsresol, §4.2) plus if_tsoffset seconds -> ns. */
static int64_t pcapng_timestamp_ns(uint64_t units, const interface_description *interface)
{
    unsigned exponent = interface->tsresol & 0x7fu;
    uint64_t seconds, fraction_ns;
    if (interface->tsresol & 0x80u) {
        if (exponent >= 64) {
            seconds = 0;
            fraction_ns = exponent - 34 >= 64 ? 0 : ((units >> (exponent - 34)) * 1000000000ull) >> 34;
        } else {
            seconds = units >> exponent;
            uint64_t fraction = exponent ? units & ((UINT64_C(1) << exponent) - 1) : 0;
            /* fraction < 2^34 keeps fraction * 10^9 below 2^64. */
            if (exponent <= 34)
                fraction_ns = (fraction * 1000000000ull) >> exponent;
            else
                fraction_ns = ((fraction >> (exponent - 34)) * 1000000000ull) >> 34;
        }
    } else if (exponent <= 19) {
        uint64_t divisor = power_of_ten(exponent);
        seconds = units / divisor;
        uint64_t remainder = units % divisor;
        fraction_ns = exponent <= 9 ? remainder * power_of_ten(9 - exponent)
                                    : remainder / power_of_ten(exponent - 9);
    } else {
        seconds = 0;
        fraction_ns = exponent - 9 <= 19 ? units / power_of_ten(exponent - 9) : 0;
    }
    int64_t ns;
    if (seconds > (uint64_t)(INT64_MAX - (int64_t)fraction_ns) / (uint64_t)NANOSECONDS_PER_SECOND)
        ns = INT64_MAX;
    else
        ns = (int64_t)seconds * NANOSECONDS_PER_SECOND + (int64_t)fraction_ns;
    int64_t offset = interface->tsoffset_seconds;
    int64_t offset_ns;
    if (offset > INT64_MAX / NANOSECONDS_PER_SECOND) offset_ns = INT64_MAX;
    else if (offset < INT64_MIN / NANOSECONDS_PER_SECOND) offset_ns = INT64_MIN;
    else offset_ns = offset * NANOSECONDS_PER_SECOND;
    return saturating_add(ns, offset_ns);
}

/* ---------------------------------------------------------------------------------------- */
/* Classic pcap. */

static hf_status pcap_open(hf_reader *reader, uint32_t magic, hf_error *error)
{
    size_t available;
    hf_status status = ensure(reader, PCAP_FILE_HEADER_LENGTH, &available, error);
    if (status != HF_OK) return status;
    if (available < PCAP_FILE_HEADER_LENGTH)
        return hf_error_set(error, HF_FORMAT, -1, (int64_t)available,
                            "pcap file header cut short (%zu of 24 bytes)%s%s", available,
                            reader->damage.status ? ": " : "", reader->damage.reason);
    reader->format = HF_CAPTURE_PCAP;
    reader->big_endian = magic == PCAP_MAGIC_MICROSECONDS || magic == PCAP_MAGIC_NANOSECONDS;
    reader->pcap_nanoseconds = magic == PCAP_MAGIC_NANOSECONDS || magic == PCAP_MAGIC_NANOSECONDS_SWAPPED;
    hf_cursor cursor = window_cursor(reader, PCAP_FILE_HEADER_LENGTH);
    uint16_t major = 0, minor = 0;
    uint32_t ignored = 0;
    (void)hf_skip(&cursor, 4);
    (void)read_u16(&cursor, reader->big_endian, &major);
    (void)read_u16(&cursor, reader->big_endian, &minor);
    (void)read_u32(&cursor, reader->big_endian, &ignored); /* thiszone */
    (void)read_u32(&cursor, reader->big_endian, &ignored); /* sigfigs */
    (void)read_u32(&cursor, reader->big_endian, &ignored); /* snaplen */
    (void)read_u32(&cursor, reader->big_endian, &reader->pcap_linktype_field);
    /* scapy 2.5 never looks at the version (RawPcapReader.__init__), so files libpcap calls
     * "archaic" or "unsupported" (robust/libpcap__tests__pcap-invalid-version-*.pcap) are read
     * with the 2.4 layout; we do the same and say so in the damage record. */
    if (major != 2 || minor > 4)
        RECORD_DAMAGE(reader, HF_UNSUPPORTED, 4, "pcap version %u.%u read as 2.4", major, minor);
    consume(reader, PCAP_FILE_HEADER_LENGTH);
    return HF_OK;
}

static hf_status pcap_next(hf_reader *reader, hf_record *out, hf_error *error)
{
    size_t available;
    uint64_t offset = input_offset(reader);
    hf_status status = ensure(reader, PCAP_RECORD_HEADER_LENGTH, &available, error);
    if (status != HF_OK) return status;
    if (available == 0) return stop(reader);
    if (available < PCAP_RECORD_HEADER_LENGTH) {
        /* scapy: `if len(hdr) < 16: raise EOFError` (reference-semantics.md §1.2). */
        RECORD_DAMAGE(reader, HF_TRUNCATED, offset, "record header cut short (%zu of 16 bytes)",
                      available);
        return stop(reader);
    }
    /* The header in one bounds check, then its four fields from the copy (four checked reads
     * with a byte-order branch each were a fifth of the reader's own time per record). */
    hf_cursor cursor = window_cursor(reader, PCAP_RECORD_HEADER_LENGTH);
    uint8_t header[PCAP_RECORD_HEADER_LENGTH];
    if (HF_NEVER(hf_read_copy(&cursor, sizeof header, header) != HF_OK)) return stop(reader);
    uint32_t seconds = header_u32(header, 0, reader->big_endian);
    uint32_t fraction = header_u32(header, 4, reader->big_endian);
    uint32_t caplen = header_u32(header, 8, reader->big_endian);
    uint32_t wirelen = header_u32(header, 12, reader->big_endian);

    uint32_t wanted = caplen;
    int last = 0;
    if (caplen > HF_MAX_RECORD_LENGTH) {
        RECORD_DAMAGE(reader, HF_LIMIT, offset + 8, "record claims %u bytes (limit %u)", caplen,
                      HF_MAX_RECORD_LENGTH);
        if (!reader->scapy_compat) return stop(reader);
        /* scapy reads f.read(caplen): in a damaged file that is the rest of the file, delivered
         * as one last record (robust/ clusterfuzz-* files).  We deliver at most the limit. */
        wanted = HF_MAX_RECORD_LENGTH;
        last = 1;
    }
    status = ensure(reader, PCAP_RECORD_HEADER_LENGTH + (size_t)wanted, &available, error);
    if (status != HF_OK) return status;
    size_t present = available - PCAP_RECORD_HEADER_LENGTH;
    if (present < wanted) {
        /* scapy returns the short read of a truncated last record (reference-semantics.md
         * §1.2); libpcap would drop it. */
        RECORD_DAMAGE(reader, HF_TRUNCATED, offset + PCAP_RECORD_HEADER_LENGTH + present,
                      "record data cut short (%zu of %u bytes)", present, caplen);
        /* Python's gzip module raises EOFError (cut stream) or BadGzipFile (corrupt stream)
         * from f.read(caplen) instead of returning the short read, so scapy loses the record. */
        if (reader->scapy_compat && reader->source_damaged) return stop(reader);
        wanted = (uint32_t)present;
        last = 1;
    }
    out->data = reader->window + reader->window_start + PCAP_RECORD_HEADER_LENGTH;
    out->caplen = wanted;
    out->wirelen = wirelen;
    out->timestamp_ns = (int64_t)seconds * NANOSECONDS_PER_SECOND +
                        (int64_t)fraction * (reader->pcap_nanoseconds ? 1 : 1000);
    /* LT_LINKTYPE(): the upper 16 bits carry FCS information and reserved bits.  scapy looks
     * the whole field up (conf.l2types.num2layer[linktype]), so in scapy mode a set upper bit
     * makes the record an unknown link type, i.e. Raw. */
    out->linktype = reader->scapy_compat ? reader->pcap_linktype_field
                                         : reader->pcap_linktype_field & 0xFFFFu;
    consume(reader, PCAP_RECORD_HEADER_LENGTH + (size_t)wanted);
    if (last) reader->finished = 1;
    return HF_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* pcapng. */

/* Read one block's total length and the padded length it occupies.  Returns HF_OK, or HF_EOF
 * after recording damage (a length below `minimum`; not a multiple of 4 outside scapy mode). */
static hf_status pcapng_block_length(hf_reader *reader, uint32_t length, uint32_t minimum,
                                     uint64_t offset, uint64_t *occupied)
{
    if (length < minimum) {
        RECORD_DAMAGE(reader, HF_INVALID, offset + 4, "pcapng block length %u below %u", length,
                      minimum);
        return stop(reader);
    }
    *occupied = length;
    if (length % 4) {
        RECORD_DAMAGE(reader, HF_INVALID, offset + 4, "pcapng block length %u not a multiple of 4",
                      length);
        if (!reader->scapy_compat) return stop(reader);
        /* scapy's _read_block_tail reads the missing padding and goes on. */
        *occupied = (uint64_t)length + (4 - length % 4);
    }
    return HF_OK;
}

/* After the first `consumed` bytes of a block occupying `occupied` bytes have been consumed,
 * skip to its trailer and check it.  HF_OK, HF_EOF (damage recorded) or a failure. */
static hf_status pcapng_finish_streamed_block(hf_reader *reader, uint64_t offset, uint32_t length,
                                              uint64_t occupied, uint64_t consumed,
                                              hf_error *error)
{
    uint64_t skipped;
    hf_status status = skip_stream(reader, occupied - 4 - consumed, &skipped, error);
    if (status != HF_OK) return status;
    size_t available = 0;
    if (skipped == occupied - 4 - consumed) {
        status = ensure(reader, 4, &available, error);
        if (status != HF_OK) return status;
    }
    if (available < 4) {
        RECORD_DAMAGE(reader, HF_TRUNCATED, offset, "pcapng block of %u bytes cut short", length);
        return stop(reader);
    }
    hf_cursor cursor = window_cursor(reader, 4);
    uint32_t trailer = 0;
    (void)read_u32(&cursor, reader->big_endian, &trailer);
    if (trailer != length) {
        RECORD_DAMAGE(reader, HF_INVALID, offset + occupied - 4,
                      "pcapng block trailer length %u differs from %u", trailer, length);
        return stop(reader);
    }
    consume(reader, 4);
    return HF_OK;
}

/* Section Header Block (§4.1) at the window position.  HF_OK, HF_EOF with damage recorded
 * (the caller turns that into HF_FORMAT for the first block), or a failure. */
static hf_status pcapng_read_section_header(hf_reader *reader, hf_error *error)
{
    uint64_t offset = input_offset(reader);
    size_t available;
    hf_status status = ensure(reader, 24, &available, error);
    if (status != HF_OK) return status;
    if (available < 12) {
        RECORD_DAMAGE(reader, HF_TRUNCATED, offset, "section header block cut short (%zu bytes)",
                      available);
        return stop(reader);
    }
    hf_cursor cursor = window_cursor(reader, available < 24 ? available : 24);
    uint32_t byte_order = 0, length_field = 0;
    (void)hf_skip(&cursor, 8);
    (void)hf_read_be32(&cursor, &byte_order);
    int big_endian;
    if (byte_order == PCAPNG_BYTE_ORDER_MAGIC) big_endian = 1;
    else if (byte_order == PCAPNG_BYTE_ORDER_MAGIC_SWAPPED) big_endian = 0;
    else {
        RECORD_DAMAGE(reader, HF_INVALID, offset + 8,
                      "bad byte-order magic 0x%08x in section header block", byte_order);
        return stop(reader);
    }
    hf_cursor length_cursor = window_cursor(reader, 8);
    (void)hf_skip(&length_cursor, 4);
    (void)read_u32(&length_cursor, big_endian, &length_field);
    /* scapy accepts any SHB of at least 16 bytes (_read_block_shb); the format needs 28. */
    uint64_t occupied;
    status = pcapng_block_length(reader, length_field, reader->scapy_compat ? 16 : 28, offset,
                                 &occupied);
    if (status != HF_OK) return status;
    size_t prefix = 12;
    if (length_field >= 28 && available >= 16) {
        uint16_t major = 0, minor = 0;
        (void)read_u16(&cursor, big_endian, &major);
        (void)read_u16(&cursor, big_endian, &minor);
        prefix = 16;
        /* scapy does not check the version (robust/libpcap__tests__pcapng-invalid-vers-*,
         * gopacket test901 with a 2.0 section): read on, noting it. */
        if (major != 1 || (minor != 0 && minor != 2))
            RECORD_DAMAGE(reader, HF_UNSUPPORTED, offset + 12, "pcapng version %u.%u read as 1.0",
                          major, minor);
    }
    consume(reader, prefix);
    reader->big_endian = big_endian;
    status = pcapng_finish_streamed_block(reader, offset, length_field, occupied, prefix, error);
    if (status != HF_OK) return status;
    /* A new section numbers its interfaces from 0 again (§4.2).  scapy 2.5 keeps appending to
     * one list for the whole file, so in scapy mode ids index every IDB read so far. */
    if (!reader->scapy_compat) reader->interface_count = 0;
    return HF_OK;
}

static const interface_description *pcapng_interface(const hf_reader *reader, uint32_t id)
{
    return id < reader->interface_count ? &reader->interfaces[id] : NULL;
}

/* Interface Description Block body (§4.2).  HF_OK, HF_EOF with damage, or HF_NOMEM. */
static hf_status pcapng_add_interface(hf_reader *reader, hf_cursor body, uint64_t offset,
                                      hf_error *error)
{
    interface_description interface = {0, 0, PCAPNG_DEFAULT_TSRESOL, 0};
    uint16_t linktype = 0, reserved = 0;
    if (!hf_cursor_has(&body, 8)) {
        RECORD_DAMAGE(reader, HF_TRUNCATED, offset, "interface description block too short");
        return stop(reader);
    }
    (void)read_u16(&body, reader->big_endian, &linktype);
    (void)read_u16(&body, reader->big_endian, &reserved);
    (void)read_u32(&body, reader->big_endian, &interface.snaplen);
    interface.linktype = linktype;
    while (hf_cursor_remaining(&body) >= 4) {
        uint16_t code = 0, length = 0;
        (void)read_u16(&body, reader->big_endian, &code);
        (void)read_u16(&body, reader->big_endian, &length);
        if (code == PCAPNG_OPTION_END) break;
        int believed;
        hf_cursor value = hf_cursor_narrow(&body, length, &believed);
        if (!believed) {
            /* Options only change timestamps: note the damage, keep the interface. */
            RECORD_DAMAGE(reader, HF_INVALID, offset, "option %u runs past its block", code);
            break;
        }
        if (code == PCAPNG_OPTION_IF_TSRESOL && length >= 1) {
            (void)hf_read_u8(&value, &interface.tsresol);
        } else if (code == PCAPNG_OPTION_IF_TSOFFSET && length == 8) {
            uint64_t seconds = 0;
            (void)read_u64(&value, reader->big_endian, &seconds);
            interface.tsoffset_seconds = (int64_t)seconds;
        }
        size_t padded = ((size_t)length + 3u) & ~(size_t)3u;
        if (hf_skip(&body, padded) != HF_OK) break;
    }
    if (reader->interface_count >= HF_MAX_INTERFACES) {
        RECORD_DAMAGE(reader, HF_LIMIT, offset, "more than %u interfaces", HF_MAX_INTERFACES);
        return stop(reader);
    }
    if (reader->interface_count == reader->interface_capacity) {
        size_t capacity = reader->interface_capacity ? reader->interface_capacity * 2 : 4;
        interface_description *grown =
            hf_realloc(reader->interfaces, capacity * sizeof *reader->interfaces);
        if (grown == NULL)
            return hf_error_set(error, HF_NOMEM, (int64_t)reader->record_count, (int64_t)offset,
                                "out of memory for interface descriptions");
        reader->interfaces = grown;
        reader->interface_capacity = capacity;
    }
    reader->interfaces[reader->interface_count++] = interface;
    return HF_OK;
}

/* EPB (§4.3), SPB (§4.4) or obsolete PB (Appendix A) body -> *out.  HF_OK or HF_EOF (damage). */
static hf_status pcapng_packet(hf_reader *reader, uint32_t type, hf_cursor body, uint64_t offset,
                               hf_record *out)
{
    const interface_description *interface;
    uint32_t caplen = 0, wirelen = 0, high = 0, low = 0, id32 = 0;
    int has_timestamp = 1;
    if (type == PCAPNG_BLOCK_SIMPLE_PACKET) {
        /* "all the Simple Packet Blocks have been captured on the interface previously
         * specified in the first Interface Description Block" (§4.4). */
        interface = pcapng_interface(reader, 0);
        if (interface == NULL) {
            RECORD_DAMAGE(reader, HF_INVALID, offset, "simple packet block before any interface");
            return stop(reader);
        }
        if (read_u32(&body, reader->big_endian, &wirelen) != HF_OK) {
            RECORD_DAMAGE(reader, HF_TRUNCATED, offset, "simple packet block too short");
            return stop(reader);
        }
        caplen = wirelen;
        /* snaplen 0 means "no limit" (§4.2); scapy takes min(wirelen, snaplen) regardless. */
        if ((interface->snaplen != 0 || reader->scapy_compat) && caplen > interface->snaplen)
            caplen = interface->snaplen;
        if (caplen > hf_cursor_remaining(&body)) caplen = (uint32_t)hf_cursor_remaining(&body);
        has_timestamp = 0;
    } else {
        if (!hf_cursor_has(&body, 20)) {
            RECORD_DAMAGE(reader, HF_TRUNCATED, offset, "packet block too short");
            return stop(reader);
        }
        if (type == PCAPNG_BLOCK_ENHANCED_PACKET) {
            (void)read_u32(&body, reader->big_endian, &id32);
        } else {
            uint16_t id16 = 0, drops = 0;
            (void)read_u16(&body, reader->big_endian, &id16);
            (void)read_u16(&body, reader->big_endian, &drops);
            id32 = id16;
        }
        (void)read_u32(&body, reader->big_endian, &high);
        (void)read_u32(&body, reader->big_endian, &low);
        (void)read_u32(&body, reader->big_endian, &caplen);
        (void)read_u32(&body, reader->big_endian, &wirelen);
        interface = pcapng_interface(reader, id32);
        if (interface == NULL) {
            RECORD_DAMAGE(reader, HF_INVALID, offset + 8, "unknown interface id %u (%zu defined)",
                          id32, reader->interface_count);
            return stop(reader);
        }
        if (caplen > hf_cursor_remaining(&body)) {
            RECORD_DAMAGE(reader, HF_INVALID, offset + 20,
                          "packet claims %u bytes, its block holds %zu", caplen,
                          hf_cursor_remaining(&body));
            if (!reader->scapy_compat) return stop(reader);
            /* scapy slices block[20:20 + caplen] and reads on. */
            caplen = (uint32_t)hf_cursor_remaining(&body);
        }
    }
    if (caplen > HF_MAX_RECORD_LENGTH && !reader->scapy_compat) {
        RECORD_DAMAGE(reader, HF_LIMIT, offset, "record claims %u bytes (limit %u)", caplen,
                      HF_MAX_RECORD_LENGTH);
        return stop(reader);
    }
    const uint8_t *data = NULL;
    (void)hf_read_bytes(&body, caplen, &data);
    out->data = data;
    out->caplen = caplen;
    out->wirelen = wirelen;
    out->timestamp_ns =
        has_timestamp ? pcapng_timestamp_ns(((uint64_t)high << 32) | low, interface) : 0;
    out->linktype = interface->linktype;
    return HF_OK;
}

static int pcapng_buffered_type(uint32_t type)
{
    return type == PCAPNG_BLOCK_INTERFACE_DESCRIPTION || type == PCAPNG_BLOCK_PACKET_OBSOLETE ||
           type == PCAPNG_BLOCK_SIMPLE_PACKET || type == PCAPNG_BLOCK_ENHANCED_PACKET ||
           type == PCAPNG_BLOCK_DECRYPTION_SECRETS;
}

static hf_status pcapng_next(hf_reader *reader, hf_record *out, hf_error *error)
{
    for (;;) {
        uint64_t offset = input_offset(reader);
        size_t available;
        hf_status status = ensure(reader, 8, &available, error);
        if (status != HF_OK) return status;
        if (available == 0) return stop(reader);
        if (available < 8) {
            RECORD_DAMAGE(reader, HF_TRUNCATED, offset, "block header cut short (%zu of 8 bytes)",
                          available);
            return stop(reader);
        }
        hf_cursor cursor = window_cursor(reader, 8);
        uint32_t type = 0, length = 0;
        (void)read_u32(&cursor, reader->big_endian, &type);
        (void)read_u32(&cursor, reader->big_endian, &length);
        if (type == PCAPNG_BLOCK_SECTION_HEADER) {
            status = pcapng_read_section_header(reader, error);
            if (status != HF_OK) return status;
            continue;
        }
        uint64_t occupied;
        status = pcapng_block_length(reader, length, 12, offset, &occupied);
        if (status != HF_OK) return status;
        if (occupied > HF_MAX_BLOCK_LENGTH || !pcapng_buffered_type(type)) {
            size_t prefix = 8;
            if (type == PCAPNG_BLOCK_DECRYPTION_SECRETS) {
                /* A large DSB (a long TLS key log) is only checked as scapy checks it. */
                status = ensure(reader, 16, &available, error);
                if (status != HF_OK) return status;
                hf_cursor fields = window_cursor(reader, 16);
                uint32_t secrets_length = 0;
                if (hf_skip(&fields, 12) != HF_OK ||
                    read_u32(&fields, reader->big_endian, &secrets_length) != HF_OK ||
                    ((uint64_t)secrets_length + 3) / 4 * 4 > (uint64_t)length - 20) {
                    RECORD_DAMAGE(reader, HF_INVALID, offset, "decryption secrets block too short");
                    return stop(reader);
                }
                prefix = 16;
            } else if (pcapng_buffered_type(type)) {
                RECORD_DAMAGE(reader, HF_LIMIT, offset + 4, "pcapng block of %u bytes (limit %u)",
                              length, HF_MAX_BLOCK_LENGTH);
                return stop(reader);
            }
            consume(reader, prefix);
            status = pcapng_finish_streamed_block(reader, offset, length, occupied, prefix, error);
            if (status != HF_OK) return status;
            continue;
        }
        status = ensure(reader, (size_t)occupied, &available, error);
        if (status != HF_OK) return status;
        if (available < occupied) {
            RECORD_DAMAGE(reader, HF_TRUNCATED, offset,
                          "pcapng block of %u bytes cut short (%zu present)", length, available);
            return stop(reader);
        }
        hf_cursor block = window_cursor(reader, (size_t)occupied);
        uint32_t trailer = 0;
        (void)hf_skip(&block, (size_t)occupied - 4);
        (void)read_u32(&block, reader->big_endian, &trailer);
        if (trailer != length) {
            RECORD_DAMAGE(reader, HF_INVALID, offset + occupied - 4,
                          "pcapng block trailer length %u differs from %u", trailer, length);
            return stop(reader);
        }
        /* The body is L - 12 bytes; in scapy mode padding after an unaligned L is not in it. */
        hf_cursor body = window_cursor(reader, (size_t)length - 4);
        (void)hf_skip(&body, 8);
        if (type == PCAPNG_BLOCK_INTERFACE_DESCRIPTION) {
            status = pcapng_add_interface(reader, body, offset, error);
        } else if (type == PCAPNG_BLOCK_DECRYPTION_SECRETS) {
            /* scapy's _read_block_dsb stops the file on a DSB whose secrets do not fit. */
            uint32_t secrets_type = 0, secrets_length = 0;
            if (read_u32(&body, reader->big_endian, &secrets_type) != HF_OK ||
                read_u32(&body, reader->big_endian, &secrets_length) != HF_OK ||
                ((uint64_t)secrets_length + 3) / 4 * 4 > hf_cursor_remaining(&body)) {
                RECORD_DAMAGE(reader, HF_INVALID, offset, "decryption secrets block too short");
                status = stop(reader);
            }
        } else {
            status = pcapng_packet(reader, type, body, offset, out);
            if (status == HF_OK) {
                consume(reader, (size_t)occupied);
                return HF_OK;
            }
        }
        if (status != HF_OK) return status;
        consume(reader, (size_t)occupied);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Opening. */

static hf_status open_common(hf_reader *reader, hf_error *error)
{
    size_t available;
    hf_status status = ensure(reader, 4, &available, error);
    if (status != HF_OK) return status;
    if (reader->source == SOURCE_GZFILE) reader->is_gzip = !gzdirect(reader->file);
    if (available == 0) {
        if (reader->damage.status != HF_OK)
            return hf_error_set(error, HF_FORMAT, -1, 0, "not a capture file (%s)",
                                reader->damage.reason);
        return hf_error_set(error, HF_FORMAT, -1, 0, "empty file");
    }
    hf_cursor cursor = window_cursor(reader, 4);
    uint32_t magic = 0;
    if (hf_read_be32(&cursor, &magic) != HF_OK) {
        uint8_t first = reader->window[reader->window_start];
        return hf_error_set(error, HF_FORMAT, -1, 0,
                            "not a pcap/pcapng file (%zu bytes, first 0x%02x)", available, first);
    }
    switch (magic) {
    case PCAP_MAGIC_MICROSECONDS:
    case PCAP_MAGIC_NANOSECONDS:
    case PCAP_MAGIC_MICROSECONDS_SWAPPED:
    case PCAP_MAGIC_NANOSECONDS_SWAPPED:
        return pcap_open(reader, magic, error);
    case PCAPNG_BLOCK_SECTION_HEADER:
        reader->format = HF_CAPTURE_PCAPNG;
        status = pcapng_read_section_header(reader, error);
        if (status == HF_EOF) {
            /* scapy: "The first SHB of the pcapng file is malformed" -> not a capture. */
            status = hf_error_set(error, HF_FORMAT, reader->damage.record_index,
                                  reader->damage.byte_offset, "malformed pcapng file: %s",
                                  reader->damage.reason);
        }
        return status;
    default:
        return hf_error_set(error, HF_FORMAT, -1, 0, "not a pcap/pcapng file (magic 0x%08x)",
                            magic);
    }
}

static hf_reader *reader_new(void)
{
    hf_reader *reader = hf_calloc(1, sizeof *reader);
    if (reader == NULL) return NULL;
    reader->descriptor = -1;
    hf_error_clear(&reader->damage);
    return reader;
}

static hf_status allocate_window(hf_reader *reader, hf_error *error)
{
    reader->buffer = hf_malloc(WINDOW_INITIAL_CAPACITY);
    if (reader->buffer == NULL)
        return hf_error_set(error, HF_NOMEM, -1, -1, "out of memory for the read buffer");
    reader->window = reader->buffer;
    reader->capacity = WINDOW_INITIAL_CAPACITY;
    return HF_OK;
}

/* Open `path` for reading; a directory is HF_IO (EISDIR).  OUT: *descriptor, *regular (1 for a
 * regular file, which can be rewound after its first bytes are looked at). */
static hf_status open_descriptor(const char *path, int *descriptor, int *regular, hf_error *error)
{
    *regular = 0;
    *descriptor = open(path, O_RDONLY | O_CLOEXEC);
    if (*descriptor < 0) {
        int saved = errno;
        hf_status status = (saved == ENOENT || saved == ENOTDIR) ? HF_NOTFOUND : HF_IO;
        hf_error_set(error, status, -1, -1, "cannot open: %s", strerror(saved));
        if (error) error->os_errno = saved;
        return status;
    }
    struct stat info;
    if (fstat(*descriptor, &info) == 0) {
        if (S_ISDIR(info.st_mode)) {
            close(*descriptor);
            *descriptor = -1;
            hf_error_set(error, HF_IO, -1, -1, "cannot read: %s", strerror(EISDIR));
            if (error) error->os_errno = EISDIR;
            return HF_IO;
        }
        *regular = S_ISREG(info.st_mode);
    }
    return HF_OK;
}

/* Wrap an open descriptor in a gzFile (plain input is read transparently); the gzFile owns the
 * descriptor from then on, also on failure.  OUT: *file. */
static hf_status open_gzfile_descriptor(int descriptor, gzFile *file, hf_error *error)
{
    *file = gzdopen(descriptor, "rb");
    if (*file == NULL) {
        close(descriptor);
        return hf_error_set(error, HF_NOMEM, -1, -1, "out of memory opening the file");
    }
    if (gzbuffer(*file, GZIP_BUFFER_LENGTH) != 0) { /* only fails if already reading */
        gzclose(*file);
        *file = NULL;
        return hf_error_set(error, HF_IO, -1, -1, "cannot set the gzip buffer");
    }
    return HF_OK;
}

/* Rewind a regular file whose first bytes were read to find it is gzip, for zlib; the descriptor
 * is closed on failure. */
static hf_status rewind_for_zlib(int descriptor, hf_error *error)
{
    if (lseek(descriptor, 0, SEEK_SET) == 0) return HF_OK;
    int saved = errno;
    close(descriptor);
    hf_error_set(error, HF_IO, -1, -1, "cannot seek: %s", strerror(saved));
    if (error) error->os_errno = saved;
    return HF_IO;
}

/* Read a regular file through its descriptor, which `reader` owns from now on, unless it is
 * gzip.  The first read(2) into the window also serves to sniff the gzip magic (as zlib's gz_look
 * decides: 0x1f 0x8b): a separate 2-byte pread before it was a third of the syscalls of opening
 * a small capture.  A gzip file -- rare, and costlier to decode than the wasted read -- is
 * rewound and handed to zlib.  A failed first read is reported as the read path reports it
 * (zlib would meet the same error with the same message). */
static hf_status open_regular(hf_reader *reader, int descriptor, hf_error *error)
{
    reader->source = SOURCE_FD;
    reader->descriptor = descriptor;
    size_t got = 0;
    hf_status status = source_fill(reader, reader->buffer, reader->capacity, &got, error);
    if (status != HF_OK) return status;
    reader->window_end = got;
    if (got >= 2 && reader->buffer[0] == 0x1f && reader->buffer[1] == 0x8b) {
        reader->descriptor = -1;
        reader->window_end = 0;
        status = rewind_for_zlib(descriptor, error);
        if (status != HF_OK) return status;
        status = open_gzfile_descriptor(descriptor, &reader->file, error);
        if (status == HF_OK) reader->source = SOURCE_GZFILE;
        return status;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    /* Only a file that filled the window has more reads to come for readahead to serve. */
    if (got == reader->capacity) (void)posix_fadvise(descriptor, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    return HF_OK;
}

hf_status hf_reader_open_path(const char *path, hf_reader **out, hf_error *error)
{
    if (out == NULL) return hf_error_set(error, HF_ARGUMENT, -1, -1, "no output reader");
    *out = NULL;
    if (path == NULL) return hf_error_set(error, HF_ARGUMENT, -1, -1, "no path");
    hf_reader *reader = reader_new();
    if (reader == NULL) return hf_error_set(error, HF_NOMEM, -1, -1, "out of memory for a reader");
    hf_status status = allocate_window(reader, error);
    int descriptor = -1, regular = 0;
    if (status == HF_OK) status = open_descriptor(path, &descriptor, &regular, error);
    if (status == HF_OK) {
        if (regular) {
            status = open_regular(reader, descriptor, error);
        } else {
            status = open_gzfile_descriptor(descriptor, &reader->file, error);
            if (status == HF_OK) reader->source = SOURCE_GZFILE;
        }
    }
    if (status == HF_OK) status = open_common(reader, error);
    if (status != HF_OK) {
        hf_reader_free(reader);
        return status;
    }
    *out = reader;
    return HF_OK;
}

hf_status hf_reader_open_memory(const uint8_t *data, size_t length, hf_reader **out,
                                hf_error *error)
{
    if (out == NULL) return hf_error_set(error, HF_ARGUMENT, -1, -1, "no output reader");
    *out = NULL;
    if (data == NULL && length != 0) return hf_error_set(error, HF_ARGUMENT, -1, -1, "no data");
    hf_reader *reader = reader_new();
    if (reader == NULL) return hf_error_set(error, HF_NOMEM, -1, -1, "out of memory for a reader");
    hf_status status = HF_OK;
    reader->memory = data;
    reader->memory_length = length;
    if (length >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        reader->source = SOURCE_INFLATE;
        reader->is_gzip = 1;
        status = allocate_window(reader, error);
        if (status == HF_OK) {
            reader->inflater.zalloc = zlib_allocate;
            reader->inflater.zfree = zlib_release;
            reader->inflater.opaque = Z_NULL;
            int result = inflateInit2(&reader->inflater, 16 + MAX_WBITS);
            if (result == Z_OK) reader->inflater_ready = 1;
            else if (result == Z_MEM_ERROR)
                status = hf_error_set(error, HF_NOMEM, -1, -1, "out of memory in zlib");
            else
                status = hf_error_set(error, HF_FORMAT, -1, -1, "cannot start gzip decoding");
        }
    } else {
        reader->source = SOURCE_MEMORY;
        reader->window = data;
        reader->window_end = length;
        reader->source_ended = 1;
    }
    if (status == HF_OK) status = open_common(reader, error);
    if (status != HF_OK) {
        hf_reader_free(reader);
        return status;
    }
    *out = reader;
    return HF_OK;
}

void hf_reader_set_scapy_compat(hf_reader *reader, int enabled)
{
    if (reader) reader->scapy_compat = enabled != 0;
}

hf_status hf_reader_next(hf_reader *reader, hf_record *out, hf_error *error)
{
    if (reader == NULL || out == NULL)
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "no reader or record");
    if (reader->finished) return HF_EOF;
    hf_status status = reader->format == HF_CAPTURE_PCAP ? pcap_next(reader, out, error)
                                                         : pcapng_next(reader, out, error);
    if (status == HF_OK) {
        if (reader->scapy_compat && out->caplen > HF_SCAPY_MTU) out->caplen = HF_SCAPY_MTU;
        out->index = reader->record_count++;
    } else if (status != HF_EOF) {
        reader->finished = 1;
    }
    return status;
}

const hf_error *hf_reader_damage(const hf_reader *reader)
{
    return &reader->damage;
}

hf_capture_format hf_reader_format(const hf_reader *reader)
{
    return reader->format;
}

int hf_reader_is_gzip(const hf_reader *reader)
{
    return reader->is_gzip;
}

uint64_t hf_reader_record_count(const hf_reader *reader)
{
    return reader->record_count;
}

void hf_reader_free(hf_reader *reader)
{
    if (reader == NULL) return;
    if (reader->file) gzclose(reader->file);
    if (reader->descriptor >= 0) close(reader->descriptor);
    if (reader->inflater_ready) inflateEnd(&reader->inflater);
    hf_free(reader->buffer);
    hf_free(reader->interfaces);
    hf_free(reader);
}

/* What probe reports for the first `count` (< 0: a failed read, with *error already set) bytes of
 * the decoded input. */
static hf_status probe_magic(const uint8_t magic_bytes[4], int count, hf_capture_format *format,
                             hf_error *error)
{
    if (count == 0) return hf_error_set(error, HF_FORMAT, -1, 0, "empty file");
    if (count < 4)
        return hf_error_set(error, HF_FORMAT, -1, 0, "not a pcap/pcapng file (%d bytes)", count);
    hf_cursor cursor = hf_cursor_make(magic_bytes, 4);
    uint32_t magic = 0;
    (void)hf_read_be32(&cursor, &magic);
    if (magic == PCAP_MAGIC_MICROSECONDS || magic == PCAP_MAGIC_NANOSECONDS ||
        magic == PCAP_MAGIC_MICROSECONDS_SWAPPED || magic == PCAP_MAGIC_NANOSECONDS_SWAPPED) {
        if (format) *format = HF_CAPTURE_PCAP;
    } else if (magic == PCAPNG_BLOCK_SECTION_HEADER) {
        if (format) *format = HF_CAPTURE_PCAPNG;
    } else {
        return hf_error_set(error, HF_FORMAT, -1, 0, "not a pcap/pcapng file (magic 0x%08x)",
                            magic);
    }
    return HF_OK;
}

static hf_status read_failed(hf_error *error, int saved)
{
    hf_error_set(error, HF_IO, -1, 0, "read failed: %s", strerror(saved));
    if (error) error->os_errno = saved;
    return HF_IO;
}

hf_status hf_reader_probe_path(const char *path, hf_capture_format *format, hf_error *error)
{
    if (path == NULL) return hf_error_set(error, HF_ARGUMENT, -1, -1, "no path");
    int descriptor, regular;
    hf_status status = open_descriptor(path, &descriptor, &regular, error);
    if (status != HF_OK) return status;
    uint8_t magic_bytes[4];
    if (regular) {
        /* A plain regular file is probed with read(2): going through zlib allocated its 384 KiB
         * of buffers per probe, half the cost of probing a directory of small captures.  Only
         * a gzip file (magic 0x1f 0x8b, as zlib's gz_look decides) is rewound for zlib. */
        size_t have = 0;
        while (have < sizeof magic_bytes) {
            ssize_t count = read(descriptor, magic_bytes + have, sizeof magic_bytes - have);
            if (count < 0 && errno == EINTR) continue;
            if (count < 0) {
                int saved = errno;
                close(descriptor);
                return read_failed(error, saved);
            }
            if (count == 0) break;
            have += (size_t)count;
        }
        if (!(have >= 2 && magic_bytes[0] == 0x1f && magic_bytes[1] == 0x8b)) {
            close(descriptor);
            return probe_magic(magic_bytes, (int)have, format, error);
        }
        status = rewind_for_zlib(descriptor, error);
        if (status != HF_OK) return status;
    }
    gzFile file;
    status = open_gzfile_descriptor(descriptor, &file, error);
    if (status != HF_OK) return status;
    int count = gzread(file, magic_bytes, sizeof magic_bytes);
    if (count < 0) {
        int zlib_error = Z_OK;
        const char *message = gzerror(file, &zlib_error);
        if (zlib_error == Z_ERRNO) {
            status = read_failed(error, errno);
        } else {
            status = hf_error_set(error, HF_FORMAT, -1, 0, "corrupt gzip stream: %s",
                                  message ? message : "unknown zlib error");
        }
    } else {
        status = probe_magic(magic_bytes, count, format, error);
    }
    gzclose(file);
    return status;
}
