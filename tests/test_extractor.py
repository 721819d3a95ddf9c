"""FIPExtractor on captures the tests build themselves; every expected byte computed by hand."""
import concurrent.futures
import os
import warnings

import numpy as np
import pytest

from heifip.errors import CaptureDamageWarning, CaptureFormatError
from heifip.exceptions import FIPWrongParameterException
from heifip.extractor import FIPExtractor
from heifip.images.flow import FlowImage
from heifip.images.flow_tiled_auto import FlowImageTiledAuto
from heifip.images.flow_tiled_fixed import FlowImageTiledFixed
from heifip.images.markovchain import MarkovTransitionMatrixFlow, MarkovTransitionMatrixPacket
from heifip.images.packet import PacketImage
from heifip.layers import PacketProcessorType

from pcapgen import IP_A, IP_B, MAC_A, MAC_B, ether, ipv4, tcp, udp, write_pcap

SYN = ether(ipv4(tcp()))                                   # 54 bytes, no payload
DATA = ether(ipv4(tcp(b"hello", flags=0x18)))              # payload on port 12345 -> Raw
DATAGRAM = ether(ipv4(udp(b"abc"), proto=17))              # UDP payload on 12345 -> Raw


def zeroed(frame, ip_offset=14):
    """1.1.1's NONE bytes with its random addresses forced to zero (§2.3 E1, E2)."""
    out = bytearray(frame)
    out[0:12] = bytes(12)
    out[ip_offset + 12:ip_offset + 20] = bytes(8)
    return bytes(out)


@pytest.fixture
def capture(tmp_path):
    return write_pcap(tmp_path / "three.pcap", [SYN, DATA, DATAGRAM])


def test_none_mode_zeroes_addresses_and_strips_raw_payloads(capture):
    packets = FIPExtractor(anonymize="zero").packets_from_file(capture, "NONE")
    assert packets == [zeroed(SYN), zeroed(DATA)[:54], zeroed(DATAGRAM)[:42]]


def test_keep_mode_keeps_addresses(capture):
    packets = FIPExtractor(anonymize="keep").packets_from_file(capture)
    assert packets[0] == SYN
    assert packets[0][6:12] == MAC_A and packets[0][26:30] == IP_A and packets[0][30:34] == IP_B


def test_header_mode_custom_layers(capture):
    expected_syn = bytes(12) + b"\x08\x00" + bytes([0x42, 0, 64, 6]) + b"\x00\x02"
    expected_udp = bytes(12) + b"\x08\x00" + bytes([0x42, 0, 64, 17])
    for header in ("HEADER", "header", PacketProcessorType.HEADER):
        packets = FIPExtractor(anonymize="zero").packets_from_file(capture, header)
        assert packets == [expected_syn, bytes(12) + b"\x08\x00" + bytes([0x42, 0, 64, 6]) +
                           b"\x00\x18", expected_udp]


def test_random_mode_is_reproducible_and_per_packet(tmp_path):
    path = write_pcap(tmp_path / "same.pcap", [SYN, SYN])
    first = FIPExtractor().packets_from_file(path)
    assert first == FIPExtractor(seed=0).packets_from_file(path)
    assert first != FIPExtractor(seed=1).packets_from_file(path)
    # outside the address bytes the packets are the original ones
    assert first[0][12:26] == SYN[12:26] and first[0][34:] == SYN[34:]
    # 1.1.1 draws fresh addresses for every packet (P1), also for identical packets
    assert first[0][26:34] != first[1][26:34]


def test_consistent_mode_one_pseudonym_per_address(tmp_path):
    back = ether(ipv4(tcp(flags=0x12), src=IP_B, dst=IP_A), dst=MAC_A, src=MAC_B)
    path = write_pcap(tmp_path / "two.pcap", [SYN, back])
    one, two = FIPExtractor(anonymize="consistent", seed=7).packets_from_file(path)
    assert one[26:30] == two[30:34] and one[30:34] == two[26:30]   # IPs swap consistently
    assert one[0:6] == two[6:12] and one[6:12] == two[0:6]          # MACs too
    assert one[26:30] != IP_A


