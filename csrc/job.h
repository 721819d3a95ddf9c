/*
 * job.h -- one extraction job: the pipeline from a capture (or a list of frames) to heifip 1.1.1's
 * per-packet byte strings, run without Python (the binding releases the GIL around it).
 *
 *   reader -> dissect -> preprocess -> [packet list]            (this file)
 *   [packet list] -> render -> [image list]                     (this file: hf_job_render,
 *                                                                hf_job_extract_file(s))
 *   [image list] -> png                                         (png.h; driven by the binding,
 *                                                                or hf_job_write_files for fip)
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
    size_t count;          /* packets kept (in the arrays above) */
    size_t capacity;       /* entries allocated in the per-packet arrays (excluding the +1) */
    size_t total;          /* packets of the source, kept or only counted: == count unless the
                              job's keep limits (hf_job_config.limit_kept) dropped the packets
                              after the first keep_packets; 1.1.1's min/max_packets_per_flow
                              compare this count */
    size_t kept_bytes;     /* SIZE_MAX, or the keep_bytes every kept packet was cut to */
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
    /* bytes.data stays NULL while every packet is empty, and NULL + 0 is undefined in C
     * (fuzz finding 1, tests/fuzz/regressions/pipeline-packet-list-data-null-plus-zero) */
    static const uint8_t empty[1] = {0};
    return list->bytes.data != NULL ? list->bytes.data + list->offsets[i] : empty;
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
    int limit_kept;            /* 0 (a zeroed config): keep every packet whole.  1: keep only the
                                  first keep_packets packets, each cut to keep_bytes, and only count
                                  the others (they are read, so damage and counts are those of the
                                  whole file, but neither dissected nor preprocessed: both fail only
                                  on bugs or memory).  Set by hf_job_config_keep_for_image. */
    size_t keep_packets;       /* with limit_kept: >= 1 */
    size_t keep_bytes;         /* with limit_kept: SIZE_MAX = whole packets */
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

/* ---------------------------------------------------------------------------------------------- */
/* Images: 1.1.1's create_image_from_file (read, then FIPExtractor.__create_matrix, §4.2).          */

#include "render.h"

typedef struct hf_image_request {
    hf_image_params params;
    int64_t min_dim, max_dim;          /* verify() (§4.3): both inclusive; max_dim 0 = none */
    int64_t min_packets, max_packets;  /* flow kinds: no image for fewer than min_packets packets
                                          (the whole count); only the first max_packets
                                          (0 = all) are drawn */
} hf_image_request;

/* One rendered image. */
typedef struct hf_image {
    hf_image_shape shape;
    void *pixels;          /* owned (hf_malloc); rows * cols elements; NULL when that is 0 */
} hf_image;

typedef struct hf_image_list {
    hf_image *items;       /* owned, and so is every item's pixels */
    size_t count, capacity;
} hf_image_list;

void hf_image_list_init(hf_image_list *list);
void hf_image_list_free(hf_image_list *list);   /* leaves an empty, reusable list */

/* 1.1.1's verify() (reference-semantics.md §4.3): 1 when both sides are >= min_dim and, unless
 * max_dim is 0, <= max_dim. */
int hf_image_passes_verify(const hf_image_shape *shape, int64_t min_dim, int64_t max_dim);

/* Let `config` keep only what the image of `params` can use (render.h:
 * hf_render_packets_needed / hf_render_bytes_needed): rendering the resulting packet list with
 * hf_job_render gives exactly the images of the whole list.  Does nothing when the image needs
 * everything.  Do not use it when packets are filtered after reading (de-duplication). */
void hf_job_config_keep_for_image(hf_job_config *config, const hf_image_params *params);

/* Render `packets` as 1.1.1's __create_matrix does (§4.2): per-packet kinds one image per packet,
 * flow kinds one image of the flow (none when empty or below min_packets), keeping the images that
 * pass verify().  Appends to `out`.
 * Errors: the statuses of hf_render_shape; HF_ARGUMENT when `packets` was cut by keep limits for
 * another image; HF_NOMEM.  On failure `out` keeps the images appended before. */
hf_status hf_job_render(const hf_packet_list *packets,
                        const hf_image_request *request,
                        hf_image_list *out,
                        hf_error *error);

/* hf_job_read_file with keep limits for `request` (unless config->collect_keys), then
 * hf_job_render into `out`.  OUT: *packets (may be NULL) = the packets read (kept or counted).
 * Errors: those of both. */
