"""`fip extract ... --split/--filter`: one image per session, named by the flow, plus a manifest."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import heifip
from test_sessions import RECORDS  # the hand-built capture with known sessions

from pcapgen import write_pcap


def fip(*args):
    return subprocess.run([sys.executable, "-m", "heifip", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def capture(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    return write_pcap(folder / "mixed.pcap", RECORDS)


def test_split_session_writes_one_image_per_session(capture, tmp_path):
    out = tmp_path / "out"
    result = fip("extract", "flow-tiled-fixed", "--split", "session", "--anonymize", "keep",
                 "--dim", "4", "--cols", "2", "-r", str(capture.parent), "-w", str(out), "-q")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([
        "mixed.pcap_000000000_tcp_10.0.0.1_40000_10.0.0.2_80_processed.png",
        "mixed.pcap_000000001_udp_10.0.0.1_5000_10.0.0.3_53_processed.png",
        "mixed.pcap_000000003_tcp_2001-db8--1_1234_2001-db8--2_443_processed.png",
        "mixed.pcap_000000009_tcp_10.0.0.1_40000_10.0.0.2_80_processed.png",
        "mixed.pcap_000000010_udp_10.0.0.1_7000_10.0.0.2_7001_processed.png",
        "mixed.pcap_flows.tsv"])
    expected = {m.first_record: img for img, m in heifip.extract(
        capture, image="flow-tiled-fixed", dim=4, cols=2, anonymize="keep")}
    for name in names[:-1]:
        first = int(name.split("_")[1])
        assert np.array_equal(np.asarray(Image.open(out / name)), expected[first])
    manifest = (out / "mixed.pcap_flows.tsv").read_text().splitlines()
    assert manifest[0].split("\t")[:3] == ["image", "flow", "protocol"]
    first_row = manifest[1].split("\t")
    assert first_row[2:8] == ["tcp", "10.0.0.1", "40000", "10.0.0.2", "80", "6"]
    assert first_row[-1] == "fin"
    # a rerun skips the complete file; --overwrite redoes it
    before = os.stat(out / names[0]).st_mtime_ns
    assert fip("extract", "flow-tiled-fixed", "--split", "session", "--anonymize", "keep",
               "--dim", "4", "--cols", "2", "-r", str(capture.parent), "-w", str(out),
               "-q").returncode == 0
    assert os.stat(out / names[0]).st_mtime_ns == before


def test_anonymised_names_hold_no_address(capture, tmp_path):
    out = tmp_path / "out"
    assert fip("extract", "flow", "--split", "flow", "-r", str(capture), "-w", str(out),
               "-q").returncode == 0
    names = [p.name for p in out.iterdir()]
    assert len(names) == 9   # 8 unidirectional flows + the manifest
    assert not any("10.0.0" in n or "2001-db8" in n for n in names)


def test_filter_and_per_packet_names(capture, tmp_path):
    out = tmp_path / "out"
    result = fip("extract", "packet", "--split", "session", "--filter", "udp and not vlan",
                 "--anonymize", "zero", "-r", str(capture), "-w", str(out), "-q")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "mixed.pcap_000000001_udp_0.0.0.0_5000_0.0.0.0_53_00000_processed.png",
        "mixed.pcap_000000001_udp_0.0.0.0_5000_0.0.0.0_53_00001_processed.png",
        "mixed.pcap_flows.tsv"]


def test_bad_filter_is_a_usage_error(capture, tmp_path):
    result = fip("extract", "flow", "--filter", "tcp port", "-r", str(capture), "-w",
                 str(tmp_path / "out"))
    assert result.returncode == 2
    assert "tcp port" in result.stderr and "syntax error" in result.stderr
    assert not (tmp_path / "out").exists()
