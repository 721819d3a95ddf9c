/*
 * job.c -- reader -> dissect -> preprocess for one source (see job.h).
 */
/* pthreads (POSIX.1-2008) for hf_job_extract_files on top of C11. */
#define _POSIX_C_SOURCE 200809L

#include "job.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "dissect.h"
#include "filter.h"
#include "reader.h"

void hf_packet_list_init(hf_packet_list *list)
{
    hf_buf empty = HF_BUF_INIT;
    list->bytes = empty;
    list->keys = empty;
    list->offsets = NULL;
    list->key_offsets = NULL;
    list->timestamps_ns = NULL;
    list->record_indices = NULL;
    list->count = 0;
    list->capacity = 0;
    list->total = 0;
    list->kept_bytes = SIZE_MAX;
}

void hf_packet_list_free(hf_packet_list *list)
{
    hf_buf_free(&list->bytes);
    hf_buf_free(&list->keys);
    hf_free(list->offsets);
    hf_free(list->key_offsets);
    hf_free(list->timestamps_ns);
    hf_free(list->record_indices);
    hf_packet_list_init(list);
}

/* Make room for one more packet in the per-packet arrays. */
static hf_status reserve_entry(hf_packet_list *list, int with_keys)
{
    if (list->offsets == NULL) {
        /* offsets[0] must exist before the first append */
        list->offsets = hf_calloc(1, sizeof *list->offsets);
        if (list->offsets == NULL) return HF_NOMEM;
    }
    if (with_keys && list->key_offsets == NULL) {
        list->key_offsets = hf_calloc(list->capacity + 1, sizeof *list->key_offsets);
        if (list->key_offsets == NULL) return HF_NOMEM;
    }
    if (list->count < list->capacity) return HF_OK;
    size_t capacity = list->capacity ? list->capacity * 2 : 64, bytes;
    if (capacity < list->capacity || hf_size_mul(capacity + 1, sizeof(size_t), &bytes))
        return HF_NOMEM;
    size_t *offsets = hf_realloc(list->offsets, bytes);
    if (offsets == NULL) return HF_NOMEM;
    list->offsets = offsets;
    if (list->key_offsets != NULL) {
        size_t *key_offsets = hf_realloc(list->key_offsets, bytes);
        if (key_offsets == NULL) return HF_NOMEM;
        list->key_offsets = key_offsets;
    }
    int64_t *timestamps = hf_realloc(list->timestamps_ns, capacity * sizeof(int64_t));
    if (timestamps == NULL) return HF_NOMEM;
    list->timestamps_ns = timestamps;
    uint64_t *indices = hf_realloc(list->record_indices, capacity * sizeof(uint64_t));
    if (indices == NULL) return HF_NOMEM;
    list->record_indices = indices;
    list->capacity = capacity;
    return HF_OK;
}

hf_status hf_packet_list_append(hf_packet_list *list, const uint8_t *data, size_t length,
                                int64_t timestamp_ns, uint64_t record_index)
{
    hf_status status = reserve_entry(list, 0);
    if (status != HF_OK) return status;
    status = hf_buf_append(&list->bytes, data, length);
    if (status != HF_OK) return status;
    list->timestamps_ns[list->count] = timestamp_ns;
    list->record_indices[list->count] = record_index;
    list->offsets[list->count + 1] = list->bytes.length;
    list->count++;
    list->total++;
    return HF_OK;
}

#if defined(HF_DEBUG)
/* hf_preprocess_frame_prefix_to's contract (preprocess.h), on every packet it takes: the bytes
 * the full dissection's path writes. */
static void check_frame_prefix(const uint8_t *data, size_t length, uint32_t linktype,
                               const hf_anonymizer *anonymizer, uint64_t index, size_t limit,
                               const uint8_t *bytes, size_t written)
{
    hf_dissection dissection;
    hf_address_map addresses;
    hf_error error;
    hf_buf full = HF_BUF_INIT;
    hf_address_map_begin(&addresses, anonymizer, index, data, length);
    if (hf_dissect_packet(data, length, linktype, &dissection) != HF_OK ||
        hf_preprocess_packet_prefix(data, length, &dissection, HF_PREPROCESS_NONE, &addresses,
                                    limit, &full, &error) != HF_OK)
        (void)HF_NEVER(1);
    else
        (void)HF_NEVER(full.length != written ||
                       (written > 0 && memcmp(full.data, bytes, written) != 0));
    hf_buf_free(&full);
}
#endif

