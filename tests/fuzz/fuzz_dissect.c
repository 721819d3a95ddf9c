/*
 * fuzz_dissect.c -- libFuzzer harness for one frame: dissect.h + preprocess.h.
 *
 * Input: byte 0 picks the link type: b < FUZZ_N_LINKTYPES -> fuzz_linktypes[b]; b == 0xff ->
 * the 32-bit little-endian link type in bytes 1..4 (any value, FCS/reserved bits included);
 * otherwise the byte value itself.  The rest is the frame (run.sh makes seeds in this format from
 * the frames of the shared captures, extract_frames.c).
 *
 * The frame is dissected, checked against dissect.h's contract (layers inside the frame and
 * before padding_start, first_* indices pointing at layers of their class, address offsets
 * inside the frame), preprocessed in NONE and HEADER mode with every anonymize mode, and its
 * dedup key computed.  Preprocessing must be deterministic (same map, same bytes) and the
 * anonymize mode must not change the length of the output (addresses are replaced in place).
 * The flow key hf_flow_key_from_frame takes straight from the bytes, when it takes one, must be
 * the key of the full dissection (flows.h), and the NONE bytes hf_preprocess_frame_prefix_to
 * writes, when it takes the frame, those of the full dissection (preprocess.h).
 */
#include <string.h>

#include "anonymize.h"
#include "bytes.h"
#include "dissect.h"
#include "flows.h"
#include "fuzz_common.h"
#include "preprocess.h"

static void check_dissection(const hf_dissection *d, size_t caplen, uint32_t linktype)
{
    FUZZ_CHECK(d->caplen == caplen);
    FUZZ_CHECK(d->linktype == linktype);
    FUZZ_CHECK(d->layer_count >= 0 && d->layer_count <= HF_MAX_LAYERS);
    FUZZ_CHECK(d->padding_start <= caplen);
    for (int i = 0; i < d->layer_count; i++) {
        const hf_layer *l = &d->layers[i];
        FUZZ_CHECK(l->kind < HF_LAYER_KIND_COUNT);
        FUZZ_CHECK((uint64_t)l->offset + l->length <= caplen);
        if (!d->ether_rebuilt) FUZZ_CHECK((uint64_t)l->offset + l->length <= d->padding_start);
        FUZZ_CHECK(hf_dissect_layer_name((hf_layer_kind)l->kind) != NULL);
    }
    struct { int index; int kind; } firsts[] = {
        {d->first_ether, HF_LAYER_ETHER}, {d->first_ipv4, HF_LAYER_IPV4},
        {d->first_ipv6, HF_LAYER_IPV6}, {d->first_tcp, HF_LAYER_TCP},
        {d->first_udp, HF_LAYER_UDP}, {d->first_dns, HF_LAYER_DNS},
        {d->first_http_request, HF_LAYER_HTTP_REQUEST},
        {d->first_http_response, HF_LAYER_HTTP_RESPONSE},
    };
    for (size_t k = 0; k < sizeof firsts / sizeof firsts[0]; k++) {
        int i = firsts[k].index;
        FUZZ_CHECK(i == HF_NO_LAYER || (i >= 0 && i < d->layer_count));
        if (i >= 0) FUZZ_CHECK(d->layers[i].kind == firsts[k].kind);
    }
    if (d->network.address_length) {
        FUZZ_CHECK(d->network.address_length == 4 || d->network.address_length == 16);
        FUZZ_CHECK(d->network.source_offset + d->network.address_length <= caplen);
        FUZZ_CHECK(d->network.destination_offset + d->network.address_length <= caplen);
    }
}

