"""The `fip` command line, run as a real subprocess on captures the tests write themselves.

Every image the command writes is decoded (Pillow) and compared with what the Python API returns for
the same file and options (heifip.extractor.FIPExtractor, --anonymize zero so both are deterministic).
The comparison with heifip 1.1.1's own CLI is in test_cli_oracle.py.
"""

import gzip
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")

import heifip  # noqa: E402
from heifip.errors import CaptureDamageWarning  # noqa: E402
from heifip.extractor import FIPExtractor  # noqa: E402
from heifip.images.flow import FlowImage  # noqa: E402
from oracle_support import skip_unless_ci  # noqa: E402
from heifip.images.flow_tiled_auto import FlowImageTiledAuto  # noqa: E402
from heifip.images.flow_tiled_fixed import FlowImageTiledFixed  # noqa: E402
from heifip.images.markovchain import (MarkovTransitionMatrixFlow,  # noqa: E402
                                       MarkovTransitionMatrixPacket)
from heifip.images.packet import PacketImage  # noqa: E402

FIP = [sys.executable, "-m", "heifip"]
BANNERS = "Starting FlowImageProcessor CLI\nExtract FlowImageProcessor CLI\n"

# --------------------------------------------------------------------------------------------
# A tiny capture writer: hand-made Ethernet / IPv4 / TCP / UDP frames in pcap and pcapng files
# --------------------------------------------------------------------------------------------

MAC_DST = bytes.fromhex("020000000001")
MAC_SRC = bytes.fromhex("020000000002")


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(proto, payload, src="10.0.0.1", dst="10.0.0.2", ttl=64, ident=1):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, ttl, proto, 0,
                         bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + payload


def tcp(sport, dport, payload=b"", seq=1000, flags=0x18):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload


def udp(sport, dport, payload=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def ethernet(ip_packet, dst=MAC_DST, src=MAC_SRC):
    return dst + src + b"\x08\x00" + ip_packet


def tcp_frame(i, payload_length=20):
    return ethernet(ipv4(6, tcp(40000 + i, 5555, bytes(range(i, i + payload_length)), seq=1000 + i),
                         ttl=(60 + i) % 256, ident=i % 65536))


def udp_frame(i, payload_length=12):
    return ethernet(ipv4(17, udp(50000, 9999, bytes([i]) * payload_length), ident=100 + i))


def pcap_bytes(frames, linktype=1):
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)]
    for i, frame in enumerate(frames):
        out.append(struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)) + frame)
    return b"".join(out)


def pcapng_bytes(frames, linktype=1):
    def block(kind, body):
        body += b"\0" * (-len(body) % 4)
        length = 12 + len(body)
        return struct.pack("<II", kind, length) + body + struct.pack("<I", length)

    out = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)),
           block(1, struct.pack("<HHI", linktype, 0, 65535))]
    for i, frame in enumerate(frames):
        out.append(block(6, struct.pack("<IIIII", 0, 0, i, len(frame), len(frame)) + frame))
    return b"".join(out)


def tcp_flow(n, start=0):
    return [tcp_frame(start + i, payload_length=10 + 3 * i) for i in range(n)]


def make_tree(root):
    """The standard input tree: captures by content whatever their names, and two non-captures."""
    root = Path(root)
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.pcap").write_bytes(pcap_bytes(tcp_flow(5)))
    (root / "b.pcap").write_bytes(pcap_bytes([udp_frame(i) for i in range(3)]))
    (root / "sub" / "c.cap").write_bytes(pcap_bytes(tcp_flow(4, start=7) + [udp_frame(9)]))
    (root / "sub" / "deeper" / "d").write_bytes(pcapng_bytes(tcp_flow(6, start=3)))
    (root / "e.pcap.gz").write_bytes(gzip.compress(pcap_bytes(tcp_flow(2, start=20))))
    (root / "notes.txt").write_text("these are not packets\n")
    (root / "sub" / "empty.pcap").write_bytes(b"")
    return root


