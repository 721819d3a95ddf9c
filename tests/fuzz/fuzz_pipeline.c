/*
 * fuzz_pipeline.c -- libFuzzer harness for the whole C pipeline, fed from memory:
 *   reader -> dissect -> preprocess (NONE, HEADER x 4 anonymize modes) -> dedup key
 *          -> render (every image kind, several parameter sets) -> png;  and -> flows.
 *
 * Input: capture bytes.  The image and flow parameters come from 8 bytes that readers ignore,
 * so that the fuzzer can vary them without breaking the capture: bytes 8..15 of a classic pcap
 * (thiszone, sigfigs), bytes 16..23 of a pcapng (the SHB section length), bytes 8..15 otherwise.
 *
 * Contracts checked besides the sanitizers:
 *   - hf_job_read_memory gives exactly the packets of the hand-run stages (first 64 records);
 *   - render: hf_render_image succeeds whenever hf_render_shape did, and rendering the packets
 *     cut to hf_render_bytes_needed / hf_render_packets_needed gives the same image (render.h);
 *     huge or negative parameters give HF_ARGUMENT or HF_LIMIT, never a crash;
 *   - png: every non-empty uint8 image encodes;
 *   - flows, with tiny memory limits: after every add the table is within max_memory_bytes or
 *     has no open flow left; kept packets respect max_packets and bytes_per_packet; with
 *     min_packets 0, the emitted flows account for every packet added.
 */
#include <string.h>

#include "anonymize.h"
#include "bytes.h"
#include "dissect.h"
#include "flows.h"
#include "fuzz_common.h"
#include "job.h"
#include "png.h"
#include "preprocess.h"
#include "reader.h"
#include "render.h"

#define IMAGE_PACKETS 64        /* 1.1.1 reads 64 records */
#define FLOW_RECORDS 512        /* records fed to the flow tables */
#define MAX_RENDER_BYTES (1u << 18)   /* larger images: shape only (speed) */
#define MAX_PNG_PIXELS (1u << 14)     /* larger images are not PNG-encoded (speed) */
#define PNG_PER_INPUT 8               /* PNG encodes per input (speed: deflate dominates) */

static int png_budget;

static const hf_anonymize_mode anonymize_modes[] = {
    HF_ANONYMIZE_RANDOM, HF_ANONYMIZE_CONSISTENT, HF_ANONYMIZE_ZERO, HF_ANONYMIZE_KEEP
};

static void check_list(const hf_packet_list *list)
{
    if (list->count == 0) return;
    FUZZ_CHECK(list->offsets[0] == 0);
    for (size_t i = 0; i < list->count; i++) FUZZ_CHECK(list->offsets[i] <= list->offsets[i + 1]);
    FUZZ_CHECK(list->offsets[list->count] == list->bytes.length);
}

static hf_packet_view *views_of(const hf_packet_list *list, size_t n)
{
    hf_packet_view *v = calloc(n ? n : 1, sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < n; i++) {
        v[i].data = hf_packet_list_data(list, i);
        v[i].length = hf_packet_list_length(list, i);
    }
    return v;
}

/* Render one image; returns a malloc'd pixel buffer (or NULL) and its shape. */
static void *render(const hf_image_params *p, const hf_packet_view *views, size_t n,
                    hf_image_shape *shape, hf_status *status_out)
{
    hf_error error;
    hf_error_clear(&error);
    hf_status status = hf_render_shape(p, views, n, shape, &error);
    *status_out = status;
    if (status != HF_OK) {
        FUZZ_CHECK(status == HF_ARGUMENT || status == HF_LIMIT);
        return NULL;
    }
    size_t elements, bytes;
    FUZZ_CHECK(!hf_size_mul(shape->rows, shape->cols, &elements));
    size_t pixel = hf_render_pixel_size(shape->pixel_type);
    FUZZ_CHECK(pixel == 1 || pixel == 8);
    FUZZ_CHECK(!hf_size_mul(elements, pixel, &bytes));
    FUZZ_CHECK(bytes <= HF_RENDER_MAX_IMAGE_BYTES);
    if (bytes > MAX_RENDER_BYTES) { *status_out = HF_LIMIT; return NULL; }
    void *out = malloc(bytes ? bytes : 8);
    if (!out) { *status_out = HF_NOMEM; return NULL; }
    FUZZ_CHECK(hf_render_image(p, views, n, shape, bytes ? out : NULL, &error) == HF_OK);
    return out;
}

