"""create_image_from_packet with scapy packets (scapy is an optional extra; CI installs it)."""
import numpy as np
import pytest

scapy_all = pytest.importorskip("scapy.all")

from heifip.extractor import FIPExtractor, linktype_of  # noqa: E402
from heifip.images.flow import FlowImage  # noqa: E402


def test_scapy_packets_equal_raw_frames():
    Ether, IP, IPv6, TCP, UDP = (scapy_all.Ether, scapy_all.IP, scapy_all.IPv6, scapy_all.TCP,
                                 scapy_all.UDP)
    packets = [Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
               IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1000, dport=80, flags="S"),
               IP(src="10.0.0.1", dst="10.0.0.3") / UDP(sport=5, dport=6)]
    assert [linktype_of(p) for p in packets] == [1, 228]
    via_scapy = FIPExtractor(anonymize="zero").create_image_from_packet(
        packets, "NONE", FlowImage, 0, 0, 0, 0, False, 16, 0)
    frames = [(bytes(packets[0]), 1), (bytes(packets[1]), 228)]
    via_bytes = FIPExtractor(anonymize="zero").create_image_from_packet(
        frames, "NONE", FlowImage, 0, 0, 0, 0, False, 16, 0)
    assert len(via_scapy) == 1 and np.array_equal(via_scapy[0], via_bytes[0])
    # row 0: the SYN with zeroed MACs and IPs; row 1: raw IPv4 (no Ethernet) with zeroed IPs
    assert via_scapy[0][0, :12].tolist() == [0] * 12
    assert via_scapy[0][1, 12:20].tolist() == [0] * 8
    assert via_scapy[0][1, 0] == 0x45
    # 1.1.1 mutated the caller's packets (P21); we do not
    assert packets[0][IP].src == "10.0.0.1"
    assert IPv6 is not None