def test_packet_image_and_verify(capture):
    ex = FIPExtractor(anonymize="zero")
    images = ex.create_image_from_file(capture, "NONE", PacketImage, 0, 0, 0, 0, False, 4)
    assert len(images) == 3
    assert images[0].tolist() == [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [8, 0, 0x45, 0]]
    assert ex.create_image_from_file(capture, "NONE", PacketImage, 5, 0, 0, 0, False, 4) == []
    assert len(ex.create_image_from_file(capture, "NONE", PacketImage, 4, 4, 0, 0, False, 4)) == 3
    assert ex.create_image_from_file(capture, "NONE", PacketImage, 0, 3, 0, 0, False, 4) == []
    keywords = ex.create_image_from_file(capture, "NONE", PacketImage, dim=4)
    assert all(np.array_equal(a, b) for a, b in zip(keywords, images))


def test_flow_images(capture):
    ex = FIPExtractor(anonymize="zero")
    packets = ex.packets_from_file(capture)
    [rows] = ex.create_image_from_file(capture, "NONE", FlowImage, 0, 0, 0, 0, False, 16, 7)
    expected = np.full((3, 54), 7, dtype=np.uint8)
    for i, p in enumerate(packets):
        expected[i, :len(p)] = list(p)
    assert np.array_equal(rows, expected)
    [tiled] = ex.create_image_from_file(capture, "NONE", FlowImageTiledFixed, 0, 0, 0, 0, False,
                                        4, 0, 2)
    assert tiled.shape == (8, 8)
    assert tiled[0:4, 0:4].tolist() == np.frombuffer(packets[0][:16], np.uint8).reshape(4, 4).tolist()
    assert not tiled[4:, 4:].any()  # tile 4 missing: zero
    [auto] = ex.create_image_from_file(capture, "NONE", FlowImageTiledAuto, 0, 0, 0, 0, False,
                                       2, 0, True)
    assert auto.shape == (16, 16)   # dim ceil(sqrt(54)) = 8, grid ceil(sqrt(3)) = 2
    [markov] = ex.create_image_from_file(capture, "NONE", MarkovTransitionMatrixFlow)
    assert markov.shape == (64, 64) and markov.dtype == np.float64
    markovs = ex.create_image_from_file(capture, "NONE", MarkovTransitionMatrixPacket)
    assert [m.shape for m in markovs] == [(16, 16)] * 3


def test_flow_packet_limits(capture):
    ex = FIPExtractor(anonymize="zero")
    assert ex.create_image_from_file(capture, "NONE", FlowImage, 0, 0, 4) == []   # min_packets
    [two] = ex.create_image_from_file(capture, "NONE", FlowImage, 0, 0, 0, 2)    # max_packets
    assert two.shape == (2, 54)


def test_64_packet_cap_and_how_to_lift_it(tmp_path):
    path = write_pcap(tmp_path / "many.pcap", [SYN] * 100)
    assert len(FIPExtractor().packets_from_file(path)) == 64
    assert len(FIPExtractor(packet_limit=0).packets_from_file(path)) == 100
    assert len(FIPExtractor(packet_limit=None).packets_from_file(path)) == 100
    assert len(FIPExtractor(packet_limit=10).packets_from_file(path)) == 10


def test_create_image_from_packet_dedups_like_1_1_1(tmp_path):
    other_udp = ether(ipv4(udp(b"zz", sport=1, dport=2), proto=17, ident=9))
    ex = FIPExtractor(anonymize="zero")
    # all UDP packets share 1.1.1's md5("UDP") key: only the first survives (P19)
    images = ex.create_image_from_packet([DATAGRAM, other_udp, (SYN, 1)], "NONE", PacketImage)
    assert len(images) == 2
    assert ex.create_image_from_packet([DATAGRAM], "NONE", PacketImage) == []
    # ...and the keys filter later file reads on the same extractor
    path = write_pcap(tmp_path / "udp.pcap", [other_udp])
    assert ex.create_image_from_file(path, "NONE", PacketImage) == []
    assert len(FIPExtractor().create_image_from_file(path, "NONE", PacketImage)) == 1


