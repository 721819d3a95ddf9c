#!/bin/sh
# replay.sh -- CI: replay the kept crashers and the seed corpus through the fuzz harnesses,
# built with gcc + ASan/UBSan and a plain main() (replay_main.c; no libFuzzer needed).
#
#   tests/fuzz/replay.sh            (from anywhere; exit status non-zero on any failure)
#
# Inputs per harness <h> (reader, dissect, pipeline):
#   tests/fuzz/regressions/<h>-*    crashers found by fuzzing, one named file each
#   tests/fuzz/corpus/              the committed hand-made seeds (captures/ or frames/)
#   ../shared/pcaps/                when present: every shared file for reader and pipeline,
#                                   their first frames (extract_frames) for dissect
# Environment: CC (default gcc; CC=clang also checks what only clang's UBSan sees, e.g.
# NULL + 0), NO_BUILD=1, NO_SHARED=1 (hand-made seeds and regressions only).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/build/fuzz"
shared="$root/../shared/pcaps"
[ "${NO_BUILD:-0}" = 1 ] || "$here/build.sh" replay
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

use_shared=0
[ "${NO_SHARED:-0}" != 1 ] && [ -d "$shared" ] && use_shared=1

frames=""
if [ $use_shared = 1 ]; then
    frames="$out/seeds/replay-frames"
    rm -rf "$frames"; mkdir -p "$frames"
    find "$shared/heifip-tests" "$shared/robust" "$shared/flows" -type f -print0 |
        xargs -0 "$out/extract_frames" "$frames" 16
fi

status=0
for h in reader dissect pipeline; do
    set --
    for f in "$here"/regressions/"$h"-*; do [ -e "$f" ] && set -- "$@" "$f"; done
    if [ "$h" = dissect ]; then
        set -- "$@" "$here/corpus/frames"
        [ -n "$frames" ] && set -- "$@" "$frames"
    else
        set -- "$@" "$here/corpus/captures"
        [ $use_shared = 1 ] && set -- "$@" "$shared/heifip-tests" "$shared/robust" "$shared/flows"
    fi
    echo "replay.sh: $h"
    if ! "$out/replay_$h" "$@"; then
        echo "replay.sh: replay_$h FAILED" >&2
        status=1
    fi
done
exit $status