hf_status hf_job_extract_file(const char *path,
                              const hf_job_config *config,
                              const hf_image_request *request,
                              hf_image_list *out,
                              size_t *packets,
                              hf_error *damage,
                              hf_error *error);

/* The outcome of one file of a batch. */
typedef struct hf_file_result {
    hf_status status;
    hf_error error;        /* when status != HF_OK */
    hf_error damage;       /* status HF_OK when the file was intact */
    hf_image_list images;  /* owned; empty on failure */
    size_t packets;        /* packets read (kept or counted) */
} hf_file_result;

/* The largest number of worker threads hf_job_extract_files starts. */
#define HF_JOB_MAX_THREADS 64

/* hf_job_extract_file for paths[0..n) into results[0..n) (caller-allocated; each is initialised
 * here), on `threads` worker threads (<= 1: the calling thread; at most HF_JOB_MAX_THREADS and n).
 * Files are handed out in order; every result depends only on its file, so the results are the
 * same for any thread count.  A file's failure is in its result and does not stop the others.
 * When a thread cannot be started, the threads already running (or the calling thread) do its
 * share: the results are the same. */
void hf_job_extract_files(const char *const *paths,
                               size_t n,
                               const hf_job_config *config,
                               const hf_image_request *request,
                               int threads,
                               hf_file_result *results);

/* ---------------------------------------------------------------------------------------------- */
/* fip's conversion of whole files: extract, then every image into its PNG file (png.h), with no
 * Python in between (heifip/cli.py hands chunks of files to it).                                 */

#include <stdatomic.h>

#include "png.h"

/* A capture and where its images go: <prefix>_processed.png (1.1.1's save_image name), or
 * <prefix>_<index:05>_processed.png per image (index = position in the file's image list) for
 * per-packet commands (numbered) and for a flow command's file with several images; docs/cli.md
 * "Outputs". */
typedef struct hf_image_file {
    const char *path;     /* borrowed */
    const char *prefix;   /* borrowed */
} hf_image_file;

typedef struct hf_write_request {
    int numbered;              /* per-packet commands: every name carries its index */
    hf_png_encoder *encoder;   /* borrowed, used by this call alone: level and filter of the PNGs */
    const atomic_int *cancel;  /* borrowed, may be NULL: nonzero = stop before the next image */
} hf_write_request;

/* The outcome of one file of hf_job_write_files. */
typedef struct hf_written_file {
    hf_status status;      /* HF_OK: all its images written; HF_INTERRUPTED: cancelled first */
    hf_error error;        /* when status != HF_OK */
    char *failed_output;   /* owned (hf_malloc), NULL: the output file a write failed on; NULL
                              when the capture (or the cancel) is to blame */
    hf_error damage;       /* status HF_OK when the file was intact */
    size_t images;         /* images of the file: all written when status == HF_OK */
    size_t packets;        /* packets read (kept or counted) */
} hf_written_file;

/* For files[0..n), in order, on the calling thread: hf_job_extract_file, then each image from
 * the last to the first converted to 8-bit grey (hf_png_gray8_from_*, what 1.1.1's save_image
 * writes), encoded with write->encoder and written atomically (hf_png_write_file_atomic_ex,
 * directories made as needed).  The first image is written last, so it exists only once all of
 * its file's do: fip's resume test (cli.py _is_complete).  A failure ends its file only (its
 * first image is then not written); a cancel ends the call, that file and those after it get
 * HF_INTERRUPTED.  results[0..n) are caller-allocated and initialised here; free them with
 * hf_written_files_free.  The files written do not depend on how a run is cut into calls. */
void hf_job_write_files(const hf_image_file *files,
                        size_t n,
                        const hf_job_config *config,
                        const hf_image_request *request,
                        const hf_write_request *write,
                        hf_written_file *results);

void hf_written_files_free(hf_written_file *results, size_t n);

/* Free the images of results[0..n). */
void hf_file_results_free(hf_file_result *results, size_t n);

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

/* The same for a flow job: each flow keeps at most hf_render_packets_needed(params) packets (the
 * smaller of that and a max_packets already set) and hf_render_bytes_needed(params) bytes of
 * each, so rendering a flow's kept packets gives exactly the image of all its packets.  The
 * flow's packet count (min_packets, the metadata) still counts every packet. */
void hf_flow_config_keep_for_image(hf_flow_config *flows, const hf_image_params *params);

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
