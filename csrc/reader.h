/*
 * reader.h -- capture files (classic pcap, pcapng, either gzip-compressed) -> records.
 *
 * First stage of the pipeline (reader -> dissect -> preprocess -> flows -> render -> png).
 * We parse capture files ourselves instead of calling libpcap's pcap_open_offline because
 * heifip 1.1.1 reads with scapy 2.5 (reference-semantics.md §1.2, §9), which accepts what
 * libpcap 1.10 refuses: gzip-compressed captures, pcapng files whose interfaces differ in link
 * type or snaplen, pcap/pcapng headers with unexpected version numbers, and a truncated last
 * record (scapy returns the bytes that are there).  libpcap stays for BPF and live capture.
 *
 * The format is decided by the magic bytes, never by the file name.  Reading is sequential
 * through one bounded window: memory use does not grow with the file (at most one block of
 * HF_MAX_BLOCK_LENGTH plus the window slack and, for pcapng, HF_MAX_INTERFACES interface
 * descriptions).  Records point straight into the window (no per-record allocation or copy).
 *
 * Damage.  A file that starts as a capture but goes wrong later (truncated, absurd lengths,
 * garbage, corrupt gzip stream) is not a failure: the records before the damage are delivered,
 * hf_reader_next then returns HF_EOF, and hf_reader_damage() describes the first damage
 * (status, record index, byte offset in the -- decompressed -- file, reason).
 *
 * Two behaviours, chosen per reader with hf_reader_set_scapy_compat():
 *   - default (0): the pcap and pcapng specifications;
 *   - scapy 2.5 compatibility (1), what heifip 1.1.1 sees (`sniff(offline=path)`):
 *       * pcapng interface ids index every IDB read so far in the file, across sections
 *         (scapy never resets its interface list at a new SHB);
 *       * a Simple Packet Block on an interface with snaplen 0 has caplen 0 (scapy computes
 *         min(original length, snaplen) without the "0 = unlimited" rule);
 *       * a pcap record claiming more than HF_MAX_RECORD_LENGTH is delivered with the bytes
 *         that follow it (at most HF_MAX_RECORD_LENGTH) before the reader stops, as scapy's
 *         f.read(caplen) does at the end of a file; an EPB/PB whose caplen exceeds its block
 *         delivers the block's remaining bytes and reading goes on; a pcapng block length that
 *         is not a multiple of 4 is padded up and reading goes on (damage is still recorded);
 *       * a pcap record cut short by a cut or corrupt gzip stream is not delivered (Python's
         gzip module raises instead of returning the short read);
       * records are cut to HF_SCAPY_MTU (65535) bytes (scapy's PcapReader.recv(size=MTU));
 *       * hf_record.linktype of a classic pcap is the whole 32-bit header field, upper bits
 *         included (scapy looks the unmasked value up in conf.l2types, so a set FCS/reserved
 *         bit makes the packet Raw).
 *
 * Thread-safety: a reader is used by one thread at a time; different readers are independent
 * (no global or static mutable state).
 */
#ifndef HF_READER_H
#define HF_READER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* The largest record we believe, libpcap's maximum snaplen for most link types
 * (MAXIMUM_SNAPLEN in pcap-int.h).  A record claiming more is damage. */
#define HF_MAX_RECORD_LENGTH 262144u

/* The largest pcapng block we buffer whole: a maximal EPB (28 + HF_MAX_RECORD_LENGTH + 4)
 * plus 64 KiB of options.  Larger packet blocks and IDBs are damage; larger blocks of other
 * types are skipped by streaming. */
#define HF_MAX_BLOCK_LENGTH (HF_MAX_RECORD_LENGTH + 65536u)

/* Interface descriptions kept per section (per file in scapy mode); more is damage. */
#define HF_MAX_INTERFACES 4096u

/* scapy.data.MTU: scapy 2.5 cuts every record read from a file to this many bytes. */
#define HF_SCAPY_MTU 65535u

typedef struct hf_reader hf_reader; /* opaque */

typedef enum { HF_CAPTURE_PCAP = 1, HF_CAPTURE_PCAPNG = 2 } hf_capture_format;

