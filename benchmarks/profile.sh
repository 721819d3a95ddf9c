#!/bin/sh
# Profile heifip's hot paths: FlowImageTiledFixed 16/8 NONE to arrays on the big capture, and
# PNG encoding (level 1 filter 0, and the default level 6 adaptive) of 128x128 and 16x16 images.
#
#   benchmarks/profile.sh [--callgrind]
#
# Uses `perf record -e cpu-clock` (a software clock: works in VMs without CPU counters) and
# writes flat profiles (self time per symbol) to .cache/bench/profile/*.txt.  Without perf, or
# with --callgrind, runs valgrind --tool=callgrind on the 10x smaller captures instead and
# annotates with callgrind_annotate.  Needs the inputs (benchmarks/make_inputs.sh) and the PNG
# pixel dumps that benchmarks/run.py writes (.cache/bench/pixels-*.raw).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${HEIFIP_BENCH_PYTHON:-$ROOT/.venv/bin/python}
OUT=$ROOT/.cache/bench/profile
B=$ROOT/.cache/bench
mkdir -p "$OUT"
MODE=perf
[ "${1:-}" = "--callgrind" ] && MODE=callgrind
command -v perf >/dev/null 2>&1 && perf record -q -e cpu-clock -o "$OUT/probe.data" -- true 2>/dev/null || MODE=callgrind
BIG=$B/x200.pcap; [ -s "$BIG" ] || BIG=$B/x20.pcap
[ $MODE = callgrind ] && BIG=$B/x2.pcap

arrays='{"kind":"extract","impl":"ours","input":"'$BIG'","image":"flow-tiled-fixed","preprocess":"NONE","output":"arrays","packet_limit":0,"threads":0,"min_seconds":0}'
header='{"kind":"extract","impl":"ours","input":"'$BIG'","image":"flow-tiled-fixed","preprocess":"HEADER","output":"arrays","packet_limit":0,"threads":0,"min_seconds":0}'
small='{"kind":"extract","impl":"ours","input":"'$B'/small.list","image":"flow-tiled-fixed","preprocess":"NONE","output":"arrays","packet_limit":64,"threads":0,"min_seconds":1.0}'
png128='{"kind":"png","raw":"'$B'/pixels-128x128.raw","width":128,"height":128,"level":1,"filter":0,"mode":"encode","min_seconds":1.0}'
png16='{"kind":"png","raw":"'$B'/pixels-16x16.raw","width":16,"height":16,"level":1,"filter":0,"mode":"encode","min_seconds":1.0}'
pngdef='{"kind":"png","raw":"'$B'/pixels-128x128.raw","width":128,"height":128,"level":null,"filter":null,"mode":"encode","min_seconds":1.0}'

profile() {   # profile NAME JSON
    name=$1; spec=$2
    if [ $MODE = perf ]; then
        perf record -q -F 4999 -e cpu-clock -o "$OUT/$name.data" -- "$PY" "$ROOT/benchmarks/run.py" --child "$spec" >/dev/null
        perf report -i "$OUT/$name.data" --no-children --sort symbol,dso --stdio --percent-limit 0.3 2>/dev/null \
            | grep -v '^$' > "$OUT/$name.txt"
    else
        valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.callgrind" "$PY" "$ROOT/benchmarks/run.py" --child "$spec" >/dev/null 2>"$OUT/$name.valgrind.log"
        callgrind_annotate "$OUT/$name.callgrind" 2>/dev/null | head -60 > "$OUT/$name.txt"
    fi
    echo "== $name ($MODE): $OUT/$name.txt"
    grep -E '^ +[0-9]' "$OUT/$name.txt" | head -15 || head -40 "$OUT/$name.txt"
}

profile arrays "$arrays"
profile header "$header"
profile small-files "$small"
[ -s "$B/pixels-128x128.raw" ] && profile png128-l1f0 "$png128"
[ -s "$B/pixels-16x16.raw" ] && profile png16-l1f0 "$png16"
[ -s "$B/pixels-128x128.raw" ] && profile png128-default "$pngdef"
exit 0
