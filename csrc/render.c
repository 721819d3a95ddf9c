/*
 * render.c -- heifip 1.1.1's six image kinds written into caller-provided arrays.
 *
 * Contract and the table of reproduced behaviour: render.h.  Normative reference:
 * reference-semantics.md section 3, and the 1.1.1 sources heifip/images/{packet,flow,
 * flow_tiled_fixed,flow_tiled_auto,markovchain}.py, whose NumPy semantics are spelled out below
 * wherever they decide a shape, a dtype or a pixel value.
 *
 * Structure: resolve() turns (params, packets) into a `layout` -- the exact shape, tile geometry
 * and the effective fill byte -- validating every argument and every size product once.  Both
 * hf_render_shape and hf_render_image go through it, so the image writer can trust the layout and
 * its inner loops are plain memcpy/memset per row (no per-pixel branches).  Packet bytes are read
 * through hf_cursor (bytes.h); the Markov counter borrows one bounds-checked span per packet.
 */
#include "render.h"

#include <math.h>
#include <string.h>

#include "bytes.h"

/* A readable address for zero-length views whose data pointer is NULL, so that no memcpy or
 * pointer addition ever sees a null pointer (UB even for 0 bytes).  Immutable. */
static const uint8_t no_bytes[1] = {0};

/* The resolved geometry of one image: everything the writer needs, already validated. */
typedef struct layout {
    hf_image_shape shape;
    size_t tile_dim;      /* PACKET: d; FLOW append: dim; TILED_*: tile side; MARKOV: 16 */
    size_t grid;          /* TILED_*, MARKOV_FLOW: tiles per grid side; else 0 */
    size_t used_packets;  /* packets that contribute pixels (min(n, grid^2) for grids) */
    uint8_t fill;         /* the byte 1.1.1's np.uint8 cast turns `fill` into for this image */
} layout;

size_t hf_render_pixel_size(hf_pixel_type pixel_type)
{
    switch (pixel_type) {
    case HF_PIXEL_UINT8: return 1;
    case HF_PIXEL_FLOAT64: return 8;
    case HF_PIXEL_INT64: return 8;
    }
    return 0;
}

/* np.uint8 of an int64 array: modular (section 3: 300 -> 44, -1 -> 255). */
static uint8_t fill_wrapped(int64_t fill)
{
    return (uint8_t)((uint64_t)fill & 0xFFu);
}

/* HF_RENDER_FILL_FLOAT_PATH: np.uint8 of a float64 array, as NumPy 1.26/2.x do it on x86-64
 * (through a 32-bit cvttsd2si): values outside [-2^31, 2^31 - 1] become 0x80000000, whose low
 * byte is 0.  A tiled image goes down this path when it has a missing tile (np.zeros is float64
 * and np.concatenate promotes the whole image).  Verified against 1.1.1: FlowImageTiledFixed of
 * 3 packets, dim 2, cols 2: fill 2^31+5 -> 0, fill 2^31-1 -> 255; with 4 packets -> 5 and 255. */
static uint8_t fill_float_path(int64_t fill)
{
    return (fill >= INT32_MIN && fill <= INT32_MAX) ? fill_wrapped(fill) : 0;
}

/* int(np.ceil(np.sqrt(n))): NumPy converts the Python int to float64 first. */
static size_t ceil_sqrt(size_t n)
{
    return (size_t)ceil(sqrt((double)n));
}

static int to_size(int64_t value, size_t *out)
{
    if (value < 0 || (uint64_t)value > (uint64_t)SIZE_MAX) return 1;
    *out = (size_t)value;
    return 0;
}

static hf_cursor packet_cursor(const hf_packet_view *packet)
{
    return hf_cursor_make(packet->data ? packet->data : no_bytes, packet->length);
}

static hf_status too_large(hf_error *error, const char *what)
{
    return hf_error_set(error, HF_LIMIT, -1, -1,
                        "%s: the image would exceed HF_RENDER_MAX_IMAGE_BYTES (%zu bytes)", what,
                        HF_RENDER_MAX_IMAGE_BYTES);
}