CAPTURES = ["a.pcap", "b.pcap", "e.pcap.gz", "sub/c.cap", "sub/deeper/d"]
NON_CAPTURES = ["notes.txt", "sub/empty.pcap"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("in"))


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def fip(*args, timeout=60, **kwargs):
    return subprocess.run([*FIP, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)


def read_png(path):
    with Image.open(path) as image:
        assert image.mode == "L", path
        return np.asarray(image).copy()


def outputs(root):
    root = Path(root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


CLASSES = {
    "packet": (PacketImage, ("dim", "fill", "auto_dim"), {"dim": 8, "fill": 0, "auto_dim": False}),
    "flow": (FlowImage, ("dim", "fill", "append"), {"dim": 8, "fill": 0, "append": False}),
    "flow-tiled-fixed": (FlowImageTiledFixed, ("dim", "fill", "cols"), {"dim": 8, "fill": 0, "cols": 4}),
    "flow-tiled-auto": (FlowImageTiledAuto, ("dim", "fill", "auto_dim"),
                        {"dim": 8, "fill": 0, "auto_dim": False}),
    "markov-flow": (MarkovTransitionMatrixFlow, ("cols",), {"cols": 4}),
    "markov-packet": (MarkovTransitionMatrixPacket, (), {}),
}
PER_PACKET = {"packet", "markov-packet"}

_FLAG = {"--dim": "dim", "--fill": "fill", "--cols": "cols", "--auto-dim": "auto_dim",
         "--append": "append", "--preprocess": "pre", "--min-im-dim": "min_dim",
         "--min_im_dim": "min_dim", "--max-im-dim": "max_dim", "--max_im_dim": "max_dim",
         "--min-packets": "min_packets", "--max-packets": "max_packets",
         "--remove-duplicates": "dedup", "--packet-limit": "packet_limit",
         "--anonymize": "anonymize", "--seed": "seed"}


def api_images(path, command, options):
    """What the API gives for `path` with the CLI options `options` (a list of flags)."""
    cls, arg_names, values = CLASSES[command]
    values = dict(values, pre="NONE", min_dim=0, max_dim=0, min_packets=0, max_packets=0,
                  dedup=False, packet_limit=64, anonymize="zero", seed=0)
    it = iter(options)
    for flag in it:
        key = _FLAG[flag]
        if key in ("auto_dim", "append", "dedup"):
            values[key] = True
        elif key in ("pre", "anonymize"):
            values[key] = next(it)
        else:
            values[key] = int(next(it))
    extractor = FIPExtractor(anonymize=values["anonymize"], seed=values["seed"],
                             packet_limit=values["packet_limit"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CaptureDamageWarning)
        return extractor.create_image_from_file(
            str(path), values["pre"].upper(), cls, values["min_dim"], values["max_dim"],
            values["min_packets"], values["max_packets"], values["dedup"],
            *(values[name] for name in arg_names))


def as_png_pixels(image):
    image = np.asarray(image)
    if image.dtype.kind == "f":   # Markov probabilities are saved as uint8(trunc(255 p))
        return np.trunc(image * 255.0).astype(np.uint8)
    return image.astype(np.uint8)


def expected_outputs(in_root, rels, command, options):
    """{output name relative to -w: expected pixels} for the captures `rels` below `in_root`."""
    expected = {}
    for rel in rels:
        images = api_images(Path(in_root) / rel, command, options)
        if command in PER_PACKET:
            for i, image in enumerate(images):
                expected[f"{rel}_{i:05d}_processed.png"] = as_png_pixels(image)
        else:
            assert len(images) <= 1
            for image in images:
                expected[f"{rel}_processed.png"] = as_png_pixels(image)
    return expected


def assert_outputs_equal(out_root, expected):
    assert outputs(out_root) == sorted(expected)
    for name, pixels in expected.items():
        got = read_png(Path(out_root) / name)
        assert got.shape == pixels.shape, name
        assert np.array_equal(got, pixels), name


# --------------------------------------------------------------------------------------------
# Version, help, usage errors
# --------------------------------------------------------------------------------------------

def test_version():
    result = fip("--version")
    assert result.returncode == 0
    assert result.stdout == f"fip, version {heifip.__version__}\n"


def test_console_script_is_installed_and_same_as_module(tree, tmp_path):
    script = Path(sys.executable).with_name("fip")
    if not script.exists():
        skip_unless_ci("the fip console script is not installed next to this interpreter")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout) == (0, f"fip, version {heifip.__version__}\n")
    result = subprocess.run([str(script), "extract", "flow", "-q", "--anonymize", "zero",
                             "-r", str(tree / "a.pcap"), "-w", str(tmp_path / "script")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    module = fip("extract", "flow", "-q", "--anonymize", "zero", "-r", tree / "a.pcap",
                 "-w", tmp_path / "module")
    assert module.returncode == 0, module.stderr
    assert np.array_equal(read_png(tmp_path / "script" / "a.pcap_processed.png"),
                          read_png(tmp_path / "module" / "a.pcap_processed.png"))


def test_help_lists_every_command_and_option():
    result = fip("extract", "--help")
    assert result.returncode == 0
    for command in CLASSES:
        assert command in result.stdout
    common = ["-w", "--write", "-r", "--read", "-t", "--threads", "--preprocess", "--min-im-dim",
              "--min_im_dim", "--max-im-dim", "--max_im_dim", "--remove-duplicates",
              "--min-packets", "--max-packets", "--anonymize", "--seed", "--overwrite", "-q",
              "--packet-limit"]
    own = {"packet": ["--dim", "--fill", "--auto-dim"], "flow": ["--dim", "--fill", "--append"],
           "flow-tiled-fixed": ["--dim", "--fill", "--cols"],
           "flow-tiled-auto": ["--dim", "--fill", "--auto-dim"], "markov-flow": ["--cols"],
           "markov-packet": []}
    every = {flag for flags in own.values() for flag in flags}
    for command, flags in own.items():
        text = fip("extract", command, "--help").stdout
        words = set(re.findall(r"(?<![\w-])(--?[\w-]+)", text))
        assert set(common) <= words, command
        assert set(flags) <= words, command
        assert not (every - set(flags)) & words, command   # no option of another command


def test_bare_commands_print_help():
    result = fip()
    assert result.returncode == 0 and "extract" in result.stdout
    result = fip("extract")
    assert result.returncode == 0 and "flow-tiled-fixed" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["extract", "flow", "-r", "IN"], "-w/--write"),
    (["extract", "flow", "-w", "OUT"], "-r/--read"),
    (["extract", "flow", "-r", "IN", "-w", "OUT", "-t", "0"], "-t/--threads"),
    (["extract", "flow", "-r", "IN", "-w", "OUT", "-t", "-3"], "-t/--threads"),
    (["extract", "flow", "-r", "IN", "-w", "OUT", "--preprocess", "payload"], "--preprocess"),
    (["extract", "flow", "-r", "IN", "-w", "OUT", "--dim", "eight"], "--dim"),
    (["extract", "flow", "-r", "IN", "-w", "OUT", "--cols", "3"], "--cols"),      # not a flow option
    (["extract", "markov-packet", "-r", "IN", "-w", "OUT", "--dim", "8"], "--dim"),
    (["extract", "flow", "-r", "IN", "-w", "OUT", "--anonymize", "hash"], "--anonymize"),
    (["extract", "flow", "-r", "IN", "-w", "OUT", "--packet-limit", "-1"], "--packet-limit"),
    (["extract", "tiles", "-r", "IN", "-w", "OUT"], "tiles"),
    (["extract", "flow", "-r", "MISSING", "-w", "OUT"], "MISSING"),
])
def test_usage_errors_exit_2(tree, tmp_path, args, message):
    args = [str(tree) if a == "IN" else str(tmp_path / "out") if a == "OUT"
            else str(tmp_path / "missing") if a == "MISSING" else a for a in args]
    result = fip(*args)
    assert result.returncode == 2
    assert message.replace("MISSING", str(tmp_path / "missing")) in result.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------
# Every command and option: PNG pixels equal the API's arrays
# --------------------------------------------------------------------------------------------

CASES = [
    ("packet", []),
    ("packet", ["--dim", "16", "--fill", "3"]),
    ("packet", ["--auto-dim", "--fill", "300"]),
    ("packet", ["--preprocess", "header", "--max-im-dim", "8", "--min_im_dim", "8"]),
    ("flow", []),
    ("flow", ["--append", "--dim", "4", "--fill", "9"]),
    ("flow", ["--preprocess", "HEADER", "--min-packets", "4", "--max-packets", "3"]),
    ("flow", ["--min-im-dim", "5", "--max_im_dim", "80", "--remove-duplicates"]),
    ("flow-tiled-fixed", []),
    ("flow-tiled-fixed", ["--dim", "16", "--cols", "8", "--min-packets", "3"]),  # heiFIP dataset
    ("flow-tiled-fixed", ["--cols", "2", "--fill", "255", "--preprocess", "Header"]),
    ("flow-tiled-auto", []),
    ("flow-tiled-auto", ["--auto-dim", "--fill", "7"]),
    ("flow-tiled-auto", ["--dim", "4", "--max-packets", "2"]),
    ("markov-flow", []),
    ("markov-flow", ["--cols", "2", "--preprocess", "header"]),
    ("markov-packet", []),
    ("markov-packet", ["--packet-limit", "2", "--min-im-dim", "16"]),
    ("flow", ["--packet-limit", "0", "--anonymize", "keep"]),
    ("packet", ["--anonymize", "consistent", "--seed", "11"]),
]


@pytest.mark.parametrize("command, options", CASES, ids=[f"{c}:{' '.join(o)}" for c, o in CASES])
def test_command_matches_api(tree, tmp_path, command, options):
    out = tmp_path / "out"
    if "--anonymize" not in options:
        options = options + ["--anonymize", "zero"]
    result = fip("extract", command, "-r", tree, "-w", out, "-t", "2", "-q", *options)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    expected = expected_outputs(tree, CAPTURES, command, options)
    assert expected, "the case must produce images"
    assert_outputs_equal(out, expected)


def test_default_image_shapes(tree, tmp_path):
    """Concrete shapes of 1.1.1's CLI defaults (reference-semantics.md §3.6)."""
    shapes = {}
    for command in CLASSES:
        out = tmp_path / command
        result = fip("extract", command, "-r", tree / "a.pcap", "-w", out, "-q", "--anonymize", "zero")
        assert result.returncode == 0, result.stderr
        shapes[command] = sorted({read_png(p).shape for p in out.iterdir()})
        count = len(list(out.iterdir()))
        assert count == (5 if command in PER_PACKET else 1), command
    assert shapes["packet"] == [(8, 8)]
    assert shapes["flow-tiled-fixed"] == [(32, 32)]        # dim 8 x cols 4
    assert shapes["markov-flow"] == [(64, 64)]             # 16 x cols 4
    assert shapes["markov-packet"] == [(16, 16)]
    assert shapes["flow"][0][0] == 5                       # one row per packet


def test_anonymize_keep_and_zero_write_the_addresses(tree, tmp_path):
    for mode, expected in (("keep", MAC_DST + MAC_SRC), ("zero", bytes(12))):
        out = tmp_path / mode
        result = fip("extract", "packet", "-r", tree / "a.pcap", "-w", out, "-q", "--dim", "4",
                     "--anonymize", mode)
        assert result.returncode == 0, result.stderr
        pixels = read_png(out / "a.pcap_00000_processed.png").reshape(-1)
        assert bytes(pixels[:12]) == expected, mode


def test_random_anonymization_follows_the_seed(tree, tmp_path):
    def run(name, *extra):
        out = tmp_path / name
        assert fip("extract", "packet", "-r", tree / "a.pcap", "-w", out, "-q", *extra).returncode == 0
        return read_png(out / "a.pcap_00000_processed.png")

    first, again, other = run("s1", "--seed", "1"), run("s1b", "--seed", "1"), run("s2", "--seed", "2")
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert bytes(first.reshape(-1)[:12]) != MAC_DST + MAC_SRC


# --------------------------------------------------------------------------------------------
# Input walk, output names, messages
# --------------------------------------------------------------------------------------------

def test_folder_walk_recognises_captures_by_content(tree, tmp_path):
    out = tmp_path / "out"
    result = fip("extract", "flow", "-r", tree, "-w", out, "--anonymize", "zero")
    assert result.returncode == 0, result.stderr
    assert result.stdout == BANNERS
    assert outputs(out) == sorted(f"{rel}_processed.png" for rel in CAPTURES)
    for rel in NON_CAPTURES:
        assert f"fip: skipped {tree / rel}: not a capture" in result.stderr
    summary = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"fip: 7 files in \d+\.\d s: 5 converted \(5 images\), "
                        r"2 not captures, 0 failed", summary), summary
    assert "\r" not in result.stderr   # no progress bar when stderr is no terminal


