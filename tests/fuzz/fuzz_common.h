/*
 * fuzz_common.h -- helpers shared by the libFuzzer harnesses in tests/fuzz/.
 *
 * Each harness defines LLVMFuzzerTestOneInput(); the same file is linked either with libFuzzer
 * (clang -fsanitize=fuzzer, build.sh) or with replay_main.c (gcc + ASan/UBSan, replay.sh), so
 * CI replays tests/fuzz/regressions/ and the seed corpus through exactly the fuzzed code.
 *
 * A broken contract (an offset past the frame, a memory bound that does not hold, a result that
 * changes between two identical calls) is a finding just like a sanitizer report: FUZZ_CHECK
 * prints the condition and aborts, which libFuzzer records as a crash.
 */
#ifndef HF_FUZZ_COMMON_H
#define HF_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: contract violated: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

/* The link types the dissector knows, plus a few it does not (the Raw fallback). */
static const uint32_t fuzz_linktypes[] = {
    0, 1, 9, 50, 51, 12, 14, 101, 105, 108, 113, 127, 192, 228, 229, 276,
    /* unknown to us: */ 2, 147, 0x10001u
};
#define FUZZ_N_LINKTYPES (sizeof fuzz_linktypes / sizeof fuzz_linktypes[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