/* Set shape rows x cols of `pixel_type`, refusing images beyond HF_RENDER_MAX_IMAGE_BYTES. */
static hf_status set_shape(layout *out, size_t rows, size_t cols, hf_pixel_type pixel_type,
                           const char *what, hf_error *error)
{
    size_t elements, bytes;
    if (hf_size_mul(rows, cols, &elements) ||
        hf_size_mul(elements, hf_render_pixel_size(pixel_type), &bytes) ||
        bytes > HF_RENDER_MAX_IMAGE_BYTES)
        return too_large(error, what);
    out->shape.rows = rows;
    out->shape.cols = cols;
    out->shape.pixel_type = pixel_type;
    return HF_OK;
}

/* The tile side of TILED_* and PACKET without auto_dim: dim >= 0 (1.1.1 reshapes to (dim, dim),
 * and NumPy rejects two negative dimensions). */
static hf_status explicit_dim(int64_t dim, const char *what, size_t *out, hf_error *error)
{
    if (dim < 0)
        return hf_error_set(error, HF_ARGUMENT, -1, -1,
                            "%s: dim must be >= 0, got %lld (heifip 1.1.1: reshape error)", what,
                            (long long)dim);
    if (to_size(dim, out)) return too_large(error, what);
    return HF_OK;
}

static hf_status grid_cols(int64_t cols, const char *what, size_t *out, hf_error *error)
{
    if (cols <= 0)
        return hf_error_set(error, HF_ARGUMENT, -1, -1,
                            "%s: cols must be >= 1, got %lld (heifip 1.1.1: ValueError: need at "
                            "least one array to concatenate)", what, (long long)cols);
    if (to_size(cols, out)) return too_large(error, what);
    return HF_OK;
}

static hf_status resolve_packet(const hf_image_params *params, const hf_packet_view *packet,
                                layout *out, hf_error *error)
{
    size_t d = 0;
    if (params->auto_dim) {
        d = ceil_sqrt(packet->length);  /* section 3.1; dim is overwritten, never checked */
    } else {
        hf_status status = explicit_dim(params->dim, "PacketImage", &d, error);
        if (status != HF_OK) return status;
    }
    out->tile_dim = d;
    out->used_packets = 1;
    out->fill = fill_wrapped(params->fill);  /* int64 array: `binaries + [fill] * k` */
    return set_shape(out, d, d, HF_PIXEL_UINT8, "PacketImage", error);
}

static hf_status resolve_flow(const hf_image_params *params, const hf_packet_view *packets,
                              size_t n_packets, layout *out, hf_error *error)
{
    out->used_packets = n_packets;
    out->fill = fill_wrapped(params->fill);
    if (!params->append) {
        /* section 3.2: one row per packet, width max(len); dim is ignored entirely. */
        size_t width = 0;
        for (size_t i = 0; i < n_packets; i++)
            if (packets[i].length > width) width = packets[i].length;
        out->tile_dim = width;
        return set_shape(out, n_packets, width, HF_PIXEL_UINT8, "FlowImage", error);
    }
    /* append: rn = len // dim + (len % dim > 0) (flow.py:39); dim 0 raises ZeroDivisionError,
     * a negative dim a reshape error. */
    if (params->dim <= 0)
        return hf_error_set(error, HF_ARGUMENT, -1, -1,
                            "FlowImage(append=True): dim must be >= 1, got %lld (heifip 1.1.1: "
                            "ZeroDivisionError)", (long long)params->dim);
    size_t dim = 0, total = 0;
    if (to_size(params->dim, &dim)) return too_large(error, "FlowImage");
    for (size_t i = 0; i < n_packets; i++)
        if (hf_size_add(total, packets[i].length, &total)) return too_large(error, "FlowImage");
    size_t rows = total / dim + (total % dim > 0);
    out->tile_dim = dim;
    out->fill = 0;  /* np.pad(..., 'constant') pads with 0, not fill (flow.py:41, section 3.2) */
    return set_shape(out, rows, dim, HF_PIXEL_UINT8, "FlowImage", error);
}