static void render_and_encode(const hf_image_params *p, const hf_packet_view *views, size_t n,
                              hf_png_encoder *encoder, hf_buf *png)
{
    hf_image_shape shape;
    hf_status status;
    void *pixels = render(p, views, n, &shape, &status);
    if (!pixels) return;
    if (shape.pixel_type == HF_PIXEL_UINT8 && shape.rows && shape.cols &&
        shape.rows * shape.cols <= MAX_PNG_PIXELS && png_budget > 0) {
        png_budget--;
        hf_error error;
        hf_status s = hf_png_encoder_encode(encoder, pixels, shape.cols, shape.rows, 0, png,
                                            &error);
        FUZZ_CHECK(s == HF_OK);
        FUZZ_CHECK(png->length > 8 && png->data[1] == 'P');
    }
    /* The stage-cutting hints of render.h must not change the image. */
    size_t need_bytes = hf_render_bytes_needed(p), need_packets = hf_render_packets_needed(p);
    if (need_bytes != SIZE_MAX || (need_packets != SIZE_MAX && need_packets < n)) {
        size_t m = need_packets < n ? need_packets : n;
        hf_packet_view *cut = calloc(m ? m : 1, sizeof *cut);
        if (cut) {
            for (size_t i = 0; i < m; i++) {
                cut[i] = views[i];
                if (cut[i].length > need_bytes) cut[i].length = need_bytes;
            }
            hf_image_shape shape2;
            hf_status status2;
            void *pixels2 = render(p, cut, m, &shape2, &status2);
            FUZZ_CHECK(status2 == HF_OK);
            FUZZ_CHECK(shape2.rows == shape.rows && shape2.cols == shape.cols &&
                       shape2.pixel_type == shape.pixel_type);
            size_t bytes = shape.rows * shape.cols * hf_render_pixel_size(shape.pixel_type);
            FUZZ_CHECK(bytes == 0 || memcmp(pixels, pixels2, bytes) == 0);
            free(pixels2);
            free(cut);
        }
    }
    free(pixels);
}

static const hf_image_kind kinds[] = {
    HF_IMAGE_PACKET, HF_IMAGE_FLOW, HF_IMAGE_FLOW_TILED_FIXED, HF_IMAGE_FLOW_TILED_AUTO,
    HF_IMAGE_MARKOV_PACKET, HF_IMAGE_MARKOV_FLOW
};

