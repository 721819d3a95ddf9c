#!/bin/sh
# run.sh -- build the libFuzzer harnesses and fuzz each one for SECONDS.
#
#   tests/fuzz/run.sh SECONDS [HARNESS...]        (harnesses: reader dissect pipeline; default all)
#
# Environment:
#   PARALLEL=N    run up to N harnesses at the same time (default 1)
#   KEEP_GOING=1  do not stop at the first crash (libFuzzer -fork=1 -ignore_crashes=1)
#   NO_BUILD=1    use the binaries already in build/fuzz/
#   FUZZ_ARGS     extra libFuzzer flags
#
# Seeds, made at run time: the shared captures (../shared/pcaps from the repository root; whole
# files for reader and pipeline, frames extracted with our own reader for dissect) plus the
# committed hand-made seeds in tests/fuzz/corpus/.  The growing corpus lives in
# build/fuzz/corpus/<harness>/ (kept between runs), logs in build/fuzz/logs/<harness>.log,
# crashers in build/fuzz/crashes/<harness>-crash-<sha1> (minimise with
#   build/fuzz/fuzz_<harness> -minimize_crash=1 -runs=20000 CRASHER
# and keep the result as tests/fuzz/regressions/<harness>-<short-description>).
# Exit status: 0 when no harness crashed, 1 otherwise (the crashers are listed).
set -eu
if [ $# -lt 1 ]; then echo "usage: $0 SECONDS [reader|dissect|pipeline...]" >&2; exit 2; fi
seconds=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/build/fuzz"
shared="$root/../shared/pcaps"
harnesses=${*:-"reader dissect pipeline"}
PARALLEL=${PARALLEL:-1}
FUZZ_ARGS=${FUZZ_ARGS:-}

[ "${NO_BUILD:-0}" = 1 ] || "$here/build.sh" all
mkdir -p "$out/logs" "$out/crashes"

shared_dirs=""
for d in heifip-tests robust flows; do
    [ -d "$shared/$d" ] && shared_dirs="$shared_dirs $shared/$d"
done
[ -n "$shared_dirs" ] || echo "run.sh: $shared not found; hand-made seeds only" >&2

# frames for fuzz_dissect (made once per run)
frames="$out/seeds/frames"
case " $harnesses " in *" dissect "*)
    rm -rf "$frames"; mkdir -p "$frames"
    if [ -n "$shared_dirs" ]; then
        # shellcheck disable=SC2086
        find $shared_dirs -type f -print0 | xargs -0 "$out/extract_frames" "$frames" 16
    fi ;;
esac

run_one() {
    h=$1
    mkdir -p "$out/corpus/$h"
    case $h in
        dissect) seeds="$frames $here/corpus/frames"; max_len=16384 ;;
        reader) seeds="$shared_dirs $here/corpus/captures"; max_len=65536 ;;
        *) seeds="$shared_dirs $here/corpus/captures"; max_len=32768 ;;
    esac
    extra=""
    [ "${KEEP_GOING:-0}" = 1 ] && extra="-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1"
    echo "run.sh: fuzz_$h for ${seconds}s (log: build/fuzz/logs/$h.log)"
    # shellcheck disable=SC2086
    "$out/fuzz_$h" -max_total_time="$seconds" -max_len=$max_len -timeout=20 -rss_limit_mb=2560 \
        -print_final_stats=1 -artifact_prefix="$out/crashes/$h-" $extra $FUZZ_ARGS \
        "$out/corpus/$h" $seeds >"$out/logs/$h.log" 2>&1
}

status=0
pids=""
running=0
for h in $harnesses; do
    if [ "$PARALLEL" -le 1 ]; then
        run_one "$h" || { status=1; echo "run.sh: fuzz_$h CRASHED (see build/fuzz/logs/$h.log)" >&2; }
    else
        ( run_one "$h" || { echo "run.sh: fuzz_$h CRASHED (see build/fuzz/logs/$h.log)" >&2; exit 1; } ) &
        pids="$pids $!"
        running=$((running + 1))
        if [ "$running" -ge "$PARALLEL" ]; then
            for p in $pids; do wait "$p" || status=1; done
            pids=""; running=0
        fi
    fi
done
for p in $pids; do wait "$p" || status=1; done

for h in $harnesses; do
    log="$out/logs/$h.log"
    [ -f "$log" ] || continue
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | awk '{print $2}')
    [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | awk '{print $2}')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    echo "run.sh: $h: executions=${execs:-?} exec/s=${speed:-?} cov=${cov:-?} ft=${ft:-?}"
done
crashers=$(ls "$out/crashes" 2>/dev/null | grep -E 'crash-|leak-|timeout-|oom-' || true)
if [ -n "$crashers" ]; then
    echo "run.sh: crashers in build/fuzz/crashes/:"; echo "$crashers" | sed 's/^/  /'
    status=1
fi
exit $status
