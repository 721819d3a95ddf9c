#!/bin/sh
# build.sh -- build the libFuzzer harnesses, their replay drivers and the frame extractor.
#
#   tests/fuzz/build.sh [fuzz|replay|all]     (default: all; run from anywhere)
#
# Output in build/fuzz/:
#   fuzz_<name>    clang -fsanitize=fuzzer,address,undefined   (needs libclang-rt-dev)
#   replay_<name>  gcc + ASan/UBSan, plain main() (replay_main.c) -- what CI runs
#   extract_frames seed maker for fuzz_dissect (no sanitizers)
# Every core source except the CPython binding is compiled in (csrc/*.c minus module.c).
# CLANG / CC / EXTRA_CFLAGS / HARNESSES (a subset, e.g. "pipeline") may be set in the environment.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/build/fuzz"
what=${1:-all}
mkdir -p "$out"
cd "$root"

CLANG=${CLANG:-clang}
CC=${CC:-gcc}
EXTRA_CFLAGS=${EXTRA_CFLAGS:-}
core=$(ls csrc/*.c | grep -v '^csrc/module\.c$')
libs="-lpcap -ldeflate -lz -lm"
common="-std=c11 -Icsrc -Itests/fuzz -I/usr/include/stb -g -O1 -fno-omit-frame-pointer"
harnesses=${HARNESSES:-"reader dissect pipeline"}

if [ "$what" = all ] || [ "$what" = fuzz ]; then
    for h in $harnesses; do
        echo "build.sh: fuzz_$h (clang, libFuzzer + ASan + UBSan)"
        # shellcheck disable=SC2086
        $CLANG $common -DHF_DEBUG -fsanitize=fuzzer,address,undefined \
            -fno-sanitize-recover=undefined $EXTRA_CFLAGS \
            -o "$out/fuzz_$h" "tests/fuzz/fuzz_$h.c" $core $libs
    done
fi
if [ "$what" = all ] || [ "$what" = replay ]; then
    for h in $harnesses; do
        echo "build.sh: replay_$h ($CC, ASan + UBSan)"
        # shellcheck disable=SC2086
        $CC $common -DHF_DEBUG -fsanitize=address,undefined -fno-sanitize-recover=undefined \
            $EXTRA_CFLAGS -o "$out/replay_$h" "tests/fuzz/fuzz_$h.c" tests/fuzz/replay_main.c \
            $core $libs
    done
    echo "build.sh: extract_frames"
    # shellcheck disable=SC2086
    $CC -std=c11 -Icsrc -Itests/fuzz -I/usr/include/stb -O2 -o "$out/extract_frames" \
        tests/fuzz/extract_frames.c $core $libs
fi
