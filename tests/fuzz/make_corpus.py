"""Write the hand-made seed corpus of tests/fuzz/corpus/ (committed; rerun to regenerate).

    python3 tests/fuzz/make_corpus.py

corpus/captures/  tiny capture files (reader and pipeline harnesses): one classic pcap per link
                  type the dissector knows, big-endian / nanosecond / gzip variants, pcapng with
                  several interfaces (different link types), EPB/SPB/OPB, two sections.
corpus/frames/    single frames for fuzz_dissect: selector byte (index into fuzz_linktypes in
                  fuzz_common.h, or 0xff + 32-bit LE link type) + frame bytes.
"""
import gzip
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pcapgen as g  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LINKTYPES = [0, 1, 9, 50, 51, 12, 14, 101, 105, 108, 113, 127, 192, 228, 229, 276, 2, 147, 0x10001]

DNS_QUERY = bytes.fromhex("1234010000010000000000000377777706676f6f676c6503636f6d0000010001")
DNS_ANSWER = bytes.fromhex("1234818000010001000000000377777706676f6f676c6503636f6d0000010001"
                           "c00c000100010000012c00048efa4a24")
HTTP_REQ = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"
HTTP_RESP = b"HTTP/1.1 200 OK\r\nServer: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"
TLS = bytes.fromhex("160301002e0100002a0303") + bytes(32) + b"\x00\x00\x02\x00\x2f\x01\x00"


def ip_payloads():
    """A small conversation at the IP layer: IPv4 TCP handshake+HTTP+FIN, UDP DNS, IPv6, ICMP,
    a fragment, TLS."""
    a, b = g.IP_A, g.IP_B
    tcp_opts = bytes.fromhex("020405b40402080a0000000100000000010303070101")[:20]
    return [
        g.ipv4(g.tcp(sport=40000, dport=80, flags=0x02, options=tcp_opts)),
        g.ipv4(g.tcp(sport=80, dport=40000, flags=0x12), src=b, dst=a),
        g.ipv4(g.tcp(HTTP_REQ, sport=40000, dport=80, flags=0x18)),
        g.ipv4(g.tcp(HTTP_RESP, sport=80, dport=40000, flags=0x18), src=b, dst=a),
        g.ipv4(g.tcp(sport=40000, dport=80, flags=0x11)),
        g.ipv4(g.udp(DNS_QUERY, sport=5353, dport=53), proto=17),
        g.ipv4(g.udp(DNS_ANSWER, sport=53, dport=5353), proto=17, src=b, dst=a),
        g.ipv6(g.tcp(TLS, sport=40001, dport=443, flags=0x18)),
        g.ipv6(g.udp(DNS_QUERY, sport=5353, dport=53), next_header=17),
        g.ipv4(bytes.fromhex("0800f7ff00000000") + b"ping", proto=1),
        g.ipv4(g.udp(b"x" * 24), proto=17, flags=1, frag=0),
        g.ipv4(b"y" * 16, proto=17, flags=0, frag=3),
    ]


def frame_for(linktype, ip):
    v6 = (ip[0] >> 4) == 6
    et = 0x86DD if v6 else 0x0800
    if linktype == 1:
        return g.ether(ip, ethertype=et)
    if linktype in (0, 108):
        fam = 10 if v6 else 2
        return struct.pack("<I" if linktype == 0 else ">I", fam) + ip
    if linktype in (9, 50):
        proto = 0x0057 if v6 else 0x0021
        return (b"\xff\x03" if linktype == 50 else b"") + struct.pack("!H", proto) + ip
    if linktype == 51:
        proto = 0x0057 if v6 else 0x0021
        return struct.pack("!BBHH", 0x11, 0, 1, len(ip) + 2) + struct.pack("!H", proto) + ip
    if linktype in (12, 14, 101, 228, 229):
        return ip
    if linktype == 105:
        hdr = struct.pack("<HH", 0x0208, 0) + g.MAC_B + g.MAC_A + g.MAC_B + struct.pack("<H", 0)
        return hdr + bytes.fromhex("aaaa03000000") + struct.pack("!H", et) + ip
    if linktype == 113:
        return struct.pack("!HHH", 0, 1, 6) + g.MAC_A + b"\0\0" + struct.pack("!H", et) + ip
    if linktype == 276:
        return struct.pack("!HHIHBB", et, 0, 2, 1, 0, 6) + g.MAC_A + b"\0\0" + ip
    if linktype == 127:
        rt = struct.pack("<BBHI", 0, 0, 8, 0)
        return rt + frame_for(105, ip)
    if linktype == 192:
        ppi = struct.pack("<BBHI", 0, 0, 8, 105)
        return ppi + frame_for(105, ip)
    return g.ether(ip, ethertype=et)  # unknown link types: Raw