def test_single_file_input(tree, tmp_path):
    out = tmp_path / "out"
    result = fip("extract", "flow-tiled-fixed", "-r", tree / "sub" / "c.cap", "-w", out,
                 "--anonymize", "zero", "-q")
    assert result.returncode == 0, result.stderr
    assert_outputs_equal(out, {"c.cap_processed.png": as_png_pixels(
        api_images(tree / "sub" / "c.cap", "flow-tiled-fixed", [])[0])})


def test_per_packet_commands_keep_every_image(tree, tmp_path):
    out = tmp_path / "out"
    result = fip("extract", "packet", "-r", tree / "sub" / "deeper" / "d", "-w", out, "-q",
                 "--anonymize", "zero", "--dim", "10")
    assert result.returncode == 0, result.stderr
    assert outputs(out) == [f"d_{i:05d}_processed.png" for i in range(6)]
    images = api_images(tree / "sub" / "deeper" / "d", "packet", ["--dim", "10"])
    for i, image in enumerate(images):
        assert np.array_equal(read_png(out / f"d_{i:05d}_processed.png"), image)
    assert len({read_png(out / name).tobytes() for name in outputs(out)}) == 6  # all different


def test_output_inside_input_is_not_walked(tmp_path):
    src = make_tree(tmp_path / "in")
    out = src / "images"
    for _ in range(2):
        result = fip("extract", "flow", "-r", src, "-w", out, "--anonymize", "zero")
        assert result.returncode == 0, result.stderr
        assert "images" not in result.stderr.replace(" images)", "")
    assert outputs(out) == sorted(f"{rel}_processed.png" for rel in CAPTURES)


