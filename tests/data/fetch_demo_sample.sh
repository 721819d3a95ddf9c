#!/bin/sh
# Put the demo's capture (`python -m heifip.demo`, `make demo`) into .cache/demo/http.pcap of the
# repository (.cache/ is gitignored).  Nothing is installed: `apt-get download` + `dpkg-deb -x` into
# a temporary directory, then only the capture is kept.  Idempotent: when the file is there (with
# the expected content) it only prints its path.  Prints the capture's path as its last line.
#
#   sh tests/data/fetch_demo_sample.sh      # exit 0: sample ready; exit 1: could not be fetched
#
# The sample: http.pcap from Debian's python3-dpkt package (bookworm: 1.9.8-1,
# /usr/share/doc/python3-dpkt/examples/data/http.pcap; the same file is pathspider's
# tests/data/tcp_http.pcap).  Debian's copyright file puts dpkt, this file included, under the
# BSD-3-Clause licence (Copyright 2004 Dug Song and the dpkt authors).  The capture itself is the
# well-known Wireshark sample capture "http.cap": 43 Ethernet frames, 30 s of real Internet traffic
# recorded in May 2004 -- a browser fetching www.ethereal.com/download.html over HTTP/1.1 (TCP
# handshake, request, a ~18 kB response in 1380-byte segments, ACKs, teardown), DNS look-ups of an
# ad server (UDP/53) and the HTTP request to that ad server.
#
# Why not a larger capture: heifip, like heiFIP 1.1.1, reads the first 64 packets of a file
# (FIPExtractor(packet_limit=64)), so all 43 frames of this one count, and none of the other
# Debian-shipped captures (pcapfix, pathspider, gopacket, sip-tester) has real HTTP and DNS in its
# first 64 packets.
#
# When tests/data/fetch_debian_pcaps.sh has already put the same file into .cache/debian-pcaps/,
# it is copied from there and nothing is downloaded.
set -eu

PACKAGE=python3-dpkt
MEMBER=usr/share/doc/python3-dpkt/examples/data/http.pcap
SHA256=25a72bdf10339f2c29916920c8b9501d294923108de8f29b19aba7cc001ab60d
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEST="$ROOT/.cache/demo"
SAMPLE="$DEST/http.pcap"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# Up to date: the file is there with the expected content, or with the content recorded when a
# different package version was extracted (see the warning below).
if [ -s "$SAMPLE" ] && { got=$(sha_of "$SAMPLE"); [ "$got" = "$SHA256" ] ||
        [ "$got" = "$(cat "$DEST/.sha256" 2>/dev/null)" ]; }; then
    echo "fetch_demo_sample: up to date"
    echo "$SAMPLE"
    exit 0
fi

mkdir -p "$DEST"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/heifip-demo.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

found=""
cached="$ROOT/.cache/debian-pcaps/$PACKAGE/http.pcap"
if [ -s "$cached" ] && [ "$(sha_of "$cached")" = "$SHA256" ]; then
    cp "$cached" "$WORK/http.pcap"
    found="$cached"
    echo "fetch_demo_sample: copied from ${cached#"$ROOT"/}"
fi

if [ -z "$found" ]; then
    command -v apt-get >/dev/null 2>&1 || { echo "fetch_demo_sample: apt-get not found (not Debian?)" >&2; exit 1; }
    command -v dpkg-deb >/dev/null 2>&1 || { echo "fetch_demo_sample: dpkg-deb not found" >&2; exit 1; }
    download() {
        (cd "$WORK" && apt-get download -q "$PACKAGE" >"$WORK/apt.log" 2>&1)
    }
    if ! download; then
        if [ "$(id -u)" = 0 ]; then
            echo "fetch_demo_sample: apt-get download failed; refreshing the package lists once" >&2
            apt-get update -qq >/dev/null 2>&1 || true
            download || { cat "$WORK/apt.log" >&2; echo "fetch_demo_sample: download of $PACKAGE failed" >&2; exit 1; }
        else
            cat "$WORK/apt.log" >&2
            echo "fetch_demo_sample: download of $PACKAGE failed (try: sudo apt-get update)" >&2
            exit 1
        fi
    fi
    deb=$(ls "$WORK"/"${PACKAGE}"_*.deb 2>/dev/null | head -n 1)
    [ -n "$deb" ] || { echo "fetch_demo_sample: no .deb for $PACKAGE" >&2; exit 1; }
    mkdir "$WORK/x"
    dpkg-deb -x "$deb" "$WORK/x"
    [ -s "$WORK/x/$MEMBER" ] || { echo "fetch_demo_sample: $(basename "$deb") has no $MEMBER" >&2; exit 1; }
    cp "$WORK/x/$MEMBER" "$WORK/http.pcap"
    echo "fetch_demo_sample: extracted $MEMBER from $(basename "$deb")"
    got=$(sha_of "$WORK/http.pcap")
    if [ "$got" != "$SHA256" ]; then
        # Another Debian release may ship another version of the file: still a real capture, but
        # the pictures in docs/images/ were made from the one above.
        echo "fetch_demo_sample: warning: sha256 $got, expected $SHA256 (other package version?)" >&2
    fi
fi

# Atomic: a concurrent run sees either no file or the whole file.
sha_of "$WORK/http.pcap" >"$DEST/.sha256"
mv -f "$WORK/http.pcap" "$SAMPLE.tmp.$$"
mv -f "$SAMPLE.tmp.$$" "$SAMPLE"
echo "$SAMPLE"