/* The NONE bytes of one of the commonest frames without a dissection (preprocess.h,
 * hf_preprocess_frame_prefix_to) into destination[0 .. limit): 1 when written (*written). */
static int frame_prefix(const uint8_t *data, size_t length, uint32_t linktype,
                        const hf_anonymizer *anonymizer, uint64_t index, size_t limit,
                        uint8_t *destination, size_t *written)
{
    hf_address_map addresses;
    hf_address_map_begin(&addresses, anonymizer, index, data, length);
    if (!hf_preprocess_frame_prefix_to(data, length, linktype, &addresses, limit, destination,
                                       written))
        return 0;
#if defined(HF_DEBUG)
    check_frame_prefix(data, length, linktype, anonymizer, index, limit, destination, *written);
#endif
    return 1;
}

/* Dissect and preprocess one frame: its string (and, with collect_keys, its dedup key) appended
 * to `out`'s buffers; on failure nothing is. */
static hf_status dissect_and_preprocess(const uint8_t *data, size_t length, uint32_t linktype,
                                        uint64_t index, size_t limit,
                                        const hf_job_config *config, hf_packet_list *out,
                                        hf_error *error)
{
    hf_dissection dissection;
    hf_status status = hf_dissect_packet(data, length, linktype, &dissection);
    if (status != HF_OK)
        return hf_error_set(error, status, (int64_t)index, -1, "dissection failed");
    hf_address_map addresses;
    hf_address_map_begin(&addresses, &config->anonymizer, index, data, length);
    size_t before = out->bytes.length;
    status = hf_preprocess_packet_prefix(data, length, &dissection, config->mode, &addresses,
                                         limit, &out->bytes, error);
    if (status != HF_OK) {
        out->bytes.length = before;
        return status;
    }
    if (config->collect_keys) {
        status = hf_preprocess_dedup_key(data, length, &dissection, &out->keys);
        if (status != HF_OK) {
            out->bytes.length = before;
            return hf_error_set(error, status, (int64_t)index, -1, "out of memory");
        }
        out->key_offsets[out->count + 1] = out->keys.length;
    }
    return HF_OK;
}

/* Dissect, preprocess and append one frame. */
static hf_status process_one(const uint8_t *data, size_t length, uint32_t linktype,
                             int64_t timestamp_ns, uint64_t index,
                             const hf_job_config *config, hf_packet_list *out, hf_error *error)
{
    if (config->limit_kept && !config->collect_keys) {
        out->kept_bytes = config->keep_bytes;
        if (out->count >= config->keep_packets) {   /* the image cannot use it: count only */
            out->total++;
            return HF_OK;
        }
    }
    hf_status status = reserve_entry(out, config->collect_keys);
    if (status != HF_OK) return hf_error_set(error, status, (int64_t)index, -1, "out of memory");
    /* Keys need whole packets (de-duplication drops packets after reading, so none is cut). */
    size_t limit = config->limit_kept && !config->collect_keys ? config->keep_bytes : SIZE_MAX;
    int from_frame = 0;
    if (config->mode == HF_PREPROCESS_NONE && !config->collect_keys) {
        size_t room = limit < length ? limit : length, written = 0;
        if (hf_buf_reserve(&out->bytes, room) != HF_OK)
            return hf_error_set(error, HF_NOMEM, (int64_t)index, -1, "out of memory");
        from_frame = frame_prefix(data, length, linktype, &config->anonymizer, index, room,
                                  out->bytes.data + out->bytes.length, &written);
        if (from_frame) out->bytes.length += written;
    }
    if (!from_frame) {
        status = dissect_and_preprocess(data, length, linktype, index, limit, config, out, error);
        if (status != HF_OK) return status;
    }
    out->timestamps_ns[out->count] = timestamp_ns;
    out->record_indices[out->count] = index;
    out->offsets[out->count + 1] = out->bytes.length;
    out->count++;
    out->total++;
    return HF_OK;
}