def test_relative_input_with_dots_keeps_names(tmp_path):
    """1.1.1 removes every occurrence of the -r string (P29: `-r .` drops all dots); we do not."""
    make_tree(tmp_path / "in")
    result = fip("extract", "flow", "-r", ".", "-w", "../out", "-q", "--anonymize", "zero",
                 cwd=tmp_path / "in")
    assert result.returncode == 0, result.stderr
    assert outputs(tmp_path / "out") == sorted(f"{rel}_processed.png" for rel in CAPTURES)


# --------------------------------------------------------------------------------------------
# Errors and exit status
# --------------------------------------------------------------------------------------------

def test_explicit_non_capture_fails_with_reason(tree, tmp_path):
    result = fip("extract", "flow", "-r", tree / "notes.txt", "-w", tmp_path / "out")
    assert result.returncode == 1
    assert "fip: 1 input failed:" in result.stderr
    assert re.search(rf"^  {re.escape(str(tree / 'notes.txt'))}: CaptureFormatError: .+",
                     result.stderr, re.M), result.stderr
    assert not (tmp_path / "out").exists() or outputs(tmp_path / "out") == []


def test_chunks_shrink_towards_the_end_and_keep_whole_files_alone():
    from heifip import cli

    class Settings:
        sessions, packet_limit, threads = None, 64, 1

    jobs = list(range(40))
    settings = Settings()
    sizes = [len(chunk) for chunk in cli._chunks(jobs, settings)]
    # a quarter of what is left per thread, at most CHUNK_FILES: 40 // 4 = 10, 30 // 4 = 7, ...
    assert sizes == [10, 7, 5, 4, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1]
    assert [j for chunk in cli._chunks(jobs, settings) for j in chunk] == jobs
    settings.threads = 2
    sizes = [len(chunk) for chunk in cli._chunks(list(range(210)), settings)]
    assert sizes[:6] == [16] * 6 and max(sizes) == cli.CHUNK_FILES == 16
    assert sum(sizes) == 210 and sizes[-8:] == [1] * 8
    settings.packet_limit = 0          # whole files: any size, one per task
    assert [len(c) for c in cli._chunks(jobs, settings)] == [1] * 40
    settings.packet_limit, settings.sessions = 64, {}
    assert [len(c) for c in cli._chunks(jobs, settings)] == [1] * 40


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """70 captures (chunks of several files) among non-captures, in two folders."""
    root = tmp_path_factory.mktemp("many")
    (root / "x").mkdir()
    for i in range(70):
        frames = tcp_flow(1 + i % 6, start=i) + [udp_frame(i)] * (i % 2)
        (root / ("x" if i % 3 else ".") / f"f{i:02d}.pcap").write_bytes(pcap_bytes(frames))
    (root / "x" / "notes.txt").write_text("not a capture\n")
    return root


