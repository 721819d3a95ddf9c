/*
 * render.h -- heifip 1.1.1's image arrays from per-packet byte strings.
 *
 * Pipeline position: reader -> dissect -> preprocess -> flows -> **render** -> png.  The flows
 * stage hands over the packets of one flow (or one packet) as byte views; render computes the
 * exact shape and element type 1.1.1 would produce and then writes the pixels into a buffer the
 * caller provides (the binding allocates it as a NumPy array, so NumPy owns the memory).
 *
 * Normative reference: reference-semantics.md section 3 (image types), checked against the
 * heifip 1.1.1 classes themselves (the heifip/images/ modules, NumPy 1.26).  Summary of what is
 * reproduced, per kind (n = number of packets, len_i = length of packet i):
 *
 *   PACKET          (d, d) uint8; d = auto_dim ? ceil(sqrt(len)) : dim; first d*d bytes, padded
 *                   with fill (section 3.1).  dim < 0 without auto_dim -> HF_ARGUMENT (1.1.1:
 *                   "can only specify one unknown dimension"); dim is ignored with auto_dim.
 *   FLOW            append=0: (n, max len_i) uint8, each packet one row padded with fill; dim is
 *                   ignored (section 3.2).  append=1: all bytes concatenated, (ceil(total/dim),
 *                   dim), padded with 0 -- NOT fill; dim <= 0 -> HF_ARGUMENT (1.1.1 divides by 0).
 *   TILED_FIXED     (cols*dim, cols*dim) uint8; tile k = first dim*dim bytes of packet k padded
 *                   with fill, at grid row k / cols, column k % cols; packets beyond cols^2
 *                   ignored; missing tiles 0 (section 3.3).  cols <= 0 -> HF_ARGUMENT (1.1.1:
 *                   ValueError "need at least one array to concatenate"); dim < 0 -> HF_ARGUMENT.
 *   TILED_AUTO      as TILED_FIXED with grid g = ceil(sqrt(n)) and, with auto_dim,
 *                   dim = ceil(sqrt(max len_i)) (section 3.4).
 *   MARKOV_PACKET   (16, 16) float64 nibble transition probabilities (section 3.5); an empty
 *                   packet gives all zeros with pixel type INT64 (1.1.1 returns an int64 array).
 *   MARKOV_FLOW     (16*cols, 16*cols) float64, one matrix per packet tiled cols x cols, missing
 *                   tiles 0, packets beyond cols^2 ignored; INT64 (all zeros) only when all cols^2
 *                   tiles are empty-packet matrices (NumPy's concatenation type promotion).
 *                   cols <= 0 -> HF_ARGUMENT.  dim and fill are not used.
 *
 * fill: 1.1.1 builds int64 arrays and casts them with np.uint8, so fill wraps modulo 256
 * (300 -> 44, -1 -> 255; section 3).  One more 1.1.1 quirk, verified with NumPy 1.26.4 and 2.4.6
 * on x86-64 (not in section 3): when a tiled image has a missing tile, NumPy concatenates the
 * int64 tiles with float64 np.zeros, so the cast to uint8 starts from float64, which x86-64
 * performs through a 32-bit integer: a fill outside [-2^31, 2^31-1] then becomes 0 instead of
 * fill mod 256 (fill 2^31+5 -> 0 in an image with a missing tile, -> 5 in a full grid).  We
 * reproduce that (HF_RENDER_FILL_FLOAT_PATH in render.c).
 *
 * Zero packets for a flow kind -> HF_ARGUMENT: 1.1.1 never builds an image for an empty flow
 * (section 4.2), so a caller asking is a bug.  Per-packet kinds take exactly one packet.
 *
 * Limits: an image whose rows * cols * element size exceeds HF_RENDER_MAX_IMAGE_BYTES, or whose
 * size computation overflows, is refused with HF_LIMIT (dims come from users and can be huge;
 * 1.1.1 would raise MemoryError).
 *
 * Thread-safety: every function is reentrant; no global or static mutable state.  Packets are
 * only read (borrowed from the caller for the duration of the call).
 */
#ifndef HF_RENDER_H
#define HF_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "common.h"

/* Largest image, in bytes (rows * cols * element size), that render will describe or write:
 * 2 GiB.  Also keeps every image addressable by a 32-bit int index in the PNG stage. */
#define HF_RENDER_MAX_IMAGE_BYTES ((size_t)1 << 31)