static hf_status read_all(hf_reader *reader, const hf_job_config *config, hf_packet_list *out,
                          hf_error *damage, hf_error *error)
{
    hf_status status = HF_OK;
    for (uint64_t n = 0; config->packet_limit == 0 || n < config->packet_limit; n++) {
        hf_record record;
        status = hf_reader_next(reader, &record, error);
        if (status == HF_EOF) { status = HF_OK; break; }
        if (status != HF_OK) break;
        status = process_one(record.data, record.caplen, record.linktype, record.timestamp_ns,
                             record.index, config, out, error);
        if (status != HF_OK) break;
    }
    if (damage != NULL) {
        const hf_error *seen = hf_reader_damage(reader);
        if (seen != NULL) *damage = *seen; else hf_error_clear(damage);
    }
    return status;
}

/* The common tail of the two read entry points: read everything from an opened reader. */
static hf_status read_opened(hf_reader *reader, const hf_job_config *config, hf_packet_list *out,
                             hf_error *damage, hf_error *error)
{
    hf_reader_set_scapy_compat(reader, config->scapy_compat);
    hf_status status = read_all(reader, config, out, damage, error);
    hf_reader_free(reader);
    return status;
}

hf_status hf_job_read_file(const char *path, const hf_job_config *config, hf_packet_list *out,
                           hf_error *damage, hf_error *error)
{
    if (damage) hf_error_clear(damage);
    hf_reader *reader = NULL;
    hf_status status = hf_reader_open_path(path, &reader, error);
    return status != HF_OK ? status : read_opened(reader, config, out, damage, error);
}

hf_status hf_job_read_memory(const uint8_t *data, size_t length, const hf_job_config *config,
                             hf_packet_list *out, hf_error *damage, hf_error *error)
{
    if (damage) hf_error_clear(damage);
    hf_reader *reader = NULL;
    hf_status status = hf_reader_open_memory(data, length, &reader, error);
    return status != HF_OK ? status : read_opened(reader, config, out, damage, error);
}