static const hf_anonymize_mode anonymize_modes[] = {
    HF_ANONYMIZE_RANDOM, HF_ANONYMIZE_CONSISTENT, HF_ANONYMIZE_ZERO, HF_ANONYMIZE_KEEP
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint32_t linktype;
    size_t skip;
    if (data[0] == 0xff) {
        if (size < 5) return 0;
        linktype = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
                   (uint32_t)data[4] << 24;
        skip = 5;
    } else {
        linktype = data[0] < FUZZ_N_LINKTYPES ? fuzz_linktypes[data[0]] : data[0];
        skip = 1;
    }
    const uint8_t *frame = data + skip;
    size_t caplen = size - skip;
    /* an exact-size heap copy, so that ASan sees any read past the frame */
    uint8_t *copy = malloc(caplen ? caplen : 1);
    if (!copy) return 0;
    memcpy(copy, frame, caplen);

    hf_dissection d;
    FUZZ_CHECK(hf_dissect_packet(copy, caplen, linktype, &d) == HF_OK);
    check_dissection(&d, caplen, linktype);
    hf_dissection again;
    FUZZ_CHECK(hf_dissect_packet(copy, caplen, linktype, &again) == HF_OK);
    FUZZ_CHECK(again.layer_count == d.layer_count);
    FUZZ_CHECK(memcmp(again.layers, d.layers, sizeof d.layers[0] * (size_t)d.layer_count) == 0);

    hf_flow_packet fast, full;
    memset(&fast, 0, sizeof fast);
    memset(&full, 0, sizeof full);
    FUZZ_CHECK(hf_flow_key_from_dissection(copy, caplen, &d, &full) == HF_OK);
    if (hf_flow_key_from_frame(copy, caplen, linktype, &fast)) {
        FUZZ_CHECK(fast.has_key == full.has_key && fast.tcp_flags == full.tcp_flags);
        FUZZ_CHECK(memcmp(&fast.key, &full.key, sizeof fast.key) == 0);
    }

    /* hf_preprocess_frame_prefix_to, when it takes the frame: the NONE bytes and map state of
     * the full dissection's path (preprocess.h), for the whole frame and a 64-byte prefix */
    uint8_t *fast_out = malloc(caplen + 1), *full_out = malloc(caplen + 1);
    hf_buf scratch = HF_BUF_INIT;
    if (fast_out && full_out) {
        const size_t limits[2] = {caplen, caplen < 64 ? caplen : 64};
        for (size_t a = 0; a < 2; a++) {
            hf_anonymizer anonymizer;
            hf_anonymizer_init(&anonymizer, anonymize_modes[a], 0x5eed);
            for (size_t l = 0; l < 2; l++) {
                hf_address_map fast_map, full_map;
                hf_error error;
                size_t fast_length = 0, full_length = 0;
                hf_address_map_begin(&fast_map, &anonymizer, 7, copy, caplen);
                hf_address_map_begin(&full_map, &anonymizer, 7, copy, caplen);
                if (!hf_preprocess_frame_prefix_to(copy, caplen, linktype, &fast_map, limits[l],
                                                   fast_out, &fast_length))
                    continue;
                FUZZ_CHECK(hf_preprocess_packet_prefix_to(copy, caplen, &d, HF_PREPROCESS_NONE,
                                                          &full_map, limits[l], full_out,
                                                          &full_length, &scratch,
                                                          &error) == HF_OK);
                FUZZ_CHECK(fast_length == full_length);
                FUZZ_CHECK(memcmp(fast_out, full_out, fast_length) == 0);
                FUZZ_CHECK(fast_map.applied == full_map.applied &&
                           fast_map.stream == full_map.stream);
            }
        }
    }
    free(fast_out);
    free(full_out);
    hf_buf_free(&scratch);

    hf_buf out = HF_BUF_INIT, out2 = HF_BUF_INIT, key = HF_BUF_INIT, key2 = HF_BUF_INIT;
    for (int mode = HF_PREPROCESS_NONE; mode <= HF_PREPROCESS_HEADER; mode++) {
        size_t length_keep = (size_t)-1;
        for (size_t a = 0; a < sizeof anonymize_modes / sizeof anonymize_modes[0]; a++) {
            hf_anonymizer anonymizer;
            hf_anonymizer_init(&anonymizer, anonymize_modes[a], 0x5eed);
            hf_address_map map;
            hf_error error;
            hf_error_clear(&error);
            out.length = out2.length = 0;
            hf_address_map_begin(&map, &anonymizer, 7, copy, caplen);
            FUZZ_CHECK(hf_preprocess_packet(copy, caplen, &d, (hf_preprocess_mode)mode, &map,
                                            &out, &error) == HF_OK);
            hf_address_map_begin(&map, &anonymizer, 7, copy, caplen);
            FUZZ_CHECK(hf_preprocess_packet(copy, caplen, &d, (hf_preprocess_mode)mode, &map,
                                            &out2, &error) == HF_OK);
            FUZZ_CHECK(out.length == out2.length);
            FUZZ_CHECK(out.length == 0 || memcmp(out.data, out2.data, out.length) == 0);
            if (length_keep == (size_t)-1) length_keep = out.length;
            FUZZ_CHECK(out.length == length_keep);
        }
    }
    FUZZ_CHECK(hf_preprocess_dedup_key(copy, caplen, &d, &key) == HF_OK);
    FUZZ_CHECK(hf_preprocess_dedup_key(copy, caplen, &d, &key2) == HF_OK);
    FUZZ_CHECK(key.length >= 1 && key.length == key2.length);
    FUZZ_CHECK(memcmp(key.data, key2.data, key.length) == 0);
    /* the frame is const to every stage */
    FUZZ_CHECK(memcmp(copy, frame, caplen) == 0);
    hf_buf_free(&out);
    hf_buf_free(&out2);
    hf_buf_free(&key);
    hf_buf_free(&key2);
    free(copy);
    return 0;
}
