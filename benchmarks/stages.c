/*
 * stages.c -- cumulative timings of the C session pipeline, stage by stage, without Python:
 *
 *   reader          hf_reader_next over every record
 *   + dissect       ... and hf_dissect_packet of each
 *   flow job        hf_flow_job_next to the end (filter, dissect, flow key, preprocess, table)
 *   + render        ... and hf_render_image of every flow (FlowImageTiledFixed dim 16, cols 8)
 *
 * Usage: stages CAPTURE [ANONYMIZE [REPEATS]]   ANONYMIZE: 0 random (default), 1 consistent,
 * 2 zero, 3 keep.  Prints the best CPU time of REPEATS (default 3) runs of each stage.
 * Built by run.py; by hand:
 *   gcc -O2 -Icsrc -I/usr/include/stb -o stages benchmarks/stages.c \
 *       (all csrc .c files but module.c) -lpcap -ldeflate -lz -lm -pthread
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dissect.h"
#include "flows.h"
#include "job.h"
#include "reader.h"
#include "render.h"

#include "clock.h"


static uint64_t sink;   /* keeps the compiler from dropping the loops */

static double run_reader(const char *path, int dissect, uint64_t *records)
{
    hf_error error;
    hf_reader *reader;
    double start = cpu_now();
    if (hf_reader_open_path(path, &reader, &error) != HF_OK) {
        fprintf(stderr, "%s: %s\n", path, error.reason);
        exit(1);
    }
    hf_record record;
    hf_dissection dissection;
    *records = 0;
    while (hf_reader_next(reader, &record, &error) == HF_OK) {
        (*records)++;
        sink += record.caplen;
        if (dissect) {
            hf_dissect_packet(record.data, record.caplen, record.linktype, &dissection);
            sink += (uint64_t)dissection.layer_count;
        }
    }
    hf_reader_free(reader);
    return cpu_now() - start;
}

static double run_flows(const char *path, int anonymize, int render, uint64_t *flows)
{
    hf_image_params params = {HF_IMAGE_FLOW_TILED_FIXED, 16, 0, 0, 0, 8};
    hf_flow_job_config config;
    memset(&config, 0, sizeof config);
    hf_anonymizer_init(&config.packets.anonymizer, (hf_anonymize_mode)anonymize, 0);
    hf_flow_config_init(&config.flows);
    hf_flow_config_keep_for_image(&config.flows, &params);   /* as heifip.extract does */
    static uint8_t pixels[128 * 128];
    hf_error error;
    hf_flow_job *job;
    double start = cpu_now();
    if (hf_flow_job_open(path, &config, &job, &error) != HF_OK) {
        fprintf(stderr, "%s: %s\n", path, error.reason);
        exit(1);
    }
    hf_flow *flow;
    *flows = 0;
    hf_status status;
    while ((status = hf_flow_job_next(job, &flow, &error)) == HF_OK) {
        (*flows)++;
        if (render && flow->kept_count > 0) {
            hf_image_shape shape;
            if (hf_render_shape(&params, flow->packets, flow->kept_count, &shape, &error) != HF_OK ||
                hf_render_image(&params, flow->packets, flow->kept_count, &shape, pixels,
                                &error) != HF_OK) {
                fprintf(stderr, "render: %s\n", error.reason);
                exit(1);
            }
            sink += pixels[0];
        }
        hf_flow_free(flow);
    }
    if (status != HF_EOF) {
        fprintf(stderr, "%s: %s\n", path, error.reason);
        exit(1);
    }
    hf_flow_job_free(job);
    return cpu_now() - start;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CAPTURE [ANONYMIZE [REPEATS]]\n", argv[0]);
        return 2;
    }
    int anonymize = argc > 2 ? atoi(argv[2]) : 0;
    int repeats = argc > 3 ? atoi(argv[3]) : 3;
    double best[4] = {1e30, 1e30, 1e30, 1e30};
    uint64_t records = 0, flows = 0;
    for (int r = 0; r < repeats; r++) {
        double t[4] = {run_reader(argv[1], 0, &records), run_reader(argv[1], 1, &records),
                       run_flows(argv[1], anonymize, 0, &flows),
                       run_flows(argv[1], anonymize, 1, &flows)};
        for (int i = 0; i < 4; i++) if (t[i] < best[i]) best[i] = t[i];
    }
    const char *names[4] = {"reader", "+ dissect", "flow job", "+ render FTF 16/8"};
    printf("%s: %llu records, %llu flows, anonymize %d, best CPU s of %d\n", argv[1],
           (unsigned long long)records, (unsigned long long)flows, anonymize, repeats);
    for (int i = 0; i < 4; i++)
        printf("  %-18s %7.3f s  %6.1f ns/record\n", names[i], best[i],
               1e9 * best[i] / (double)(records ? records : 1));
    return (int)(sink & 0);
}