hf_status hf_job_process_frames(const hf_frame *frames, size_t n, const hf_job_config *config,
                                hf_packet_list *out, hf_error *error)
{
    for (size_t i = 0; i < n; i++) {
        hf_status status = process_one(frames[i].data, frames[i].length, frames[i].linktype, 0,
                                       (uint64_t)i, config, out, error);
        if (status != HF_OK) return status;
    }
    return HF_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Images */

void hf_image_list_init(hf_image_list *list)
{
    list->items = NULL;
    list->count = list->capacity = 0;
}

void hf_image_list_free(hf_image_list *list)
{
    for (size_t i = 0; i < list->count; i++) hf_free(list->items[i].pixels);
    hf_free(list->items);
    hf_image_list_init(list);
}

void hf_job_config_keep_for_image(hf_job_config *config, const hf_image_params *params)
{
    size_t packets = hf_render_packets_needed(params), bytes = hf_render_bytes_needed(params);
    config->limit_kept = packets != SIZE_MAX || bytes != SIZE_MAX;
    config->keep_packets = packets;
    config->keep_bytes = bytes;
}

int hf_image_passes_verify(const hf_image_shape *shape, int64_t min_dim, int64_t max_dim)
{
    if ((long long)shape->rows < min_dim || (long long)shape->cols < min_dim) return 0;
    if (max_dim != 0 && ((long long)shape->rows > max_dim || (long long)shape->cols > max_dim))
        return 0;
    return 1;
}

/* Render one image of packets[0..n) and append it unless verify() rejects it. */
static hf_status render_one(const hf_image_request *request, const hf_packet_view *packets,
                            size_t n, hf_image_list *out, hf_error *error)
{
    hf_image image = {{0, 0, HF_PIXEL_UINT8}, NULL};
    hf_status status = hf_render_shape(&request->params, packets, n, &image.shape, error);
    if (status != HF_OK) return status;
    if (!hf_image_passes_verify(&image.shape, request->min_dim, request->max_dim)) return HF_OK;
    size_t bytes = image.shape.rows * image.shape.cols *
                   hf_render_pixel_size(image.shape.pixel_type);   /* <= 2 GiB: render checked */
    if (bytes > 0) {
        image.pixels = hf_malloc(bytes);
        if (image.pixels == NULL)
            return hf_error_set(error, HF_NOMEM, -1, -1, "out of memory for a %zu-byte image", bytes);
        status = hf_render_image(&request->params, packets, n, &image.shape, image.pixels, error);
        if (status != HF_OK) {
            hf_free(image.pixels);
            return status;
        }
    }
    if (out->count == out->capacity) {
        size_t capacity = out->capacity ? out->capacity * 2 : 4;
        hf_image *items = capacity > SIZE_MAX / sizeof *items ? NULL
                          : hf_realloc(out->items, capacity * sizeof *items);
        if (items == NULL) {
            hf_free(image.pixels);
            return hf_error_set(error, HF_NOMEM, -1, -1, "out of memory");
        }
        out->items = items;
        out->capacity = capacity;
    }
    out->items[out->count++] = image;
    return HF_OK;
}

hf_status hf_job_render(const hf_packet_list *packets, const hf_image_request *request,
                        hf_image_list *out, hf_error *error)
{
    const hf_image_params *params = &request->params;
    int per_packet = params->kind == HF_IMAGE_PACKET || params->kind == HF_IMAGE_MARKOV_PACKET;
    size_t n = packets->total, used = packets->count;
    if (packets->kept_bytes != SIZE_MAX && hf_render_bytes_needed(params) > packets->kept_bytes)
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "packets were cut for another image");
    if (per_packet) {
        if (n != used)
            return hf_error_set(error, HF_ARGUMENT, -1, -1, "packets were dropped for another image");
        for (size_t i = 0; i < used; i++) {
            hf_packet_view view = {hf_packet_list_data(packets, i), hf_packet_list_length(packets, i)};
            hf_status status = render_one(request, &view, 1, out, error);
            if (status != HF_OK) return status;
        }
        return HF_OK;
    }
    /* §4.2: no image for an empty flow or one shorter than min_packets_per_flow */
    if (n == 0 || (request->min_packets > 0 && (uint64_t)n < (uint64_t)request->min_packets))
        return HF_OK;
    if (request->max_packets > 0 && (uint64_t)n > (uint64_t)request->max_packets)
        n = (size_t)request->max_packets;
    if (used > n) used = n;
    if (used < n && hf_render_packets_needed(params) > used)
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "packets were dropped for another image");
    hf_packet_view *views = hf_calloc(used ? used : 1, sizeof *views);
    if (views == NULL) return hf_error_set(error, HF_NOMEM, -1, -1, "out of memory");
    for (size_t i = 0; i < used; i++) {
        views[i].data = hf_packet_list_data(packets, i);
        views[i].length = hf_packet_list_length(packets, i);
    }
    hf_status status = render_one(request, views, used, out, error);
    hf_free(views);
    return status;
}

hf_status hf_job_extract_file(const char *path, const hf_job_config *config,
                              const hf_image_request *request, hf_image_list *out,
                              size_t *packets_read, hf_error *damage, hf_error *error)
{
    hf_job_config limited = *config;
    if (!config->collect_keys) hf_job_config_keep_for_image(&limited, &request->params);
    hf_packet_list packets;
    hf_packet_list_init(&packets);
    hf_status status = hf_job_read_file(path, &limited, &packets, damage, error);
    if (packets_read != NULL) *packets_read = packets.total;
    if (status == HF_OK) status = hf_job_render(&packets, request, out, error);
    hf_packet_list_free(&packets);
    return status;
}

typedef struct batch {
    const char *const *paths;
    size_t n;
    const hf_job_config *config;
    const hf_image_request *request;
    hf_file_result *results;
    atomic_size_t next;            /* the next file to hand out */
} batch;

static void *batch_worker(void *argument)
{
    batch *b = argument;
    for (;;) {
        size_t i = atomic_fetch_add(&b->next, 1);
        if (i >= b->n) return NULL;
        hf_file_result *r = &b->results[i];
        r->status = hf_job_extract_file(b->paths[i], b->config, b->request, &r->images,
                                        &r->packets, &r->damage, &r->error);
        if (r->status != HF_OK) hf_image_list_free(&r->images);
    }
}

