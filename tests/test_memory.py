"""Repeated calls must not grow memory (Bottleneck's memory_test): every C allocation of a call is
released, and no Python object is leaked by the binding."""
import gc
import os

import pytest

import heifip
from heifip.extractor import FIPExtractor
from heifip.images.flow_tiled_fixed import FlowImageTiledFixed
from heifip.images.markovchain import MarkovTransitionMatrixPacket
from heifip.images.packet import PacketImage

from pcapgen import ether, ipv4, tcp, udp, write_pcap

if os.environ.get("HEIFIP_SANITIZED") == "1":
    pytest.skip("ASan's quarantine holds freed memory on purpose; LeakSanitizer checks the C "
                "suite instead (make ctest)", allow_module_level=True)


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_repeated_calls_do_not_grow_memory(tmp_path):
    frames = [ether(ipv4(tcp(bytes(range(200)), dport=80))), ether(ipv4(udp(b"q" * 30, dport=53),
                                                                       proto=17))] * 20
    path = write_pcap(tmp_path / "x.pcap", frames)
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"nope" * 10)
    ex = FIPExtractor()

    def work():
        ex.create_image_from_file(path, "NONE", FlowImageTiledFixed, 0, 0, 0, 0, False, 16, 0, 8)
        ex.create_image_from_file(path, "HEADER", PacketImage)
        ex.create_image_from_file(path, "NONE", MarkovTransitionMatrixPacket)
        for _ in heifip.flows(path, anonymize="consistent"):
            pass
        ex.save_image(ex.create_image_from_file(path, "NONE", PacketImage)[0],
                      str(tmp_path / "out"))
        with pytest.raises(ValueError):
            ex.create_image_from_file(bad)
        with pytest.raises(FileNotFoundError):
            ex.create_image_from_file(tmp_path / "missing.pcap")

    for _ in range(200):       # warm up: allocator pools, caches, encoder pool
        work()
    gc.collect()
    before = resident_bytes()
    for _ in range(1500):
        work()
    gc.collect()
    growth = resident_bytes() - before
    assert growth < 4 * 1024 * 1024, f"resident memory grew by {growth} bytes over 1500 rounds"