static hf_status resolve_tiled(const hf_image_params *params, const hf_packet_view *packets,
                               size_t n_packets, layout *out, hf_error *error)
{
    const int fixed = params->kind == HF_IMAGE_FLOW_TILED_FIXED;
    const char *what = fixed ? "FlowImageTiledFixed" : "FlowImageTiledAuto";
    size_t grid = 0, tile_dim = 0, side = 0, tiles = 0;
    hf_status status;
    if (fixed) {
        status = grid_cols(params->cols, what, &grid, error);
        if (status != HF_OK) return status;
    } else {
        grid = ceil_sqrt(n_packets);  /* flow_tiled_auto.py:50-51 */
    }
    if (!fixed && params->auto_dim) {
        size_t longest = 0;
        for (size_t i = 0; i < n_packets; i++)
            if (packets[i].length > longest) longest = packets[i].length;
        tile_dim = ceil_sqrt(longest);  /* section 3.4 */
    } else {
        status = explicit_dim(params->dim, what, &tile_dim, error);
        if (status != HF_OK) return status;
    }
    if (hf_size_mul(grid, tile_dim, &side) || hf_size_mul(grid, grid, &tiles))
        return too_large(error, what);
    status = set_shape(out, side, side, HF_PIXEL_UINT8, what, error);
    if (status != HF_OK) return status;
    out->tile_dim = tile_dim;
    out->grid = grid;
    out->used_packets = n_packets < tiles ? n_packets : tiles;
    /* A missing tile makes NumPy promote the image to float64 before the uint8 cast. */
    out->fill = n_packets < tiles ? fill_float_path(params->fill) : fill_wrapped(params->fill);
    return HF_OK;
}

static hf_status resolve_markov_flow(const hf_image_params *params,
                                     const hf_packet_view *packets, size_t n_packets,
                                     layout *out, hf_error *error)
{
    const char *what = "MarkovTransitionMatrixFlow";
    size_t grid = 0, tiles = 0, side = 0;
    hf_status status = grid_cols(params->cols, what, &grid, error);
    if (status != HF_OK) return status;
    if (hf_size_mul(grid, grid, &tiles) || hf_size_mul(grid, 16, &side))
        return too_large(error, what);
    /* np.concatenate gives int64 only if every tile is int64: no np.zeros (float64) tile, i.e.
     * n >= cols^2, and each of the first cols^2 packets is empty (its matrix stays a list of
     * ints, markovchain.py:27-33).  Section 3.5. */
    hf_pixel_type type = HF_PIXEL_INT64;
    if (n_packets < tiles) {
        type = HF_PIXEL_FLOAT64;
    } else {
        for (size_t i = 0; i < tiles; i++)
            if (packets[i].length > 0) { type = HF_PIXEL_FLOAT64; break; }
    }
    status = set_shape(out, side, side, type, what, error);
    if (status != HF_OK) return status;
    out->tile_dim = 16;
    out->grid = grid;
    out->used_packets = n_packets < tiles ? n_packets : tiles;
    return HF_OK;
}

static hf_status resolve(const hf_image_params *params, const hf_packet_view *packets,
                         size_t n_packets, layout *out, hf_error *error)
{
    if (params == NULL || out == NULL)
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "render: NULL params or output");
    if (n_packets > 0 && packets == NULL)
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "render: NULL packet array");
    for (size_t i = 0; i < n_packets; i++)
        if (packets[i].data == NULL && packets[i].length > 0)
            return hf_error_set(error, HF_ARGUMENT, (int64_t)i, -1,
                                "render: packet %zu has a NULL data pointer and length %zu", i,
                                packets[i].length);
    memset(out, 0, sizeof *out);

    switch (params->kind) {
    case HF_IMAGE_PACKET:
    case HF_IMAGE_MARKOV_PACKET:
        if (n_packets != 1)
            return hf_error_set(error, HF_ARGUMENT, -1, -1,
                                "render: a per-packet image takes exactly 1 packet, got %zu",
                                n_packets);
        if (params->kind == HF_IMAGE_PACKET) return resolve_packet(params, packets, out, error);
        out->tile_dim = 16;
        out->used_packets = 1;
        /* np.array of 16 int rows when no row was normalised (empty packet), section 3.5 */
        return set_shape(out, 16, 16, packets[0].length ? HF_PIXEL_FLOAT64 : HF_PIXEL_INT64,
                         "MarkovTransitionMatrixPacket", error);
    case HF_IMAGE_FLOW:
    case HF_IMAGE_FLOW_TILED_FIXED:
    case HF_IMAGE_FLOW_TILED_AUTO:
    case HF_IMAGE_MARKOV_FLOW:
        /* 1.1.1 returns no image for an empty flow (section 4.2); FlowImage and TiledAuto would
         * even raise on max([]). */
        if (n_packets == 0)
            return hf_error_set(error, HF_ARGUMENT, -1, -1,
                                "render: a flow image needs at least 1 packet");
        if (params->kind == HF_IMAGE_FLOW)
            return resolve_flow(params, packets, n_packets, out, error);
        if (params->kind == HF_IMAGE_MARKOV_FLOW)
            return resolve_markov_flow(params, packets, n_packets, out, error);
        return resolve_tiled(params, packets, n_packets, out, error);
    }
    return hf_error_set(error, HF_ARGUMENT, -1, -1, "render: unknown image kind %d",
                        (int)params->kind);
}