void hf_job_extract_files(const char *const *paths, size_t n, const hf_job_config *config,
                          const hf_image_request *request, int threads, hf_file_result *results)
{
    for (size_t i = 0; i < n; i++) {
        results[i].status = HF_OK;
        hf_error_clear(&results[i].error);
        hf_error_clear(&results[i].damage);
        hf_image_list_init(&results[i].images);
        results[i].packets = 0;
    }
    batch b = {paths, n, config, request, results, 0};
    atomic_init(&b.next, 0);
    size_t wanted = threads < 1 ? 1 : (size_t)threads;
    if (wanted > HF_JOB_MAX_THREADS) wanted = HF_JOB_MAX_THREADS;
    if (wanted > n) wanted = n;
    pthread_t workers[HF_JOB_MAX_THREADS];
    size_t started = 0;
    /* the calling thread is one of the workers */
    while (started + 1 < wanted && pthread_create(&workers[started], NULL, batch_worker, &b) == 0)
        started++;
    batch_worker(&b);
    for (size_t t = 0; t < started; t++) pthread_join(workers[t], NULL);
}

void hf_file_results_free(hf_file_result *results, size_t n)
{
    for (size_t i = 0; i < n && results != NULL; i++) hf_image_list_free(&results[i].images);
}

/* ---------------------------------------------------------------------------------------------- */
/* fip's files: images into PNG files */

/* *name = the output name of image `index` of `count` (job.h: hf_image_file), NUL-terminated. */
static hf_status image_name(const char *prefix, size_t index, size_t count, int numbered,
                            hf_buf *name)
{
    char suffix[48];
    int length = numbered || count > 1
        ? snprintf(suffix, sizeof suffix, "_%05zu_processed.png", index)
        : snprintf(suffix, sizeof suffix, "_processed.png");
    name->length = 0;
    hf_status status = hf_buf_append(name, prefix, strlen(prefix));
    return status == HF_OK ? hf_buf_append(name, suffix, (size_t)length + 1) : status;
}

/* The 8-bit grey pixels of `image` (its own when uint8, else converted into *gray). */
static hf_status gray8_of_image(const hf_image *image, hf_buf *gray, const uint8_t **out,
                                hf_error *error)
{
    size_t n = image->shape.rows * image->shape.cols;   /* fits: the image was allocated */
    if (image->shape.pixel_type == HF_PIXEL_UINT8) {
        *out = image->pixels;
        return HF_OK;
    }
    gray->length = 0;
    if (hf_buf_reserve(gray, n) != HF_OK)
        return hf_error_set(error, HF_NOMEM, -1, -1, "png: out of memory");
    *out = gray->data;
    if (image->shape.pixel_type == HF_PIXEL_FLOAT64) {
        hf_png_gray8_from_float64(image->pixels, n, gray->data);
        return HF_OK;
    }
    return hf_png_gray8_from_int64(image->pixels, n, gray->data, error);
}

/* Write the images of one file, last to first (see hf_job_write_files).  Each image's pixels
 * are freed once written, so the next file's reuse the memory. */