def pcapng(interfaces, packets, big_endian=False):
    """interfaces: [(linktype, snaplen)]; packets: [(kind, interface, data)] kind in EPB/SPB/PB."""
    o = ">" if big_endian else "<"

    def block(btype, body):
        pad = (-len(body)) % 4
        total = 12 + len(body) + pad
        return struct.pack(o + "II", btype, total) + body + b"\0" * pad + struct.pack(o + "I", total)

    out = [block(0x0A0D0D0A, struct.pack(o + "IHHq", 0x1A2B3C4D, 1, 0, -1))]
    for lt, snap in interfaces:
        opts = struct.pack(o + "HHB", 9, 1, 9) + b"\0\0\0" + struct.pack(o + "HH", 0, 0)
        out.append(block(1, struct.pack(o + "HHI", lt, 0, snap) + opts))
    for i, (kind, iface, data) in enumerate(packets):
        if kind == "EPB":
            ts = 1_700_000_000_000_000_000 // 1000 + i
            body = struct.pack(o + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
            out.append(block(6, body + data + b"\0" * ((-len(data)) % 4)))
        elif kind == "SPB":
            out.append(block(3, struct.pack(o + "I", len(data)) + data + b"\0" * ((-len(data)) % 4)))
        elif kind == "PB":
            body = struct.pack(o + "HHIIII", iface, 0, 0, i, len(data), len(data))
            out.append(block(2, body + data + b"\0" * ((-len(data)) % 4)))
    out.append(block(0x0BAD, b"custom"))
    return b"".join(out)


def main():
    cap_dir = os.path.join(HERE, "corpus", "captures")
    frame_dir = os.path.join(HERE, "corpus", "frames")
    os.makedirs(cap_dir, exist_ok=True)
    os.makedirs(frame_dir, exist_ok=True)
    ips = ip_payloads()

    def write(d, name, data):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

    for lt in LINKTYPES:
        frames = [frame_for(lt, ip) for ip in ips]
        write(cap_dir, "lt%d.pcap" % lt, g.pcap(frames, linktype=lt))
        sel = bytes([LINKTYPES.index(lt)])
        for i, fr in enumerate(frames[:8]):
            write(frame_dir, "lt%d-%d" % (lt, i), sel + fr)
    eth = [frame_for(1, ip) for ip in ips]
    write(cap_dir, "be-nsec.pcap", g.pcap(eth, big_endian=True, nanoseconds=True))
    write(cap_dir, "snaplen64.pcap", g.pcap([f[:64] for f in eth], snaplen=64))
    write(cap_dir, "eth.pcap.gz", gzip.compress(g.pcap(eth[:6]), mtime=0))
    write(cap_dir, "fcs-bits.pcap", g.pcap(eth[:3], linktype=1 | 0x14000000))
    write(cap_dir, "truncated.pcap", g.pcap(eth)[:-17])
    raw = [frame_for(101, ip) for ip in ips]
    write(cap_dir, "multi-if.pcapng",
          pcapng([(1, 65535), (101, 0), (113, 128)],
                 [("EPB", 0, eth[0]), ("EPB", 1, raw[1]), ("SPB", 0, eth[2]),
                  ("PB", 2, frame_for(113, ips[3])), ("EPB", 0, eth[4])]))
    write(cap_dir, "be.pcapng", pcapng([(1, 65535)], [("EPB", 0, f) for f in eth[:6]], True))
    two = pcapng([(1, 0)], [("EPB", 0, eth[0]), ("SPB", 0, eth[1])])
    write(cap_dir, "two-sections.pcapng", two + pcapng([(101, 0)], [("EPB", 0, raw[5])]))
    write(frame_dir, "ether-6", bytes([1]) + g.MAC_A)
    write(frame_dir, "empty-eth", bytes([1]))
    write(frame_dir, "lt-ffff", b"\xff\xff\xff\x00\x00" + eth[3])


if __name__ == "__main__":
    main()