hf_status hf_render_shape(const hf_image_params *params, const hf_packet_view *packets,
                          size_t n_packets, hf_image_shape *out, hf_error *error)
{
    layout resolved;
    if (out == NULL) return hf_error_set(error, HF_ARGUMENT, -1, -1, "render: NULL shape");
    hf_status status = resolve(params, packets, n_packets, &resolved, error);
    if (status == HF_OK) *out = resolved.shape;
    return status;
}

int hf_render_fixed_shape(const hf_image_params *params, hf_image_shape *out)
{
    if (params == NULL || out == NULL || params->kind != HF_IMAGE_FLOW_TILED_FIXED) return 0;
    /* resolve_tiled: for TILED_FIXED the side is cols * dim whatever the packets. */
    static const uint8_t byte = 0;
    hf_packet_view one = {&byte, 0};
    hf_error error;
    return hf_render_shape(params, &one, 1, out, &error) == HF_OK;
}

/* ---- writers: the layout is valid, `out` holds rows * cols elements ---------------------- */

/* Copy the next min(remaining, width) bytes of `cursor` to `dst` and pad the row to `width`
 * with `pad`. */
static void copy_row(hf_cursor *cursor, uint8_t *dst, size_t width, uint8_t pad)
{
    size_t remaining = hf_cursor_remaining(cursor);
    size_t take = remaining < width ? remaining : width;
    if (HF_NEVER(hf_read_copy(cursor, take, dst) != HF_OK)) take = 0;
    memset(dst + take, pad, width - take);
}

static void write_packet(const layout *lay, const hf_packet_view *packet, uint8_t *out)
{
    /* flat = bytes + [fill] * (d*d - n), then flat[:d*d]: one d*d "row". */
    hf_cursor cursor = packet_cursor(packet);
    copy_row(&cursor, out, lay->shape.rows * lay->shape.cols, lay->fill);
}

static void write_flow(const layout *lay, const hf_packet_view *packets, size_t n_packets,
                       int append, uint8_t *out)
{
    size_t width = lay->shape.cols;
    if (!append) {
        for (size_t i = 0; i < n_packets; i++) {
            hf_cursor cursor = packet_cursor(&packets[i]);
            copy_row(&cursor, out + i * width, width, lay->fill);
        }
        return;
    }
    size_t written = 0;
    for (size_t i = 0; i < n_packets; i++) {
        hf_cursor cursor = packet_cursor(&packets[i]);
        size_t length = hf_cursor_remaining(&cursor);
        if (HF_NEVER(hf_read_copy(&cursor, length, out + written) != HF_OK)) length = 0;
        written += length;
    }
    memset(out + written, 0, lay->shape.rows * width - written);  /* 'constant' pad: 0 */
}

/* Copy one tile row of d bytes.  d is the tile side of every row of an image, so the common
 * sides get a constant-size memcpy, which the compiler turns into a few moves instead of a library
 * call per 16-byte row (a 128x128 image, dim 16, cols 8, has up to 1,024 of them). */