typedef struct hf_record {
    const uint8_t *data;   /* borrowed from the reader, valid until the next hf_reader_next/free */
    uint32_t caplen;       /* bytes at data */
    uint32_t wirelen;      /* original length on the wire (informational) */
    int64_t timestamp_ns;  /* nanoseconds since the Unix epoch (0 for a pcapng Simple Packet
                              Block, which has none); saturates at INT64_MIN/MAX */
    uint32_t linktype;     /* LINKTYPE_* of this record (per interface for pcapng), FCS bits
                              masked (pcap: low 16 bits; see scapy mode above) */
    uint64_t index;        /* 0-based record number in the file (counts every packet record) */
} hf_record;

/* Open the capture file at `path` (plain or gzip-compressed) and read its file header (pcap)
 * or first Section Header Block (pcapng).
 * OUT: *out = a new reader owned by the caller (release with hf_reader_free); NULL on failure.
 * Errors: HF_NOTFOUND (no such file; error->os_errno set), HF_IO (cannot open or read it,
 * os_errno set; a directory), HF_FORMAT ("empty file", "not a pcap/pcapng file (magic 0x...)",
 * a truncated file header, a first SHB that is malformed, a corrupt gzip stream before the
 * first 4 bytes), HF_NOMEM, HF_ARGUMENT (NULL path or out). */
hf_status hf_reader_open_path(const char *path,
                               hf_reader **out,
                               hf_error *error);

/* As hf_reader_open_path, over `length` bytes at `data` (plain or gzip-compressed).
 * The bytes are borrowed: the caller keeps them alive and unchanged until hf_reader_free;
 * for a plain capture, records point into them.  Errors as above except HF_NOTFOUND/HF_IO. */
hf_status hf_reader_open_memory(const uint8_t *data,
                                size_t length,
                                hf_reader **out,
                                hf_error *error);

/* Choose scapy 2.5 compatibility (enabled != 0) or the specifications (0, the default) for the
 * records that follow (see the top of this file).  Call it before the first hf_reader_next. */
void hf_reader_set_scapy_compat(hf_reader *reader, int enabled);

/* Read the next packet record.
 * OUT: *out filled on HF_OK; out->data is borrowed, valid until the next call or free.
 * Returns HF_OK, HF_EOF at the end (also after damage: see hf_reader_damage), or a failure:
 * HF_IO (the operating system failed a read; os_errno set), HF_NOMEM, HF_ARGUMENT.
 * After a failure the reader only returns HF_EOF. */
hf_status hf_reader_next(hf_reader *reader,
                          hf_record *out,
                          hf_error *error);

/* The first damage met so far; ->status == HF_OK when none.  Borrowed from the reader.
 * Status is HF_TRUNCATED (file/record/block cut short), HF_LIMIT (a length beyond
 * HF_MAX_RECORD_LENGTH/HF_MAX_BLOCK_LENGTH/HF_MAX_INTERFACES), HF_INVALID (a field contradicts
 * the format, or a corrupt gzip stream) or HF_UNSUPPORTED (an unknown header version that was
 * read anyway, as scapy does). */
const hf_error *hf_reader_damage(const hf_reader *reader);

hf_capture_format hf_reader_format(const hf_reader *reader);

/* 1 when the input is gzip-compressed, else 0. */
int hf_reader_is_gzip(const hf_reader *reader);

/* Records delivered so far. */
uint64_t hf_reader_record_count(const hf_reader *reader);

/* Release the reader, its buffers and its file.  NULL is fine. */
void hf_reader_free(hf_reader *reader);

/* Cheap check used by the CLI to recognise captures by content: HF_OK with *format set when
 * the first 4 bytes (gzip-decompressed if needed) are a pcap or pcapng magic, else HF_FORMAT
 * (also for an empty file), HF_NOTFOUND or HF_IO.  `format` may be NULL. */
hf_status hf_reader_probe_path(const char *path,
                                hf_capture_format *format,
                                hf_error *error);

#endif /* HF_READER_H */