static hf_status write_images(const hf_image_file *file, hf_image_list *images,
                              const hf_write_request *write, hf_buf *gray, hf_buf *name,
                              hf_written_file *result)
{
    hf_error *error = &result->error;
    hf_png_encoder *encoder = write->encoder;
    for (size_t k = images->count; k-- > 0;) {
        if (write->cancel != NULL && atomic_load(write->cancel))
            return hf_error_set(error, HF_INTERRUPTED, -1, -1, "cancelled");
        hf_image *image = &images->items[k];
        if (image->shape.rows == 0 || image->shape.cols == 0)
            return hf_error_set(error, HF_ARGUMENT, -1, -1,
                                "cannot save an empty image (%zu x %zu pixels)",
                                image->shape.cols, image->shape.rows);
        const uint8_t *pixels = NULL;
        hf_status status = gray8_of_image(image, gray, &pixels, error);
        if (status != HF_OK) return status;
        if (image_name(file->prefix, k, images->count, write->numbered, name) != HF_OK)
            return hf_error_set(error, HF_NOMEM, -1, -1, "png: out of memory");
        hf_buf *png = hf_png_encoder_buffer(encoder);
        status = hf_png_encoder_encode(encoder, pixels, image->shape.cols, image->shape.rows,
                                       image->shape.cols, png, error);
        if (status == HF_OK)
            status = hf_png_write_file_atomic_ex((const char *)name->data, png->data,
                                                 png->length, HF_PNG_WRITE_MAKE_DIRS, error);
        if (status != HF_OK) {
            if (status != HF_NOMEM) {
                result->failed_output = hf_malloc(name->length);
                if (result->failed_output != NULL)
                    memcpy(result->failed_output, name->data, name->length);
            }
            return status;
        }
        hf_free(image->pixels);
        image->pixels = NULL;
    }
    return HF_OK;
}

void hf_job_write_files(const hf_image_file *files, size_t n, const hf_job_config *config,
                        const hf_image_request *request, const hf_write_request *write,
                        hf_written_file *results)
{
    for (size_t i = 0; i < n; i++) {
        memset(&results[i], 0, sizeof results[i]);
        results[i].status = HF_OK;
        hf_error_clear(&results[i].error);
        hf_error_clear(&results[i].damage);
    }
    hf_image_list images;
    hf_image_list_init(&images);
    hf_buf gray = HF_BUF_INIT, name = HF_BUF_INIT;
    size_t i = 0;
    for (; i < n; i++) {
        hf_written_file *result = &results[i];
        if (write->cancel != NULL && atomic_load(write->cancel)) break;
        result->status = hf_job_extract_file(files[i].path, config, request, &images,
                                             &result->packets, &result->damage, &result->error);
        result->images = images.count;
        if (result->status == HF_OK)
            result->status = write_images(&files[i], &images, write, &gray, &name, result);
        hf_image_list_free(&images);
        if (result->status == HF_INTERRUPTED) { i++; break; }
    }
    for (; i < n; i++)
        results[i].status = hf_error_set(&results[i].error, HF_INTERRUPTED, -1, -1, "cancelled");
    hf_buf_free(&gray);
    hf_buf_free(&name);
}