@pytest.mark.parametrize("command", ["packet", "markov-flow", "flow-tiled-fixed"])
def test_many_files_in_chunks_match_the_api_for_any_thread_count(many, tmp_path, command):
    rels = sorted(str(p.relative_to(many)) for p in many.rglob("*.pcap"))
    options = ["--anonymize", "zero"]
    expected = expected_outputs(many, rels, command, options)
    images = len(expected)
    for threads in ("1", "3"):
        out = tmp_path / f"out{threads}"
        result = fip("extract", command, "-r", many, "-w", out, "-t", threads, *options)
        assert result.returncode == 0, result.stderr
        assert f"70 converted ({images} images), 1 not a capture, 0 failed" in result.stderr
        assert_outputs_equal(out, expected)
    again = fip("extract", command, "-r", many, "-w", tmp_path / "out1", "-t", "2", *options)
    assert "0 converted (0 images), 70 already complete, 1 not a capture" in again.stderr


@pytest.mark.parametrize("level, name, value", [(1, "none", 0), (9, "paeth", 4),
                                                (6, "adaptive", -1), (0, "sub", 1)])
def test_png_level_and_filter_options_give_those_bytes(tree, tmp_path, level, name, value):
    from heifip import _core
    out = tmp_path / "out"
    options = ["--dim", "16", "--cols", "2", "--anonymize", "zero"]
    result = fip("extract", "flow-tiled-fixed", "-r", tree, "-w", out, "-q", "--png-level",
                 str(level), "--png-filter", name, *options)
    assert result.returncode == 0, result.stderr
    expected = expected_outputs(tree, CAPTURES, "flow-tiled-fixed", options[:-2])
    assert_outputs_equal(out, expected)
    for rel, pixels in expected.items():   # the very bytes our encoder gives at those settings
        assert (out / rel).read_bytes() == _core.encode_png(pixels, level, value), rel
    default = tmp_path / "default"
    fip("extract", "flow-tiled-fixed", "-r", tree, "-w", default, "-q", *options)
    for rel, pixels in expected.items():
        assert (default / rel).read_bytes() == _core.encode_png(pixels, 1, 0), rel


