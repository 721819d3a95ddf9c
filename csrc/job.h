/*
 * job.h -- one extraction job: the pipeline from a capture (or a list of frames) to heifip 1.1.1's
 * per-packet byte strings, run without Python (the binding releases the GIL around it).
 *
 *   reader -> dissect -> preprocess -> [packet list]            (this file)
 *   [packet list] -> render -> png                              (render.h, png.h; driven by the binding)
 *
 * 1.1.1 reads the first 64 records of a file (reference-semantics.md §1.1, quirk P7) and turns each
 * into one byte string (§2); a file is one flow (§0.1).  hf_job_read_file does exactly that, with
 * the 64 as a parameter (0 = whole file).  The 5-tuple session path lives in flows.h.
 *
 * Thread-safety: every function works only on its arguments; any number of jobs may run at once.
 */
#ifndef HF_JOB_H
#define HF_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "anonymize.h"
#include "bytes.h"
#include "common.h"
#include "preprocess.h"

/* Processed packets of one source, back to back in one buffer.  Packet i is
 * bytes.data[offsets[i] .. offsets[i + 1]).  When keys are collected, key i (the §2.8
 * de-duplication key) is keys.data[key_offsets[i] .. key_offsets[i + 1]). */
typedef struct hf_packet_list {
    hf_buf bytes;          /* owned */
    size_t *offsets;       /* owned; count + 1 entries once count > 0 (offsets[0] == 0) */
    hf_buf keys;           /* owned; empty unless keys were requested */
    size_t *key_offsets;   /* owned; NULL unless keys were requested */
    int64_t *timestamps_ns; /* owned; capture time of each packet (0 for frames given without one) */
    uint64_t *record_indices; /* owned; record number in the file / position in the frame list */
    size_t count;
    size_t capacity;       /* entries allocated in the per-packet arrays (excluding the +1) */
} hf_packet_list;

void hf_packet_list_init(hf_packet_list *list);
void hf_packet_list_free(hf_packet_list *list);   /* leaves an empty, reusable list */

/* Append one already-processed packet (no key).  HF_OK or HF_NOMEM (list unchanged). */
hf_status hf_packet_list_append(hf_packet_list *list,
                                const uint8_t *data,
                                size_t length,
                                int64_t timestamp_ns,
                                uint64_t record_index);

/* Bytes and length of packet i (i < count). */
static inline const uint8_t *hf_packet_list_data(const hf_packet_list *list, size_t i)
{
    return list->bytes.data + list->offsets[i];
}
static inline size_t hf_packet_list_length(const hf_packet_list *list, size_t i)
{
    return list->offsets[i + 1] - list->offsets[i];
}

typedef struct hf_job_config {
    hf_preprocess_mode mode;
    hf_anonymizer anonymizer;  /* copied in; immutable during the job */
    uint64_t packet_limit;     /* records to read from a file, 0 = all (1.1.1: 64, P7) */
    int collect_keys;          /* also compute each packet's de-duplication key */
    int scapy_compat;          /* read files exactly as scapy 2.5 does (hf_reader_set_scapy_compat):
                                  1 on the 1.1.1 path, where records must equal 1.1.1's */
} hf_job_config;

/* Read `path` and append the processed packets to `out`.
 * OUT: `damage` (may be NULL) receives the reader's damage report (status HF_OK when the file was
 *      intact); the packets before the damage are in `out`.
 * Returns HF_OK, or HF_NOTFOUND / HF_IO / HF_FORMAT / HF_NOMEM with `error` filled; on error `out`
 * may hold the packets processed before the failure. */
hf_status hf_job_read_file(const char *path,
                           const hf_job_config *config,
                           hf_packet_list *out,
                           hf_error *damage,
                           hf_error *error);

/* Same for a capture held in memory (borrowed for the duration of the call). */
hf_status hf_job_read_memory(const uint8_t *data,
                             size_t length,
                             const hf_job_config *config,
                             hf_packet_list *out,
                             hf_error *damage,
                             hf_error *error);

/* One raw frame given by the caller (create_image_from_packet). */
typedef struct hf_frame {
    const uint8_t *data;   /* borrowed */
    size_t length;
    uint32_t linktype;
} hf_frame;

/* Process frames[0..n) in order (no packet limit) and append them to `out`. */
hf_status hf_job_process_frames(const hf_frame *frames,
                                size_t n,
                                const hf_job_config *config,
                                hf_packet_list *out,
                                hf_error *error);

#endif /* HF_JOB_H */

/* ---------------------------------------------------------------------------------------------- */
/* Flow jobs: reader -> filter -> dissect -> preprocess -> flows, one completed flow at a time.    */

#include "flows.h"

typedef struct hf_flow_job_config {
    hf_job_config packets;     /* preprocessing and addresses; packet_limit = records read
                                  (0 = all); collect_keys is ignored */
    hf_flow_config flows;      /* split mode, timeouts, limits, memory bound */
    const char *bpf;           /* borrowed during hf_flow_job_open; NULL or "" = no filter */
} hf_flow_job_config;

typedef struct hf_flow_job hf_flow_job;

/* Open `path` for flow extraction.  OUT: *out (owned; hf_flow_job_free).
 * Errors: as hf_reader_open_path; HF_ARGUMENT for a bad BPF expression or flow config. */
hf_status hf_flow_job_open(const char *path,
                           const hf_flow_job_config *config,
                           hf_flow_job **out,
                           hf_error *error);

/* The next completed flow in flows.h's documented order.
 * OUT: *flow (owned by the caller: hf_flow_free) and HF_OK; HF_EOF when the capture is done;
 * otherwise an error (HF_NOMEM, HF_IO, HF_UNSUPPORTED for a filter that does not fit a link type). */
hf_status hf_flow_job_next(hf_flow_job *job, hf_flow **flow, hf_error *error);

/* 1 when the last hf_flow_job_next failed because the BPF filter does not apply to a record's link
 * type (the caller reports that as a filter error, not as a capture error). */
int hf_flow_job_filter_failed(const hf_flow_job *job);

/* Damage the reader met (status HF_OK when none); valid until hf_flow_job_free. */
const hf_error *hf_flow_job_damage(const hf_flow_job *job);

/* Records read so far, and how many the filter let through. */
void hf_flow_job_counts(const hf_flow_job *job, uint64_t *records_read, uint64_t *records_matched);

void hf_flow_job_stats(const hf_flow_job *job, hf_flow_stats *out);

void hf_flow_job_free(hf_flow_job *job);   /* NULL ok */