static void render_all(const hf_packet_list *list, const uint8_t p[8], hf_png_encoder *encoder,
                       hf_buf *png)
{
    size_t n = list->count < IMAGE_PACKETS ? list->count : IMAGE_PACKETS;
    if (n == 0) return;
    hf_packet_view *views = views_of(list, n);
    if (!views) return;
    /* parameter sets: 1.1.1's defaults, one derived from the input, one at the edges */
    hf_image_params sets[3] = {
        {0, 16, 0, 0, 0, 3},
        {0, p[0] % 40, (int8_t)p[1] * 3, p[2] & 1, (p[2] >> 1) & 1, 1 + p[3] % 6},
        {0, p[4] % 3, (int64_t)((uint64_t)p[5] << 31) - ((int64_t)1 << 38), (p[6] >> 2) & 1,
         (p[6] >> 3) & 1, (p[7] % 4) - 1},
    };
    for (size_t s = 0; s < 3; s++) {
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            hf_image_params params = sets[s];
            params.kind = kinds[k];
            if (kinds[k] == HF_IMAGE_PACKET || kinds[k] == HF_IMAGE_MARKOV_PACKET) {
                for (size_t i = 0; i < n && i < 4; i++)
                    render_and_encode(&params, &views[i], 1, encoder, png);
            } else {
                render_and_encode(&params, views, n, encoder, png);
                if (n > 1) render_and_encode(&params, views, 1, encoder, png);
            }
        }
    }
    /* hostile parameters: describe only, must be refused cleanly */
    static const int64_t huge[] = {-1, (int64_t)1 << 40, INT64_MAX, INT64_MIN, 1000000000};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (size_t h = 0; h < sizeof huge / sizeof huge[0]; h++) {
            hf_image_params params = {kinds[k], huge[h], huge[h], (int)(h & 1), (int)(h & 1),
                                      huge[h]};
            hf_image_shape shape;
            size_t count = (kinds[k] == HF_IMAGE_PACKET || kinds[k] == HF_IMAGE_MARKOV_PACKET)
                               ? 1 : n;
            hf_status st = hf_render_shape(&params, views, count, &shape, NULL);
            FUZZ_CHECK(st == HF_OK || st == HF_ARGUMENT || st == HF_LIMIT);
            if (st == HF_OK) {
                size_t bytes = shape.rows * shape.cols * hf_render_pixel_size(shape.pixel_type);
                FUZZ_CHECK(bytes <= HF_RENDER_MAX_IMAGE_BYTES);
                if (bytes <= MAX_RENDER_BYTES) {
                    void *out = malloc(bytes ? bytes : 8);
                    if (out) {
                        FUZZ_CHECK(hf_render_image(&params, views, count, &shape,
                                                   bytes ? out : NULL, NULL) == HF_OK);
                        free(out);
                    }
                }
            }
        }
    }
    free(views);
}

/* ---- flows ---------------------------------------------------------------------------------- */

typedef struct flow_run {
    hf_flow_table *table;
    hf_flow_config config;
    uint64_t packets_in_flows;
    uint64_t last_sequence_plus_one;
} flow_run;

static void drain(flow_run *run, hf_png_encoder *encoder, hf_buf *png)
{
    hf_flow *flow;
    while (hf_flow_table_pop(run->table, &flow) == HF_OK) {
        FUZZ_CHECK(flow != NULL);
        FUZZ_CHECK(flow->sequence == run->last_sequence_plus_one);
        run->last_sequence_plus_one++;
        FUZZ_CHECK(flow->packet_count >= 1);
        FUZZ_CHECK(flow->kept_count <= flow->packet_count);
        if (run->config.max_packets) FUZZ_CHECK(flow->kept_count <= run->config.max_packets);
        FUZZ_CHECK(flow->first_record_index <= flow->last_record_index);
        FUZZ_CHECK(flow->packet_count_forward <= flow->packet_count);
        FUZZ_CHECK(hf_flow_end_name(flow->end_reason) != NULL);
        run->packets_in_flows += flow->packet_count;
        uint64_t sum = 0;
        for (size_t i = 0; i < flow->kept_count; i++) {
            FUZZ_CHECK(flow->packets[i].length <= run->config.bytes_per_packet);
            FUZZ_CHECK(flow->packets[i].data != NULL || flow->packets[i].length == 0);
            for (size_t j = 0; j < flow->packets[i].length; j++) sum += flow->packets[i].data[j];
        }
        (void)sum;
        if (flow->kept_count) {
            hf_image_params params = {HF_IMAGE_FLOW_TILED_FIXED, 6, 0, 0, 0, 2};
            int budget = png_budget;   /* PNGs are exercised by render_all */
            png_budget = 0;
            render_and_encode(&params, (const hf_packet_view *)flow->packets, flow->kept_count,
                              encoder, png);
            png_budget = budget;
        }
        hf_flow_free(flow);
    }
}

static void flows_add(flow_run *run, const uint8_t *frame, size_t caplen, const hf_dissection *d,
                      const hf_record *record, const uint8_t *bytes, size_t length,
                      hf_png_encoder *encoder, hf_buf *png)
{
    if (!run->table) return;
    hf_flow_packet packet;
    memset(&packet, 0, sizeof packet);
    FUZZ_CHECK(hf_flow_key_from_dissection(frame, caplen, d, &packet) == HF_OK);
    if (packet.has_key) FUZZ_CHECK(packet.key.family == 4 || packet.key.family == 6);
    packet.timestamp_ns = record->timestamp_ns;
    packet.record_index = record->index;
    packet.bytes = bytes;
    packet.length = length;
    packet.frame_length = record->wirelen;
    hf_error error;
    hf_status st = hf_flow_table_add(run->table, &packet, &error);
    FUZZ_CHECK(st == HF_OK || st == HF_NOMEM);
    hf_flow_stats stats;
    hf_flow_table_stats(run->table, &stats);
    if (run->config.max_memory_bytes)
        FUZZ_CHECK(stats.memory_bytes <= run->config.max_memory_bytes || stats.open_flows == 0);
    drain(run, encoder, png);
}

