/*
 * preprocess.h -- heifip 1.1.1's per-packet byte string raw(fip.packet) for the NONE and
 * "HEADER" preprocessing modes, and its de-duplication key.
 *
 * Pipeline: reader -> dissect -> preprocess -> flows -> render -> png.  Input: a frame and its
 * hf_dissection (dissect.h).  Output: bytes appended to an hf_buf.
 *
 * Normative reference: reference-semantics.md §2.1 (class dispatch), §2.2 (address draws),
 * §2.3 (constructor effects E1/E2/R1-R3, both modes), §2.5 (HEADER replacements and their
 * order, the lost-replacement rule, padding at the end), §2.5.1 (custom layer layouts, TCP option
 * re-encoding, HTTP text, DNS + CustomDNS), §2.8 (hash keys), §1.4/P36 (rebuilt short headers).
 *
 * Deliberate differences from 1.1.1 (both are cases where 1.1.1 raises for the whole file):
 *   (1) HEADER with IP/IPv6 as the first layer (raw-IP link types, §2.7/P17): the root IP is
 *       replaced like any other (1.1.1: AttributeError).
 *   (2) HEADER for a DNS packet whose DNS layer was removed by R2 (IndexError, P18), and any other
 *       HEADER step whose layer was removed by a constructor cut: the step is skipped.
 *
 * Thread-safety: no global or static mutable state; reentrant.  The `addresses` map and the
 * output buffer are the caller's and must not be shared between concurrent calls.
 */
#ifndef HF_PREPROCESS_H
#define HF_PREPROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "anonymize.h"
#include "bytes.h"
#include "common.h"
#include "dissect.h"

typedef enum hf_preprocess_mode {
    HF_PREPROCESS_NONE = 0,   /* constructor effects only (§2.3) */
    HF_PREPROCESS_HEADER = 1  /* plus header_preprocessing() (§2.5) */
} hf_preprocess_mode;

/*
 * Append heifip 1.1.1's per-packet byte string (raw(fip.packet)) for this frame to `out`.
 *
 * Preconditions: `dissection` was filled by hf_dissect_packet for exactly (frame, caplen);
 * `addresses` was begun by the caller for this packet (hf_address_map_begin).
 * Every address 1.1.1 randomises is passed to hf_address_map_apply in 1.1.1's draw order
 * (Ether src, Ether dst, then IP src, IP dst, §2.2) -- also in HEADER mode, where the IP
 * addresses are not emitted (they are then mapped in a scratch copy, so that the map sees the
 * same sequence in both modes).  In the output, addresses are exactly the anonymizer's bytes.
 * OUT: `out` grows by the packet's bytes; on failure it keeps its previous length.
 * Returns HF_OK; HF_ARGUMENT for NULL pointers or a bad mode; HF_NOMEM when the buffer cannot
 * grow (error filled, record_index -1, byte_offset -1).
 * Cost: NONE = one append of the kept prefix + in-place address writes; no heap use except the
 * growth of `out`.
 */
hf_status hf_preprocess_packet(const uint8_t *frame, size_t caplen,
                               const hf_dissection *dissection, hf_preprocess_mode mode,
                               hf_address_map *addresses, hf_buf *out, hf_error *error);

/*
 * hf_preprocess_packet, but only the first min(limit, n) bytes of the packet's n-byte string are
 * appended -- exactly the bytes hf_preprocess_packet appends there, addresses included: the map
 * receives the same calls in the same order (an address beyond the limit is mapped in a scratch
 * copy), so its draws and the bytes before the limit do not depend on the limit.  For callers that
 * keep only a prefix (the flow stage's bytes_per_packet, the image's keep_bytes): a 1500-byte
 * frame is then not copied for its first 256 bytes.  limit SIZE_MAX = hf_preprocess_packet.
 * Cost: NONE without a Dot11FCS trailer or RadioTap pads = one append of min(limit, kept prefix);
 * otherwise the whole string is built and cut.  Errors as hf_preprocess_packet.
 */
hf_status hf_preprocess_packet_prefix(const uint8_t *frame, size_t caplen,
                                      const hf_dissection *dissection, hf_preprocess_mode mode,
                                      hf_address_map *addresses, size_t limit, hf_buf *out,
                                      hf_error *error);