void hf_written_files_free(hf_written_file *results, size_t n)
{
    for (size_t i = 0; i < n && results != NULL; i++) {
        hf_free(results[i].failed_output);
        results[i].failed_output = NULL;
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* Flow jobs */

void hf_flow_config_keep_for_image(hf_flow_config *flows, const hf_image_params *params)
{
    size_t packets = hf_render_packets_needed(params), bytes = hf_render_bytes_needed(params);
    if (packets != SIZE_MAX && (flows->max_packets == 0 || packets < flows->max_packets))
        flows->max_packets = packets;
    if (bytes < flows->bytes_per_packet) flows->bytes_per_packet = bytes;
}

struct hf_flow_job {
    hf_reader *reader;          /* owned */
    hf_filter *filter;          /* owned; NULL = none */
    hf_flow_table *table;       /* owned */
    hf_job_config packets;
    size_t bytes_per_packet;    /* the table keeps this much of a packet (hf_flow_config) */
    hf_buf scratch;             /* owned: the current packet's preprocessed bytes */
    uint64_t records_read;
    uint64_t records_matched;
    int input_done;             /* the reader is exhausted and the table finished */
    int filter_failed;          /* the last error came from the filter */
    hf_error damage;
};

hf_status hf_flow_job_open(const char *path, const hf_flow_job_config *config, hf_flow_job **out,
                           hf_error *error)
{
    *out = NULL;
    hf_flow_job *job = hf_calloc(1, sizeof *job);
    if (job == NULL) return hf_error_set(error, HF_NOMEM, -1, -1, "out of memory");
    hf_error_clear(&job->damage);
    job->packets = config->packets;
    job->bytes_per_packet = config->flows.bytes_per_packet;
    hf_status status = HF_OK;
    if (config->bpf != NULL && config->bpf[0] != '\0') {
        status = hf_filter_new(config->bpf, &job->filter, error);
        if (status != HF_OK) goto fail;
    }
    status = hf_flow_table_new(&config->flows, &job->table, error);
    if (status != HF_OK) goto fail;
    status = hf_reader_open_path(path, &job->reader, error);
    if (status != HF_OK) goto fail;
    hf_reader_set_scapy_compat(job->reader, config->packets.scapy_compat);
    *out = job;
    return HF_OK;
fail:
    hf_flow_job_free(job);
    return status;
}

/* What the materialize callbacks need to preprocess one record. */
typedef struct materialize_context {
    hf_flow_job *job;
    const hf_record *record;
    hf_dissection *dissection;   /* filled by `dissected` time: lazily (dissect_once) */
    int dissected;
    hf_error *error;
} materialize_context;

/* The record's dissection, made on first use: a packet whose key came from
 * hf_flow_key_from_frame is dissected only if its flow keeps it. */
static hf_status dissect_once(materialize_context *m)
{
    if (m->dissected) return HF_OK;
    hf_status status = hf_dissect_packet(m->record->data, m->record->caplen, m->record->linktype,
                                         m->dissection);
    if (status != HF_OK)
        return hf_error_set(m->error, status, (int64_t)m->record->index, -1, "dissection failed");
    m->dissected = 1;
    return HF_OK;
}

static void begin_addresses(const materialize_context *m, hf_address_map *addresses)
{
    hf_address_map_begin(addresses, &m->job->packets.anonymizer, m->record->index,
                         m->record->data, m->record->caplen);
}

/* frame_prefix for the record being added, in NONE mode: 1 when its bytes were written. */
static int materialize_from_frame(materialize_context *m, uint8_t *destination, size_t limit,
                                  size_t *length)
{
    return m->job->packets.mode == HF_PREPROCESS_NONE &&
           frame_prefix(m->record->data, m->record->caplen, m->record->linktype,
                        &m->job->packets.anonymizer, m->record->index, limit, destination,
                        length);
}

/* Into the job's scratch buffer (a new flow, or one without room: flows.h, materialize). */
static hf_status materialize_packet(void *context, const uint8_t **bytes, size_t *length)
{
    materialize_context *m = context;
    hf_buf *scratch = &m->job->scratch;
    size_t limit = m->job->bytes_per_packet < m->record->caplen ? m->job->bytes_per_packet
                                                                : m->record->caplen;
    scratch->length = 0;
    if (m->job->packets.mode == HF_PREPROCESS_NONE && hf_buf_reserve(scratch, limit) == HF_OK &&
        materialize_from_frame(m, scratch->data, limit, &scratch->length)) {
        *bytes = scratch->data;
        *length = scratch->length;
        return HF_OK;
    }
    hf_status status = dissect_once(m);
    if (status != HF_OK) return status;
    hf_address_map addresses;
    begin_addresses(m, &addresses);
    m->job->scratch.length = 0;
    /* Only the prefix the table keeps (flows.h: it copies the first bytes_per_packet bytes). */
    status = hf_preprocess_packet_prefix(m->record->data, m->record->caplen, m->dissection,
                                         m->job->packets.mode, &addresses,
                                         m->job->bytes_per_packet, &m->job->scratch, m->error);
    *bytes = m->job->scratch.data;
    *length = m->job->scratch.length;
    return status;
}

/* Straight into the flow's buffer (flows.h, materialize_to): no second copy of the bytes. */
static hf_status materialize_packet_to(void *context, uint8_t *destination, size_t capacity,
                                       size_t *length)
{
    materialize_context *m = context;
    if (materialize_from_frame(m, destination, capacity, length)) return HF_OK;
    hf_status status = dissect_once(m);
    if (status != HF_OK) return status;
    hf_address_map addresses;
    begin_addresses(m, &addresses);
    return hf_preprocess_packet_prefix_to(m->record->data, m->record->caplen, m->dissection,
                                          m->job->packets.mode, &addresses, capacity, destination,
                                          length, &m->job->scratch, m->error);
}

/* Read, filter, dissect, preprocess and add one record.  OUT: *done = 1 at the end of input. */
static hf_status feed_one(hf_flow_job *job, int *done, hf_error *error)
{
    *done = 0;
    if (job->packets.packet_limit != 0 && job->records_read >= job->packets.packet_limit) {
        *done = 1;
        return HF_OK;
    }
    hf_record record;
    hf_status status = hf_reader_next(job->reader, &record, error);
    if (status == HF_EOF) { *done = 1; return HF_OK; }
    if (status != HF_OK) return status;
    job->records_read++;
    if (job->filter != NULL) {
        int matches = 0;
        status = hf_filter_match(job->filter, record.linktype, record.data, record.caplen,
                                 record.wirelen, &matches, error);
        if (status != HF_OK) {
            error->record_index = (int64_t)record.index;
            job->filter_failed = 1;
            return status;
        }
        if (!matches) return HF_OK;
    }
    job->records_matched++;
    /* The key of the commonest frames comes straight from their bytes; the others are dissected
     * now.  Dissection (and preprocessing) of the rest waits until the flow keeps the packet
     * (flows.h, materialize): a third of the benchmark's packets are past a flow image's 64;
     * in NONE mode the commonest frames are not dissected at all (materialize_from_frame).
     * Every field of `packet` is set below, one by one (zeroing it first was wasted stores). */
    hf_dissection dissection;
    hf_flow_packet packet;
    materialize_context context = {job, &record, &dissection, 0, error};
    if (!hf_flow_key_from_frame(record.data, record.caplen, record.linktype, &packet)) {
        if ((status = dissect_once(&context)) != HF_OK) return status;
        status = hf_flow_key_from_dissection(record.data, record.caplen, &dissection, &packet);
        if (status != HF_OK)
            return hf_error_set(error, status, (int64_t)record.index, -1, "no flow key");
    }
#if defined(HF_DEBUG)
    else {  /* the contract of hf_flow_key_from_frame: the key of the full dissection */
        hf_flow_packet full;
        if (dissect_once(&context) != HF_OK ||
            hf_flow_key_from_dissection(record.data, record.caplen, &dissection, &full) != HF_OK)
            (void)HF_NEVER(1);
        else if (HF_NEVER(full.has_key != packet.has_key || full.tcp_flags != packet.tcp_flags ||
                          memcmp(&full.key, &packet.key, sizeof full.key) != 0))
            packet = full;
    }
#endif
    packet.bytes = NULL;
    packet.length = 0;
    packet.materialize = materialize_packet;
    packet.materialize_to = materialize_packet_to;
    packet.materialize_context = &context;
    packet.timestamp_ns = record.timestamp_ns;
    packet.record_index = record.index;
    packet.frame_length = record.wirelen > record.caplen ? record.wirelen : record.caplen;
    return hf_flow_table_add(job->table, &packet, error);
}

hf_status hf_flow_job_next(hf_flow_job *job, hf_flow **flow, hf_error *error)
{
    *flow = NULL;
    for (;;) {
        if (hf_flow_table_pop(job->table, flow) == HF_OK) return HF_OK;
        if (job->input_done) return HF_EOF;
        int done = 0;
        hf_status status = feed_one(job, &done, error);
        if (status != HF_OK) return status;
        if (done) {
            const hf_error *seen = hf_reader_damage(job->reader);
            if (seen != NULL) job->damage = *seen;
            hf_flow_table_finish(job->table);
            job->input_done = 1;
        }
    }
}

const hf_error *hf_flow_job_damage(const hf_flow_job *job) { return &job->damage; }

int hf_flow_job_filter_failed(const hf_flow_job *job) { return job->filter_failed; }

void hf_flow_job_counts(const hf_flow_job *job, uint64_t *records_read, uint64_t *records_matched)
{
    *records_read = job->records_read;
    *records_matched = job->records_matched;
}

void hf_flow_job_stats(const hf_flow_job *job, hf_flow_stats *out)
{
    hf_flow_table_stats(job->table, out);
}

void hf_flow_job_free(hf_flow_job *job)
{
    if (job == NULL) return;
    hf_reader_free(job->reader);
    hf_filter_free(job->filter);
    hf_flow_table_free(job->table);
    hf_buf_free(&job->scratch);
    hf_free(job);
}
