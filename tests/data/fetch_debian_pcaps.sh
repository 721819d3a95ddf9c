#!/bin/sh
# Fetch real captures shipped in Debian packages, for the parity tests (tests/parity/), into
# .cache/debian-pcaps/<package>/ of the repository (gitignored).  Nothing is installed:
# `apt-get download` + `dpkg-deb -x` into a temporary directory, then only the capture files are
# kept.  Idempotent: a second run only lists what is there.  Needs apt's package lists (run as root
# it refreshes them once if the download fails).
#
#   sh tests/data/fetch_debian_pcaps.sh          # -> prints one line per capture, exit 0 on success
#
#   python3-dpkt  examples/data/*.pcap           (BSD-3-Clause; one truncated DNS capture)
#   pcapfix       examples/*.pcap                (GPL-3; good, damaged and header-less examples)
#   pathspider    tests/data/*.pcap              (GPL-2+; IPv4/IPv6 TCP/UDP/ICMP/DNS/ECN test traffic)
set -eu

PACKAGES="python3-dpkt pcapfix pathspider"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEST="$ROOT/.cache/debian-pcaps"
STAMP="$DEST/.complete"

list() {
    find "$DEST" -type f ! -name '.*' | sort | while read -r f; do
        printf '%10s  %s\n' "$(wc -c <"$f" | tr -d ' ')" "${f#"$ROOT"/}"
    done
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PACKAGES" ]; then
    list
    echo "fetch_debian_pcaps: up to date ($(find "$DEST" -type f ! -name '.*' | wc -l | tr -d ' ') captures in ${DEST#"$ROOT"/})"
    exit 0
fi

command -v apt-get >/dev/null 2>&1 || { echo "fetch_debian_pcaps: apt-get not found (not Debian?)" >&2; exit 1; }
command -v dpkg-deb >/dev/null 2>&1 || { echo "fetch_debian_pcaps: dpkg-deb not found" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/heifip-debpcaps.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

download() {
    (cd "$WORK" && apt-get download -q $PACKAGES >"$WORK/apt.log" 2>&1)
}
if ! download; then
    if [ "$(id -u)" = 0 ]; then
        echo "fetch_debian_pcaps: apt-get download failed; refreshing the package lists once" >&2
        apt-get update -qq >/dev/null 2>&1 || true
        download || { cat "$WORK/apt.log" >&2; echo "fetch_debian_pcaps: download failed" >&2; exit 1; }
    else
        cat "$WORK/apt.log" >&2
        echo "fetch_debian_pcaps: download failed (try: sudo apt-get update)" >&2
        exit 1
    fi
fi

mkdir -p "$DEST"
for pkg in $PACKAGES; do
    deb=$(ls "$WORK"/"${pkg}"_*.deb 2>/dev/null | head -n 1)
    [ -n "$deb" ] || { echo "fetch_debian_pcaps: no .deb for $pkg" >&2; exit 1; }
    rm -rf "$WORK/x" && mkdir "$WORK/x"
    dpkg-deb -x "$deb" "$WORK/x"
    rm -rf "$DEST/$pkg.tmp" && mkdir -p "$DEST/$pkg.tmp"
    find "$WORK/x" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) \
        -exec cp {} "$DEST/$pkg.tmp/" \;
    n=$(find "$DEST/$pkg.tmp" -type f | wc -l | tr -d ' ')
    [ "$n" -gt 0 ] || { echo "fetch_debian_pcaps: $pkg has no captures" >&2; exit 1; }
    rm -rf "$DEST/$pkg" && mv "$DEST/$pkg.tmp" "$DEST/$pkg"
    echo "fetch_debian_pcaps: $pkg ($(basename "$deb")): $n captures"
done
printf '%s' "$PACKAGES" >"$STAMP"
list