@pytest.mark.parametrize("args, message", [
    (["--png-level", "13"], "--png-level: must be in 0 .. 12, got 13"),
    (["--png-level", "-1"], "--png-level: must be in 0 .. 12, got -1"),
    (["--png-filter", "best"], "--png-filter: invalid choice: 'best'"),
    (["--max-packets", "-1"], "--max-packets: must not be negative, got -1"),
    (["--min-packets", str(2 ** 63)], "--min-packets: must be a 64-bit integer"),
])
def test_png_and_limit_usage_errors(tree, tmp_path, args, message):
    result = fip("extract", "flow", "-r", tree, "-w", tmp_path / "out", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "out").exists()


def test_unwritable_image_leaves_its_file_incomplete_and_names_it(tree, tmp_path):
    out = tmp_path / "out"
    blocker = out / "a.pcap_00002_processed.png"   # a folder where image 2 of a.pcap must go
    blocker.mkdir(parents=True)
    result = fip("extract", "packet", "-r", tree, "-w", out, "--anonymize", "zero")
    assert result.returncode == 1
    failed = re.findall(r"^  (.+?): (\w+Error.*)$", result.stderr, re.M)
    assert failed == [(str(tree / "a.pcap"), f"IsADirectoryError: Is a directory: {blocker}")]
    names = outputs(out)
    assert "a.pcap_00003_processed.png" in names and "a.pcap_00004_processed.png" in names
    assert "a.pcap_00000_processed.png" not in names and "a.pcap_00001_processed.png" not in names
    assert "b.pcap_00000_processed.png" in names   # the other files are complete
    blocker.rmdir()
    rerun = fip("extract", "packet", "-r", tree, "-w", out, "--anonymize", "zero")
    assert rerun.returncode == 0, rerun.stderr
    assert "1 converted (5 images), 4 already complete" in rerun.stderr
    assert_outputs_equal(out, expected_outputs(tree, CAPTURES, "packet", []))


def test_write_file_images_arguments():
    from heifip import _core
    from heifip.errors import ImageParameterError
    common = (_core.PREPROCESS_NONE, _core.ANONYMIZE_ZERO, 0, 64, _core.IMAGE_PACKET)
    with pytest.raises(TypeError, match="item 0: expected a \\(path, prefix\\) pair"):
        _core.write_file_images(["a.pcap"], *common)
    with pytest.raises(TypeError, match="cancel must be a heifip._core.Cancel or None"):
        _core.write_file_images([], *common, cancel=object())
    with pytest.raises(ImageParameterError, match="compression level must be 0..12, got 13"):
        _core.write_file_images([], *common, level=13)
    with pytest.raises(TypeError, match="Cancel\\(\\) takes no arguments"):
        _core.Cancel(1)
    cancel = _core.Cancel()
    assert cancel.is_set() is False
    cancel.set()
    assert cancel.is_set() is True
    assert _core.write_file_images([("x.pcap", "/nonexistent/x")] * 2, *common,
                                   cancel=cancel) == [None, None]
    missing = _core.write_file_images([("/nonexistent/x.pcap", "/nonexistent/x")], *common)
    assert isinstance(missing[0], FileNotFoundError)
    assert missing[0].filename == "/nonexistent/x.pcap"