static void flows_begin(flow_run *run, const uint8_t p[8], int variant)
{
    static const size_t memory[] = {1, 300, 2048, 65536};
    static const size_t bytes_per_packet[] = {0, 1, 20, SIZE_MAX};
    memset(run, 0, sizeof *run);
    hf_flow_config_init(&run->config);
    uint8_t b = (uint8_t)(p[variant] ^ p[(variant + 3) & 7]);
    run->config.split_mode = (hf_split_mode)((b + variant) % 3);
    run->config.max_memory_bytes = memory[(b >> 2) & 3];
    run->config.max_packets = (b >> 4) & 3;
    run->config.bytes_per_packet = bytes_per_packet[(b >> 6) & 3];
    run->config.keep_non_ip = variant & 1;
    run->config.idle_timeout_ns = variant ? (int64_t)(p[7] & 15) * 1000000 : 0;
    run->config.active_timeout_ns = variant ? (int64_t)(p[6] & 15) * 5000000 : 0;
    run->config.closed_linger_ns = (int64_t)(p[5] & 3) * 1000000000;
    run->config.hash_seed = p[4];
    hf_error error;
    if (hf_flow_table_new(&run->config, &run->table, &error) != HF_OK) run->table = NULL;
}

static void flows_end(flow_run *run, hf_png_encoder *encoder, hf_buf *png)
{
    if (!run->table) return;
    hf_flow_table_finish(run->table);
    drain(run, encoder, png);
    hf_flow_stats stats;
    hf_flow_table_stats(run->table, &stats);
    FUZZ_CHECK(stats.open_flows == 0);
    FUZZ_CHECK(stats.flows_emitted == run->last_sequence_plus_one);
    FUZZ_CHECK(run->packets_in_flows == stats.packets_added);  /* min_packets is 0 */
    hf_flow_table_free(run->table);
    run->table = NULL;
}

