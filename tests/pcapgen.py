"""Tiny capture builder for tests: hand-made frames and pcap/pcapng files, no dependencies.

Frames are built field by field so that every expected output byte in a test can be computed by
hand from the same values.
"""
import struct

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
IP_A = bytes([10, 0, 0, 1])
IP_B = bytes([10, 0, 0, 2])
IP6_A = bytes.fromhex("20010db8000000000000000000000001")
IP6_B = bytes.fromhex("20010db8000000000000000000000002")


def ether(payload, dst=MAC_B, src=MAC_A, ethertype=0x0800):
    return dst + src + struct.pack("!H", ethertype) + payload


def ipv4(payload, src=IP_A, dst=IP_B, proto=6, ttl=64, ident=1, flags=2, frag=0, tos=0,
         total_length=None, checksum=0x1234, options=b""):
    ihl = 5 + len(options) // 4
    length = 4 * ihl + len(payload) if total_length is None else total_length
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, length, ident, (flags << 13) | frag,
                         ttl, proto, checksum, src, dst)
    return header + options + payload


def ipv6(payload, src=IP6_A, dst=IP6_B, next_header=6, hop_limit=64, traffic_class=0,
         payload_length=None):
    length = len(payload) if payload_length is None else payload_length
    first = (6 << 28) | (traffic_class << 20)
    return struct.pack("!IHBB", first, length, next_header, hop_limit) + src + dst + payload


def tcp(payload=b"", sport=40000, dport=12345, seq=1, ack=0, flags=0x02, window=1024,
        options=b"", checksum=0xabcd):
    offset = 5 + len(options) // 4
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags, window,
                         checksum, 0)
    return header + options + payload


def udp(payload=b"", sport=40000, dport=12345, length=None, checksum=0x5555):
    size = 8 + len(payload) if length is None else length
    return struct.pack("!HHHH", sport, dport, size, checksum) + payload


def pcap(frames, linktype=1, nanoseconds=False, big_endian=False, snaplen=65535, start=1_700_000_000):
    """A classic pcap file; frames are bytes or (bytes, timestamp_seconds_float)."""
    order = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for i, frame in enumerate(frames):
        if isinstance(frame, tuple):
            frame, when = frame
        else:
            when = start + i
        seconds = int(when)
        fraction = int(round((when - seconds) * (1e9 if nanoseconds else 1e6)))
        out.append(struct.pack(order + "IIII", seconds, fraction, len(frame), len(frame)))
        out.append(frame)
    return b"".join(out)


def write_pcap(path, frames, **kwargs):
    data = pcap(frames, **kwargs)
    with open(path, "wb") as f:
        f.write(data)
    return path