def test_one_failing_file_does_not_stop_the_others(tree, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("a file where the folder sub/ must go")
    result = fip("extract", "flow", "-r", tree, "-w", out, "-t", "2", "--anonymize", "zero")
    assert result.returncode == 1
    failed = re.findall(r"^  (.+?): (\w+Error.*)$", result.stderr, re.M)
    assert sorted(path for path, _ in failed) == [str(tree / "sub" / "c.cap"),
                                                  str(tree / "sub" / "deeper" / "d")]
    assert "fip: 2 inputs failed:" in result.stderr
    assert outputs(out) == ["a.pcap_processed.png", "b.pcap_processed.png",
                            "e.pcap.gz_processed.png", "sub"]


def test_unwritable_output_fails_every_file(tree, tmp_path):
    out = tmp_path / "out"
    out.write_text("not a folder")
    result = fip("extract", "packet", "-r", tree, "-w", out, "-q")
    assert result.returncode == 1
    assert "fip: 5 inputs failed:" in result.stderr
    assert out.read_text() == "not a folder"


def test_truncated_capture_converts_and_warns(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    data = pcap_bytes(tcp_flow(4))
    (src / "cut.pcap").write_bytes(data[:-7])       # the last record loses 7 bytes
    out = tmp_path / "out"
    result = fip("extract", "packet", "-r", src, "-w", out, "--anonymize", "zero")
    assert result.returncode == 0, result.stderr
    assert "fip: warning: CaptureDamageWarning:" in result.stderr
    assert "cut.pcap" in result.stderr and ", 1 warning, " in result.stderr
    assert_outputs_equal(out, expected_outputs(src, ["cut.pcap"], "packet", []))
    # 4 images: as scapy 2.5 (1.1.1's reader), the cut record is kept with the bytes it has
    assert len(outputs(out)) == 4


# --------------------------------------------------------------------------------------------
# Reruns, interruption, threads, progress
# --------------------------------------------------------------------------------------------

def _stats(root):
    return {name: (os.stat(Path(root) / name).st_ino, os.stat(Path(root) / name).st_mtime_ns)
            for name in outputs(root)}


def test_rerun_skips_complete_files_and_overwrite_redoes_them(tree, tmp_path):
    out = tmp_path / "out"
    args = ["extract", "packet", "-r", tree, "-w", out, "--anonymize", "zero"]
    assert fip(*args).returncode == 0
    before = _stats(out)
    assert len(before) == 21
    again = fip(*args)
    assert again.returncode == 0
    assert _stats(out) == before
    assert "0 converted (0 images), 5 already complete, 2 not captures" in again.stderr
    # a per-packet file without its first image is incomplete and redone
    (out / "a.pcap_00000_processed.png").unlink()
    partial = fip(*args)
    assert partial.returncode == 0
    assert "1 converted (5 images), 4 already complete" in partial.stderr
    after = _stats(out)
    assert set(after) == set(before)
    assert after["a.pcap_00003_processed.png"][0] != before["a.pcap_00003_processed.png"][0]
    assert after["b.pcap_00001_processed.png"] == before["b.pcap_00001_processed.png"]
    forced = fip(*args, "--overwrite")
    assert "5 converted (21 images)" in forced.stderr
    assert all(_stats(out)[n][0] != after[n][0] for n in after)
    assert_outputs_equal(out, expected_outputs(tree, CAPTURES, "packet", []))


def test_rerun_of_a_flow_command_skips_complete_files(tree, tmp_path):
    out = tmp_path / "out"
    args = ["extract", "markov-flow", "-r", tree, "-w", out]
    assert fip(*args).returncode == 0
    before = _stats(out)
    assert sorted(before) == sorted(f"{rel}_processed.png" for rel in CAPTURES)
    (out / "b.pcap_processed.png").unlink()
    again = fip(*args)
    assert again.returncode == 0
    assert "1 converted (1 image), 4 already complete, 2 not captures" in again.stderr
    after = _stats(out)
    assert {n: after[n] for n in before if n != "b.pcap_processed.png"} == {
        n: v for n, v in before.items() if n != "b.pcap_processed.png"}


def test_threads_give_identical_output(tree, tmp_path):
    for extra in (["--anonymize", "zero"], ["--seed", "5"], ["--anonymize", "consistent", "--seed", "9"]):
        runs = []
        for threads in ("1", "2"):
            out = tmp_path / f"t{threads}{extra[-1]}"
            result = fip("extract", "packet", "-r", tree, "-w", out, "-q", "-t", threads, *extra)
            assert result.returncode == 0, result.stderr
            runs.append({name: (out / name).read_bytes() for name in outputs(out)})
        assert len(runs[0]) == 21
        assert runs[0] == runs[1], extra


# Long enough (about a second of work) that the interrupt lands mid-run even on a loaded machine:
# with 6 x 1500 packets the run could end before the signal arrived.
BIG_FILES, BIG_PACKETS = 10, 4000


def big_tree(root, files=BIG_FILES, packets=BIG_PACKETS):
    root = Path(root)
    root.mkdir()
    for f in range(files):
        frames = [tcp_frame(i % 200, payload_length=i % 50) for i in range(packets)]
        (root / f"cap{f}.pcap").write_bytes(pcap_bytes(frames))
    return root


def test_interrupted_run_leaves_only_complete_images_and_resumes(tmp_path):
    src = big_tree(tmp_path / "in")
    out = tmp_path / "out"
    args = [*FIP, "extract", "packet", "-r", str(src), "-w", str(out), "-t", "1", "--dim", "4",
            "--packet-limit", "0", "--anonymize", "zero"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (out.exists() and any(out.iterdir())):
        time.sleep(0.005)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert time.monotonic() - sent < 10
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    names = outputs(out)
    assert names and len(names) < BIG_FILES * BIG_PACKETS
    assert all(re.fullmatch(r"cap\d\.pcap_\d{5}_processed\.png", n) for n in names), names[:5]
    for name in names[:: max(1, len(names) // 50)]:
        assert read_png(out / name).shape == (4, 4)      # every image that exists is whole
    resumed = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    final = outputs(out)
    assert final == sorted(f"cap{f}.pcap_{i:05d}_processed.png" for f in range(BIG_FILES)
                           for i in range(BIG_PACKETS))
    opts = ["--dim", "4", "--packet-limit", "0"]
    images = api_images(src / "cap0.pcap", "packet", opts)
    for i in (0, 777, BIG_PACKETS - 1):
        assert np.array_equal(read_png(out / f"cap0.pcap_{i:05d}_processed.png"), images[i])


def test_progress_bar_on_a_terminal(tree, tmp_path):
    master, slave = pty.openpty()
    proc = subprocess.Popen([*FIP, "extract", "flow", "-r", str(tree), "-w", str(tmp_path / "out"),
                             "--anonymize", "zero"], stdout=subprocess.PIPE, stderr=slave,
                            stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(master, 4096)
        except OSError:   # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=30) == 0
    text = b"".join(chunks).decode()
    assert "\r" in text
    assert re.search(r"7/7 files +21 packets +5 images +\d+\.\d files/s", text), text
    assert "5 converted (5 images)" in text
    quiet = subprocess.run([*FIP, "extract", "flow", "-r", str(tree), "-w", str(tmp_path / "q"),
                            "-q"], capture_output=True, text=True, timeout=30)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


def test_never_hangs_on_many_failures(tree, tmp_path):
    """1.1.1 hangs forever after the first worker error (P31); every file failing ends the run."""
    src = tmp_path / "in"
    src.mkdir()
    out = tmp_path / "out"
    for i in range(40):
        shutil.copy(tree / "a.pcap", src / f"f{i:02d}.pcap")
        (out / f"f{i:02d}.pcap_processed.png").mkdir(parents=True)   # the image cannot go there
    result = fip("extract", "markov-flow", "-r", src, "-w", out, "-t", "3", timeout=30)
    assert result.returncode == 1
    assert "fip: 40 inputs failed:" in result.stderr
    failed = re.findall(r"^  (.+?): (\w+Error.*)$", result.stderr, re.M)
    assert [path for path, _ in failed] == [str(src / f"f{i:02d}.pcap") for i in range(40)]
    assert "Traceback" not in result.stderr