static inline void copy_tile_row(uint8_t *dst, const uint8_t *src, size_t d)
{
    switch (d) {
    case 8: memcpy(dst, src, 8); return;
    case 16: memcpy(dst, src, 16); return;
    case 32: memcpy(dst, src, 32); return;
    default: memcpy(dst, src, d); return;
    }
}

/* The same for a row of fill bytes (the rows after a short packet's last byte). */
static inline void fill_tile_row(uint8_t *dst, uint8_t fill, size_t d)
{
    switch (d) {
    case 8: memset(dst, fill, 8); return;
    case 16: memset(dst, fill, 16); return;
    case 32: memset(dst, fill, 32); return;
    default: memset(dst, fill, d); return;
    }
}

static void write_tiled(const layout *lay, const hf_packet_view *packets, uint8_t *out)
{
    const size_t d = lay->tile_dim, grid = lay->grid, side = lay->shape.cols;
    const size_t used_tiles = lay->used_packets;   /* <= grid^2; tiles after these are zeros */
    for (size_t k = 0; k < used_tiles; k++) {
        /* tile k at grid row k / cols, column k % cols (section 3.3) */
        uint8_t *dst = out + (k / grid) * d * side + (k % grid) * d;
        /* one bounds-checked span per tile: the first min(length, d*d) bytes, row by row, the
         * partial row and the rows after it padded with fill */
        hf_cursor cursor = packet_cursor(&packets[k]);
        size_t available = hf_cursor_remaining(&cursor);
        size_t used = available < d * d ? available : d * d;
        const uint8_t *src = no_bytes;
        if (HF_NEVER(used > 0 && hf_read_bytes(&cursor, used, &src) != HF_OK)) used = 0;
        size_t full_rows = used / d, partial = used % d, y = 0;
        for (; y < full_rows; y++, dst += side, src += d) copy_tile_row(dst, src, d);
        if (partial) {
            memcpy(dst, src, partial);
            memset(dst + partial, lay->fill, d - partial);
            y++;
            dst += side;
        }
        for (; y < d; y++, dst += side) fill_tile_row(dst, lay->fill, d);
    }
    /* The missing tiles (np.zeros, section 3.3) are all at the end: the rest of the last used
     * grid row, row by row, then every later grid row in one block. */
    size_t grid_row = used_tiles / grid, column = used_tiles % grid;
    if (column != 0) {
        uint8_t *dst = out + grid_row * d * side + column * d;
        for (size_t y = 0; y < d; y++, dst += side) memset(dst, 0, (grid - column) * d);
        grid_row++;
    }
    if (grid_row < grid) memset(out + grid_row * d * side, 0, (grid - grid_row) * d * side);
}

/* One packet's 16x16 transition matrix into dst (row stride `stride` doubles).
 * markovchain.py:13-33: the nibble sequence (high nibble first) of all bytes, M[a][b] += 1 for
 * each consecutive pair, across byte boundaries (2n - 1 transitions); rows with sum s > 0
 * become count / s -- Python's int / int true division, which for counts below 2^53 equals the
 * correctly rounded double division below.  Zero rows stay 0. */
static void write_markov_tile(const hf_packet_view *packet, double *dst, size_t stride)
{
    uint64_t counts[256] = {0};
    hf_cursor cursor = packet_cursor(packet);
    size_t length = hf_cursor_remaining(&cursor);
    const uint8_t *bytes = no_bytes;
    if (HF_NEVER(hf_read_bytes(&cursor, length, &bytes) != HF_OK)) length = 0;
    if (length > 0) {
        unsigned previous_low = bytes[0] & 15u;
        counts[(bytes[0] >> 4) * 16 + previous_low]++;
        for (size_t i = 1; i < length; i++) {
            unsigned high = bytes[i] >> 4, low = bytes[i] & 15u;
            counts[previous_low * 16 + high]++;
            counts[high * 16 + low]++;
            previous_low = low;
        }
    }
    for (size_t a = 0; a < 16; a++) {
        uint64_t sum = 0;
        for (size_t b = 0; b < 16; b++) sum += counts[a * 16 + b];
        double *row = dst + a * stride;
        if (sum == 0) {
            for (size_t b = 0; b < 16; b++) row[b] = 0.0;
        } else {
            for (size_t b = 0; b < 16; b++) row[b] = (double)counts[a * 16 + b] / (double)sum;
        }
    }
}

