/*
 * extract_frames.c -- seed maker for fuzz_dissect: writes the first frames of capture files as
 * fuzz_dissect inputs (link-type selector byte(s) + frame bytes), using our own reader.
 *
 * Usage: extract_frames OUTDIR MAX_PER_FILE FILE...
 * Output names: OUTDIR/<file index>-<record index>.  Identical inputs are not de-duplicated here;
 * libFuzzer's corpus merge does that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "reader.h"


int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: %s OUTDIR MAX_PER_FILE FILE...\n", argv[0]); return 2; }
    const char *outdir = argv[1];
    long max_per_file = atol(argv[2]);
    size_t written = 0;
    for (int i = 3; i < argc; i++) {
        hf_reader *reader = NULL;
        hf_error error;
        if (hf_reader_open_path(argv[i], &reader, &error) != HF_OK) continue;
        hf_reader_set_scapy_compat(reader, 1);
        hf_record record;
        for (long n = 0; n < max_per_file && hf_reader_next(reader, &record, &error) == HF_OK; n++) {
            uint8_t prefix[5];
            size_t plen = 0;
            for (size_t k = 0; k < FUZZ_N_LINKTYPES; k++)
                if (fuzz_linktypes[k] == record.linktype) { prefix[0] = (uint8_t)k; plen = 1; break; }
            if (!plen) {
                prefix[0] = 0xff;
                for (int b = 0; b < 4; b++) prefix[1 + b] = (uint8_t)(record.linktype >> (8 * b));
                plen = 5;
            }
            char name[4096];
            snprintf(name, sizeof name, "%s/%d-%llu", outdir, i - 3,
                     (unsigned long long)record.index);
            FILE *f = fopen(name, "wb");
            if (!f) { perror(name); hf_reader_free(reader); return 2; }
            fwrite(prefix, 1, plen, f);
            if (record.caplen) fwrite(record.data, 1, record.caplen, f);
            fclose(f);
            written++;
        }
        hf_reader_free(reader);
    }
    fprintf(stderr, "extract_frames: %zu frames\n", written);
    return 0;
}