def test_wrong_image_type_and_arguments(capture):
    ex = FIPExtractor()
    with pytest.raises(FIPWrongParameterException):
        ex.create_image_from_file(capture, "NONE", int)
    with pytest.raises(TypeError):
        ex.create_image_from_file(capture, "NONE", MarkovTransitionMatrixPacket, 0, 0, 0, 0,
                                  False, 3)
    with pytest.raises(ValueError):
        ex.create_image_from_file(capture, "PAYLOAD", PacketImage)
    with pytest.raises(ValueError):
        FIPExtractor(anonymize="scramble")


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.pcap"
    with pytest.raises(FileNotFoundError) as info:
        FIPExtractor().create_image_from_file(missing)
    assert str(missing) in str(info.value)


def test_not_a_capture_names_file_and_reason(tmp_path):
    path = tmp_path / "README"
    path.write_text("this is not a capture\n")
    with pytest.raises(CaptureFormatError) as info:
        FIPExtractor().create_image_from_file(path)
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value) and "pcap" in str(info.value)


def test_truncated_capture_keeps_packets_and_warns(tmp_path):
    data = open(write_pcap(tmp_path / "full.pcap", [SYN, SYN, SYN]), "rb").read()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:-20])       # the last record loses 20 of its 54 bytes
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        packets = FIPExtractor(anonymize="keep").packets_from_file(cut)
    damage = [w for w in caught if issubclass(w.category, CaptureDamageWarning)]
    assert len(damage) == 1 and str(cut) in str(damage[0].message)
    assert "record 2" in str(damage[0].message)
    # scapy (1.1.1) returns the partial last record as it is
    assert packets[:2] == [SYN, SYN] and packets[2] == SYN[:34]


def test_save_image_writes_processed_png(tmp_path):
    from PIL import Image
    image = np.arange(64, dtype=np.uint8).reshape(8, 8)
    ex = FIPExtractor()
    ex.save_image(image, str(tmp_path / "sub" / "dir" / "name"))
    written = tmp_path / "sub" / "dir" / "name_processed.png"
    assert np.array_equal(np.asarray(Image.open(written)), image)
    markov = np.zeros((16, 16))
    markov[0, 1] = 0.5
    markov[2, 3] = 1.0
    ex.save_image(markov, str(tmp_path / "m"))
    decoded = np.asarray(Image.open(tmp_path / "m_processed.png"))
    assert decoded[0, 1] == 127 and decoded[2, 3] == 255 and decoded.sum() == 127 + 255
    assert [p.name for p in tmp_path.iterdir()] .count("m_processed.png") == 1
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]


def test_convert_as_1_1_1():
    ex = FIPExtractor()
    out = ex.convert(np.array([[0.0, 0.5], [0.25, 1.0]]), 0, 255, np.uint8)
    assert out.tolist() == [[0, 127], [63, 255]]


def test_one_extractor_from_eight_threads(tmp_path):
    paths = [write_pcap(tmp_path / f"{i}.pcap", [SYN, DATA, DATAGRAM] * (i + 1)) for i in range(8)]
    ex = FIPExtractor(seed=3)
    serial = [ex.create_image_from_file(p, "NONE", FlowImageTiledFixed, 0, 0, 0, 0, False, 8, 0, 4)
              for p in paths]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        threaded = list(pool.map(lambda p: ex.create_image_from_file(
            p, "NONE", FlowImageTiledFixed, 0, 0, 0, 0, False, 8, 0, 4), paths * 4))
    for i, result in enumerate(threaded):
        assert len(result) == 1 and np.array_equal(result[0], serial[i % 8][0])
    assert os.path.exists(paths[0])


def test_empty_capture_gives_no_images(tmp_path):
    path = write_pcap(tmp_path / "empty.pcap", [])
    ex = FIPExtractor()
    assert ex.packets_from_file(path) == []
    for image_type in (PacketImage, FlowImage, FlowImageTiledFixed, FlowImageTiledAuto,
                       MarkovTransitionMatrixFlow, MarkovTransitionMatrixPacket):
        assert ex.create_image_from_file(path, "NONE", image_type) == []