static void write_markov_flow(const layout *lay, const hf_packet_view *packets, double *out)
{
    const size_t grid = lay->grid, side = lay->shape.cols;
    for (size_t k = 0; k < grid * grid; k++) {
        double *dst = out + (k / grid) * 16 * side + (k % grid) * 16;
        if (k < lay->used_packets) {
            write_markov_tile(&packets[k], dst, side);
        } else {
            for (size_t y = 0; y < 16; y++)
                for (size_t x = 0; x < 16; x++) dst[y * side + x] = 0.0;
        }
    }
}

hf_status hf_render_image(const hf_image_params *params, const hf_packet_view *packets,
                          size_t n_packets, const hf_image_shape *shape, void *out,
                          hf_error *error)
{
    layout lay;
    if (shape == NULL) return hf_error_set(error, HF_ARGUMENT, -1, -1, "render: NULL shape");
    hf_status status = resolve(params, packets, n_packets, &lay, error);
    if (status != HF_OK) return status;
    if (shape->rows != lay.shape.rows || shape->cols != lay.shape.cols ||
        shape->pixel_type != lay.shape.pixel_type)
        return hf_error_set(error, HF_ARGUMENT, -1, -1,
                            "render: the buffer's shape (%zu, %zu, type %d) is not the image's "
                            "(%zu, %zu, type %d)", shape->rows, shape->cols,
                            (int)shape->pixel_type, lay.shape.rows, lay.shape.cols,
                            (int)lay.shape.pixel_type);
    size_t elements = lay.shape.rows * lay.shape.cols;  /* checked by set_shape */
    if (elements == 0) return HF_OK;
    if (out == NULL)
        return hf_error_set(error, HF_ARGUMENT, -1, -1, "render: NULL output buffer");

    switch (params->kind) {
    case HF_IMAGE_PACKET:
        write_packet(&lay, &packets[0], out);
        break;
    case HF_IMAGE_FLOW:
        write_flow(&lay, packets, n_packets, params->append, out);
        break;
    case HF_IMAGE_FLOW_TILED_FIXED:
    case HF_IMAGE_FLOW_TILED_AUTO:
        write_tiled(&lay, packets, out);
        break;
    case HF_IMAGE_MARKOV_PACKET:
        if (lay.shape.pixel_type == HF_PIXEL_INT64) memset(out, 0, elements * sizeof(int64_t));
        else write_markov_tile(&packets[0], out, 16);
        break;
    case HF_IMAGE_MARKOV_FLOW:
        /* INT64 only when every tile is an empty-packet matrix: all zeros. */
        if (lay.shape.pixel_type == HF_PIXEL_INT64) memset(out, 0, elements * sizeof(int64_t));
        else write_markov_flow(&lay, packets, out);
        break;
    }
    return HF_OK;
}

size_t hf_render_bytes_needed(const hf_image_params *params)
{
    size_t dim = 0, area = 0;
    if (params == NULL) return SIZE_MAX;
    int uses_prefix = params->kind == HF_IMAGE_FLOW_TILED_FIXED ||
                      (params->kind == HF_IMAGE_PACKET && !params->auto_dim) ||
                      (params->kind == HF_IMAGE_FLOW_TILED_AUTO && !params->auto_dim);
    if (!uses_prefix || to_size(params->dim, &dim) || hf_size_mul(dim, dim, &area))
        return SIZE_MAX;
    return area;
}

size_t hf_render_packets_needed(const hf_image_params *params)
{
    size_t cols = 0, tiles = 0;
    if (params == NULL) return SIZE_MAX;
    if (params->kind != HF_IMAGE_FLOW_TILED_FIXED && params->kind != HF_IMAGE_MARKOV_FLOW)
        return SIZE_MAX;
    if (params->cols <= 0 || to_size(params->cols, &cols) || hf_size_mul(cols, cols, &tiles))
        return SIZE_MAX;
    return tiles;
}