typedef enum {
    HF_IMAGE_PACKET = 1,        /* PacketImage */
    HF_IMAGE_FLOW,              /* FlowImage */
    HF_IMAGE_FLOW_TILED_FIXED,  /* FlowImageTiledFixed */
    HF_IMAGE_FLOW_TILED_AUTO,   /* FlowImageTiledAuto */
    HF_IMAGE_MARKOV_PACKET,     /* MarkovTransitionMatrixPacket */
    HF_IMAGE_MARKOV_FLOW        /* MarkovTransitionMatrixFlow */
} hf_image_kind;

typedef struct hf_image_params {
    hf_image_kind kind;
    int64_t dim;        /* PACKET, FLOW (append), TILED_*; >= 0 where used */
    int64_t fill;       /* any value, wrapped mod 256 (see the float-path note above) */
    int auto_dim;       /* PACKET, TILED_AUTO */
    int append;         /* FLOW */
    int64_t cols;       /* TILED_FIXED, MARKOV_FLOW; > 0 */
} hf_image_params;

typedef enum { HF_PIXEL_UINT8 = 1, HF_PIXEL_FLOAT64, HF_PIXEL_INT64 } hf_pixel_type;

typedef struct hf_image_shape {
    size_t rows, cols;
    hf_pixel_type pixel_type;
} hf_image_shape;

/* Size in bytes of one element of `pixel_type` (1 or 8); 0 for an unknown type. */
size_t hf_render_pixel_size(hf_pixel_type pixel_type);

/*
 * The shape and element type 1.1.1 gives the image of `packets`.
 *   params     : the image kind and its options (not NULL).
 *   packets    : n_packets views (may be NULL only when n_packets == 0).
 *   n_packets  : exactly 1 for PACKET and MARKOV_PACKET; >= 1 for the flow kinds.
 *   OUT: *out  : rows, cols, pixel_type; rows * cols may be 0 (e.g. dim 0 -> (0, 0), FlowImage of
 *                empty packets -> (n, 0)).  Untouched on failure.
 * Returns HF_OK; HF_ARGUMENT for parameters 1.1.1 rejects (see the table above), a wrong packet
 * count, a NULL view with a length, or an unknown kind; HF_LIMIT when the image would exceed
 * HF_RENDER_MAX_IMAGE_BYTES.  `error` (may be NULL) gets the reason.
 */
hf_status hf_render_shape(const hf_image_params *params,
                          const hf_packet_view *packets,
                          size_t n_packets,
                          hf_image_shape *out,
                          hf_error *error);

/*
 * Write the image into `out`.
 *   shape : must equal what hf_render_shape returns for the same params and packets (checked:
 *           a mismatch is HF_ARGUMENT, so a stale shape can never overrun the buffer).
 *   out   : rows * cols elements of shape->pixel_type, row-major, C-contiguous, suitably aligned
 *           for the type; written completely (no need to zero it first).  May be NULL when
 *           rows * cols == 0.
 * Returns HF_OK or the statuses of hf_render_shape; on failure `out` is not written.
 * Allocates nothing.
 */
hf_status hf_render_image(const hf_image_params *params,
                          const hf_packet_view *packets,
                          size_t n_packets,
                          const hf_image_shape *shape,
                          void *out,
                          hf_error *error);

/*
 * Whether every image of `params` has the same shape whatever its packets -- TILED_FIXED with a
 * valid dim and cols: (cols*dim, cols*dim) uint8 -- so that a caller can allocate the output
 * before the flow exists.  Returns 1 and sets *out if so; 0 for every other kind and for invalid
 * options (hf_render_shape then reports the error).
 */
int hf_render_fixed_shape(const hf_image_params *params, hf_image_shape *out);

/*
 * How many leading bytes of one packet the image can use (SIZE_MAX = all of them), so the flows
 * stage can keep only that much: PACKET and TILED_FIXED: dim*dim; TILED_AUTO: dim*dim unless
 * auto_dim; FLOW, MARKOV_*, auto_dim, invalid or overflowing dims: SIZE_MAX.  Rendering truncated
 * packets gives exactly the image of the full packets.
 */
size_t hf_render_bytes_needed(const hf_image_params *params);

/*
 * How many leading packets of a flow the image can use (SIZE_MAX = all): TILED_FIXED and
 * MARKOV_FLOW: cols^2 (SIZE_MAX for invalid cols); others: SIZE_MAX.  Rendering the first
 * cols^2 packets gives exactly the image of all packets (the float-path fill and the MARKOV_FLOW
 * int64 rule only ask whether n < cols^2).  Apply min_packets_per_flow before truncating.
 */
size_t hf_render_packets_needed(const hf_image_params *params);

#endif /* HF_RENDER_H */