/*
 * hf_preprocess_packet_prefix into a caller's fixed buffer: writes exactly the bytes (and makes
 * exactly the address-map calls) that hf_preprocess_packet_prefix would append, to
 * destination[0 .. *length), *length <= limit; `destination` must hold `limit` bytes (it may be
 * NULL if limit is 0).  For callers that store the string themselves (the flow table's
 * in-place form, flows.h materialize_to): the common strings -- a frame prefix with the
 * addresses written in place, i.e. NONE mode without a Dot11FCS trailer or RadioTap pads --
 * are copied once, from the frame to the destination; the others are built in `scratch`
 * (owned by the caller, reused; its contents are overwritten) and copied.
 * OUT: *length (0 on failure; destination bytes are then unspecified).  Errors as
 * hf_preprocess_packet; HF_ARGUMENT for a NULL length or scratch.
 */
hf_status hf_preprocess_packet_prefix_to(const uint8_t *frame, size_t caplen,
                                         const hf_dissection *dissection, hf_preprocess_mode mode,
                                         hf_address_map *addresses, size_t limit,
                                         uint8_t *destination, size_t *length, hf_buf *scratch,
                                         hf_error *error);

/*
 * hf_preprocess_packet_prefix_to in NONE mode for the commonest frames, straight from their bytes
 * (no dissection): Ethernet; IPv4 with a 20-byte header, not a fragment, or IPv6; TCP right
 * after it, its header complete; the IP datagram whole in the frame (Padding after it is fine, a
 * snaplen cut is not); and a payload the dissector makes Raw, TLS or a TLS continuation
 * (dissect.h, hf_dissect_tcp_payload_class).  Returns 1 after writing what
 * hf_preprocess_packet_prefix_to writes for the frame's full dissection in NONE mode -- the same
 * destination[0 .. *length) and the same calls on `addresses` -- or 0, having written nothing,
 * for every other frame and for a `limit` that cuts an address: dissect those and call
 * hf_preprocess_packet_prefix_to.  A kept packet of the flow stage is then not dissected at all
 * (job.c; the dissection was a third of the benchmark's instructions).  The contract is checked
 * on every kept packet in HF_DEBUG builds (job.c), by fuzz_dissect and by test_preprocess.
 * `destination` must hold `limit` bytes; `frame` is only read.
 */
int hf_preprocess_frame_prefix_to(const uint8_t *frame, size_t caplen, uint32_t linktype,
                                  hf_address_map *addresses, size_t limit, uint8_t *destination,
                                  size_t *length);

/*
 * The packet's de-duplication key (§2.8): two packets have equal keys exactly when 1.1.1 gives
 * them equal md5 hash strings.  Appends an opaque canonical byte string (a tag byte, then the
 * values 1.1.1 formats into the hash) to `out`:
 *   'E'                       no class-specific hash (md5(b""), Ether-only / unknown packets)
 *   '4' version flags proto   IPv4 "{version},{flags},{proto}"
 *   '6' version tc hlim       IPv6 "{version},{tc},{hlim}"
 *   'T' flags(2) options...   TCP "{flags},{options}" (options re-encoded without padding)
 *   'U'                       UDP (every UDP packet shares md5("UDP"))
 *   'Q' path method accept    HTTP request "{Path},{Method},{Accept}"
 *   'R' server status conn    HTTP response "{Server},{Status_Code},{Connection}"
 * (HTTP values as 1-byte presence + 4-byte big-endian length + bytes.)
 * Preconditions as for hf_preprocess_packet.  Returns HF_OK, HF_ARGUMENT or HF_NOMEM.
 */
hf_status hf_preprocess_dedup_key(const uint8_t *frame, size_t caplen,
                                  const hf_dissection *dissection, hf_buf *out);

/*
 * TCP option re-encoding of scapy 2.5's TCPOptionsField (§2.5.1, P37): parse `length` option
 * bytes (kind 0 = EOL stops; 1 = NOP; others kind,len,value with len < 2 taken as 2), re-encode
 * with recomputed lengths.  `pad`: append zero bytes up to a multiple of 4 (the CustomTCP
 * layout); without it the result is the canonical option list used by the dedup key.
 * Appends to `out`; returns HF_OK or HF_NOMEM.  Reentrant.
 */
hf_status hf_preprocess_tcp_options(const uint8_t *options, size_t length, int pad, hf_buf *out);

#endif /* HF_PREPROCESS_H */
