/*
 * filter.h -- BPF capture filters ("tcp port 443"), compiled with libpcap, applied to records
 * between the reader and the dissector.
 *
 * Pipeline: reader -> FILTER -> dissect -> preprocess -> flows -> render -> png.
 * A BPF program depends on the link type, and pcapng files mix link types (one per interface),
 * so the filter compiles the expression once per link type it meets (pcap_open_dead +
 * pcap_compile, optimised, netmask unknown) and keeps up to HF_FILTER_MAX_LINKTYPES programs.
 * Matching uses pcap_offline_filter on the record's captured bytes, with caplen and wirelen as
 * the record gives them (libpcap semantics: filters see the captured bytes only).
 *
 * Thread-safety: a filter is used by one thread at a time; libpcap >= 1.8's compiler is
 * reentrant, so distinct filters may be compiled and used concurrently.
 */
#ifndef HF_FILTER_H
#define HF_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define HF_FILTER_MAX_LINKTYPES 16

typedef struct hf_filter hf_filter;

/* Create a filter for `expression` (copied).  The expression is compiled for Ethernet at once so
 * that a syntax error is reported here, not at the first packet.
 * OUT: *out = the filter (owned by the caller; hf_filter_free).
 * Errors: HF_ARGUMENT with libpcap's message (bad expression), HF_NOMEM. */
hf_status hf_filter_new(const char *expression, hf_filter **out, hf_error *error);

/* OUT: *matches = 1 if the record passes the filter, 0 if not.
 * Errors: HF_UNSUPPORTED when the expression cannot be compiled for this link type (libpcap's
 * message, e.g. "ether" keywords on raw IP); HF_NOMEM. */
hf_status hf_filter_match(hf_filter *filter,
                          uint32_t linktype,
                          const uint8_t *data,
                          uint32_t caplen,
                          uint32_t wirelen,
                          int *matches,
                          hf_error *error);

void hf_filter_free(hf_filter *filter);  /* NULL ok */

#endif /* HF_FILTER_H */