/* ---- the pipeline ---------------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t p[8] = {0};
    size_t at = size >= 4 && data[0] == 0x0a && data[1] == 0x0d && data[2] == 0x0d &&
                data[3] == 0x0a ? 16 : 8;
    for (size_t i = 0; i < 8 && at + i < size; i++) p[i] = data[at + i];
    int scapy = !(p[7] & 0x80);
    png_budget = PNG_PER_INPUT;

    hf_anonymizer anonymizers[4];
    for (int a = 0; a < 4; a++) hf_anonymizer_init(&anonymizers[a], anonymize_modes[a], 1 + a);

    /* 1. the job entry point (what the binding calls) */
    hf_job_config config;
    memset(&config, 0, sizeof config);
    config.mode = HF_PREPROCESS_NONE;
    config.anonymizer = anonymizers[2];   /* ZERO */
    config.packet_limit = IMAGE_PACKETS;
    config.collect_keys = 1;
    config.scapy_compat = scapy;
    hf_packet_list job_list;
    hf_packet_list_init(&job_list);
    hf_error damage, error;
    hf_status job_status = hf_job_read_memory(data, size, &config, &job_list, &damage, &error);
    FUZZ_CHECK(job_status == HF_OK || job_status == HF_FORMAT || job_status == HF_NOMEM);
    check_list(&job_list);

    /* 2. the same stages by hand */
    hf_reader *reader = NULL;
    hf_status open_status = hf_reader_open_memory(data, size, &reader, &error);
    FUZZ_CHECK((open_status == HF_OK) == (job_status == HF_OK || job_status == HF_NOMEM));
    if (open_status != HF_OK) {
        hf_packet_list_free(&job_list);
        return 0;
    }
    hf_reader_set_scapy_compat(reader, scapy);

    hf_png_encoder *encoder = NULL;
    hf_png_options png_options = {p[3] % 3, (int)(p[3] >> 5) % 6 - 1};
    FUZZ_CHECK(hf_png_encoder_new(&png_options, &encoder, &error) == HF_OK);
    hf_buf png = HF_BUF_INIT, scratch = HF_BUF_INIT, key = HF_BUF_INIT;
    hf_packet_list lists[2];   /* NONE + ZERO (compared with the job), HEADER + RANDOM */
    hf_packet_list_init(&lists[0]);
    hf_packet_list_init(&lists[1]);
    flow_run runs[2];
    flows_begin(&runs[0], p, 0);
    flows_begin(&runs[1], p, 1);

    hf_record record;
    for (uint64_t n = 0; n < FLOW_RECORDS && hf_reader_next(reader, &record, &error) == HF_OK; n++) {
        hf_dissection d;
        FUZZ_CHECK(hf_dissect_packet(record.data, record.caplen, record.linktype, &d) == HF_OK);
        size_t lengths[2][4];
        for (int mode = 0; mode < 2; mode++) {
            for (int a = 0; a < 4; a++) {
                hf_address_map map;
                hf_address_map_begin(&map, &anonymizers[a], record.index, record.data,
                                     record.caplen);
                scratch.length = 0;
                hf_status st = hf_preprocess_packet(record.data, record.caplen, &d,
                                                    (hf_preprocess_mode)mode, &map, &scratch,
                                                    &error);
                FUZZ_CHECK(st == HF_OK || st == HF_NOMEM);
                lengths[mode][a] = scratch.length;
                if (n < IMAGE_PACKETS && ((mode == 0 && a == 2) || (mode == 1 && a == 0)))
                    (void)hf_packet_list_append(&lists[mode], scratch.data, scratch.length,
                                                record.timestamp_ns, record.index);
                if (mode == 0 && a == 2)
                    flows_add(&runs[0], record.data, record.caplen, &d, &record, scratch.data,
                              scratch.length, encoder, &png);
                if (mode == 1 && a == 3)
                    flows_add(&runs[1], record.data, record.caplen, &d, &record, scratch.data,
                              scratch.length, encoder, &png);
            }
            for (int a = 1; a < 4; a++) FUZZ_CHECK(lengths[mode][a] == lengths[mode][0]);
        }
        key.length = 0;
        FUZZ_CHECK(hf_preprocess_dedup_key(record.data, record.caplen, &d, &key) == HF_OK);
        if (n < IMAGE_PACKETS && n < job_list.count) {
            /* the job's key and bytes for this record are the hand-run ones */
            FUZZ_CHECK(job_list.record_indices[n] == record.index);
            size_t klen = job_list.key_offsets[n + 1] - job_list.key_offsets[n];
            FUZZ_CHECK(klen == key.length);
            FUZZ_CHECK(memcmp(job_list.keys.data + job_list.key_offsets[n], key.data, klen) == 0);
        }
    }
    hf_reader_free(reader);

    if (job_status == HF_OK) {
        FUZZ_CHECK(job_list.count == lists[0].count);
        FUZZ_CHECK(job_list.bytes.length == lists[0].bytes.length);
        FUZZ_CHECK(job_list.bytes.length == 0 ||
                   memcmp(job_list.bytes.data, lists[0].bytes.data, job_list.bytes.length) == 0);
    }

    /* 3. images and PNGs */
    render_all(&lists[0], p, encoder, &png);
    render_all(&lists[1], p, encoder, &png);

    /* 4. end of input for the flow tables */
    flows_end(&runs[0], encoder, &png);
    flows_end(&runs[1], encoder, &png);

    hf_packet_list_free(&lists[0]);
    hf_packet_list_free(&lists[1]);
    hf_packet_list_free(&job_list);
    hf_buf_free(&png);
    hf_buf_free(&scratch);
    hf_buf_free(&key);
    hf_png_encoder_free(encoder);
    return 0;
}
