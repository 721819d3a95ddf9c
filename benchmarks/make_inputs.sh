#!/bin/sh
# Build the benchmark inputs from real captures into .cache/bench/ (gitignored; captures are never
# copied into the repository).
#
#   benchmarks/make_inputs.sh [--quick] [--force]
#
# Source captures: $HEIFIP_BENCH_PCAPS (default: ../shared/pcaps relative to the repository root),
# its flows/{tls2,many-protocols,650HttpResponses,DnsPackets}.pcap.
#
# Outputs (each built once; --force rebuilds):
#   .cache/bench/copies/tls2-NNN.pcap  copy N of tls2.pcap with its IPv4/IPv6 addresses randomised
#                                      by `tcprewrite --seed=N` (so the copies' sessions differ)
#                                      and its times shifted by N x (duration + 1 s) (editcap -t),
#                                      so the concatenation is in time order
#   .cache/bench/x2.pcap               copies 1..2   concatenated (mergecap -a), ~15 k packets
#   .cache/bench/x20.pcap              copies 1..20  concatenated, ~149 k packets, ~55 MiB
#   .cache/bench/x200.pcap             copies 1..200 concatenated, ~1.49 M packets, ~545 MiB
#                                      (not built with --quick)
#   .cache/bench/small/*.pcap          every source capture split into <= 64-packet files
#                                      (editcap -c 64): heifip 1.1.1 reads at most 64 packets a
#                                      file, so on these both implementations see the same packets
#   .cache/bench/small.list            the small files, one per line, in a fixed order
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=${HEIFIP_BENCH_PCAPS:-$ROOT/../shared/pcaps}
OUT=$ROOT/.cache/bench
QUICK=0
FORCE=0
for arg in "$@"; do
    case $arg in
        --quick) QUICK=1 ;;
        --force) FORCE=1 ;;
        *) echo "usage: $0 [--quick] [--force]" >&2; exit 2 ;;
    esac
done

for tool in editcap mergecap tcprewrite capinfos; do
    command -v $tool >/dev/null 2>&1 || {
        echo "make_inputs: $tool not found (apt-get install wireshark-common tcpreplay)" >&2; exit 1; }
done
TLS=$SRC/flows/tls2.pcap
[ -r "$TLS" ] || { echo "make_inputs: $TLS not readable (set HEIFIP_BENCH_PCAPS)" >&2; exit 1; }

mkdir -p "$OUT/copies" "$OUT/small"
[ $FORCE = 1 ] && rm -f "$OUT"/copies/*.pcap "$OUT"/x*.pcap "$OUT"/small/*.pcap "$OUT/small.list"

if [ $QUICK = 1 ]; then NCOPIES=20; else NCOPIES=200; fi

# Duration of tls2.pcap in whole seconds, plus one, as the time shift between copies.
DUR=$(capinfos -u -M "$TLS" | awk -F: '/Capture duration/ {gsub(/[^0-9.]/, "", $2); print int($2) + 1}')
[ -n "$DUR" ] || DUR=3600

make_copy() {   # make_copy N
    n=$1
    f=$(printf '%s/copies/tls2-%03d.pcap' "$OUT" "$n")
    [ -s "$f" ] && return 0
    tmp=$f.rw.tmp
    tcprewrite --seed="$n" --infile="$TLS" --outfile="$tmp"
    editcap -t $((n * DUR)) "$tmp" "$f.tmp"
    rm -f "$tmp"
    mv "$f.tmp" "$f"
}

echo "make_inputs: $NCOPIES rewritten copies of tls2.pcap (shift ${DUR} s each)"
# Two at a time (the machine has 2 cores); each copy is independent.
i=1
while [ $i -le $NCOPIES ]; do
    make_copy $i &
    j=$((i + 1))
    if [ $j -le $NCOPIES ]; then make_copy $j & fi
    wait
    i=$((i + 2))
done

concat() {   # concat NAME COUNT
    name=$1; count=$2
    target=$OUT/$name.pcap
    [ -s "$target" ] && return 0
    files=""
    k=1
    while [ $k -le "$count" ]; do files="$files $(printf '%s/copies/tls2-%03d.pcap' "$OUT" "$k")"; k=$((k + 1)); done
    # shellcheck disable=SC2086
    mergecap -a -F pcap -w "$target.tmp" $files
    mv "$target.tmp" "$target"
    echo "make_inputs: $target: $(capinfos -c -M "$target" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}') packets"
}
concat x2 2
concat x20 20
[ $QUICK = 1 ] || concat x200 200

if [ ! -s "$OUT/small.list" ]; then
    for cap in tls2 many-protocols 650HttpResponses DnsPackets; do
        [ -r "$SRC/flows/$cap.pcap" ] || continue
        editcap -F pcap -c 64 "$SRC/flows/$cap.pcap" "$OUT/small/$cap.pcap"
    done
    ls "$OUT"/small/*.pcap | sort > "$OUT/small.list.tmp"
    mv "$OUT/small.list.tmp" "$OUT/small.list"
    echo "make_inputs: $(wc -l < "$OUT/small.list") files of <= 64 packets in $OUT/small"
fi
