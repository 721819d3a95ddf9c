"""`python -m heifip.demo`: runs it into a temporary folder and checks what it wrote.

Needs the demo capture (tests/data/fetch_demo_sample.sh: Wireshark's http.cap from Debian's
python3-dpkt package); skips only when that cannot be fetched (demo exit status 3).
"""
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from heifip import demo
from heifip.extractor import FIPExtractor
from heifip.images.flow import FlowImage
from heifip.images.flow_tiled_auto import FlowImageTiledAuto
from heifip.images.flow_tiled_fixed import FlowImageTiledFixed
from oracle_support import skip_unless_ci
from heifip.images.markovchain import MarkovTransitionMatrixFlow, MarkovTransitionMatrixPacket
from heifip.images.packet import PacketImage

REPO = Path(__file__).resolve().parent.parent
FETCH = REPO / "tests" / "data" / "fetch_demo_sample.sh"
SAMPLE_SHA256 = "25a72bdf10339f2c29916920c8b9501d294923108de8f29b19aba7cc001ab60d"

EXPECTED_FILES = [
    "packet_none.png", "packet_header.png",
    "flow_rows_none.png", "flow_rows_header.png",
    "flow_append_none.png", "flow_append_header.png",
    "tiled_fixed_none.png", "tiled_fixed_header.png",
    "tiled_auto_none.png", "tiled_auto_header.png",
    "markov_packet_none.png", "markov_packet_header.png",
    "markov_flow_none.png", "markov_flow_header.png",
]
CLASSES = {c.__name__: c for c in (PacketImage, FlowImage, FlowImageTiledFixed, FlowImageTiledAuto,
                                   MarkovTransitionMatrixPacket, MarkovTransitionMatrixFlow)}


def gray8(img):
    """What save_image/save_png write: uint8 as is, Markov probabilities as trunc(255 * p)."""
    a = np.asarray(img)
    if a.dtype.kind == "f":
        return np.clip(np.trunc(a * 255.0), 0, 255).astype(np.uint8)
    return a.astype(np.uint8)


def decode(path):
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.mode == "L", f"{path.name}: mode {im.mode}, expected 8-bit grey"
        return np.asarray(im)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    # Fetch first (apt-get may need a while on a fresh machine), so the timing is the demo's own.
    fetched = subprocess.run(["sh", str(FETCH)], capture_output=True, text=True, timeout=900,
                             stdin=subprocess.DEVNULL)
    if fetched.returncode != 0:
        skip_unless_ci(f"demo sample could not be fetched: {fetched.stderr.strip()}")
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "heifip.demo", "--out", str(out)],
                          cwd=out.parent, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=900)
    elapsed = time.monotonic() - t0
    if done.returncode == demo.EXIT_NO_SAMPLE:
        skip_unless_ci(f"demo sample could not be fetched: {done.stderr.strip()}")
    assert done.returncode == 0, f"demo failed:\n{done.stdout}\n{done.stderr}"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {"out": out, "stdout": done.stdout, "elapsed": elapsed, "manifest": manifest,
            "entries": {e["file"]: e for e in manifest["images"]}}


@pytest.fixture(scope="module")
def default_sample(demo_run):
    """True when the demo ran on the pinned sample (sample-specific numbers apply)."""
    sample = Path(demo_run["manifest"]["sample"])
    return hashlib.sha256(sample.read_bytes()).hexdigest() == SAMPLE_SHA256


def test_expected_files(demo_run):
    out = demo_run["out"]
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == sorted(EXPECTED_FILES)
    assert demo.file_names() == EXPECTED_FILES
    assert [e["file"] for e in demo_run["manifest"]["images"]] == EXPECTED_FILES
    assert (out / "manifest.json").is_file()


def test_prints_what_it_wrote(demo_run):
    lines = demo_run["stdout"].splitlines()
    for name in EXPECTED_FILES:
        line = next((l for l in lines if l.split()[:1] == [name]), None)
        assert line is not None, f"{name} not reported:\n{demo_run['stdout']}"
        e = demo_run["entries"][name]
        h, w = e["shape"]
        assert f"{h}x{w}" in line and f"-> {h * e['scale']}x{w * e['scale']}" in line
        assert " ms" in line
    assert "14 pictures" in lines[-1]


def test_quick(demo_run):
    # "a few seconds"; generous for a loaded 2-core CI machine (interpreter start-up included).
    assert demo_run["elapsed"] < 30, demo_run["stdout"]


@pytest.mark.parametrize("name", EXPECTED_FILES)
def test_png_shape_and_blocks(demo_run, name):
    e = demo_run["entries"][name]
    png = decode(demo_run["out"] / name)
    s = e["scale"]
    h, w = e["shape"]
    assert png.shape == (h * s, w * s) == tuple(e["png_shape"])
    # nearest-neighbour: every pixel is an s x s block of one value
    small = png[::s, ::s]
    assert np.array_equal(np.repeat(np.repeat(small, s, axis=0), s, axis=1), png)


def test_concrete_shapes(demo_run):
    ent = demo_run["entries"]
    for mode in ("none", "header"):
        # PacketImage dim 16 and the packet's Markov matrix: 16 x 16, shown x16
        assert ent[f"packet_{mode}.png"]["png_shape"] == [16 * 16, 16 * 16]
        assert ent[f"markov_packet_{mode}.png"]["png_shape"] == [16 * 16, 16 * 16]
        # the published dataset's tiling: dim 16, 8 x 8 tiles = 128 x 128, shown x4
        assert ent[f"tiled_fixed_{mode}.png"]["shape"] == [16 * 8, 16 * 8]
        assert decode(demo_run["out"] / f"tiled_fixed_{mode}.png").shape == (16 * 8 * 4,) * 2
        # Markov flow, cols 4: 4 x 4 tiles of 16 x 16 = 64 x 64, shown x8
        assert decode(demo_run["out"] / f"markov_flow_{mode}.png").shape == (64 * 8,) * 2
        # FlowImage append=True, dim 32: 32 columns, shown x2
        assert decode(demo_run["out"] / f"flow_append_{mode}.png").shape[1] == 32 * 2
        # FlowImageTiledAuto: square
        h, w = ent[f"tiled_auto_{mode}.png"]["shape"]
        assert h == w


def test_sample_specific_shapes(demo_run, default_sample):
    if not default_sample:
        skip_unless_ci("the fetched sample is not the pinned http.pcap (other Debian version?)")
    ent = demo_run["entries"]
    # 43 packets, the longest 1434 bytes: one row each in FlowImage (rows), shown x2
    assert ent["flow_rows_none.png"]["shape"] == [43, 1434]
    assert decode(demo_run["out"] / "flow_rows_none.png").shape == (86, 2868)
    # auto_dim: tiles of ceil(sqrt(1434)) = 38, ceil(sqrt(43)) = 7 per side -> 266, shown x2
    assert ent["tiled_auto_none.png"]["shape"] == [266, 266]
    assert ent["packet_none.png"]["count"] == 43
    assert ent["packet_none.png"]["index"] == 3          # the HTTP GET request (frame 4)


def test_packet_shown_is_the_http_request(demo_run):
    e = demo_run["entries"]["packet_none.png"]
    png = decode(demo_run["out"] / "packet_none.png")
    raw = png[::e["scale"], ::e["scale"]].tobytes()
    assert b"GET " in raw or b"HTTP/1." in raw
    # the same packet in HEADER mode and for its Markov matrix
    ent = demo_run["entries"]
    assert {ent[n]["index"] for n in ("packet_none.png", "packet_header.png",
                                      "markov_packet_none.png", "markov_packet_header.png")} \
        == {e["index"]}


def test_tiled_fixed_equals_api(demo_run):
    """The unscaled picture is the API's array for the same arguments (positional, as 1.1.1)."""
    sample = demo_run["manifest"]["sample"]
    images = FIPExtractor(seed=0).create_image_from_file(
        sample, "NONE", FlowImageTiledFixed, 0, 0, 0, 0, False, 16, 0, 8)
    assert len(images) == 1
    api = np.asarray(images[0])
    assert api.dtype == np.uint8 and api.shape == (128, 128)
    png = decode(demo_run["out"] / "tiled_fixed_none.png")
    assert np.array_equal(png[::4, ::4], api)
    # keywords give the same array
    kw = FIPExtractor(seed=0).create_image_from_file(
        sample, "NONE", FlowImageTiledFixed, 0, 0, 0, 0, False, dim=16, fill=0, cols=8)
    assert np.array_equal(np.asarray(kw[0]), api)


def test_every_picture_equals_api(demo_run):
    """Every picture, HEADER mode (seeded random addresses) and Markov floats included, is the
    API's array, recomputed here in another process with FIPExtractor(seed=0)."""
    m = demo_run["manifest"]
    limits = m["limits"]
    ex = FIPExtractor(seed=0)
    for e in m["images"]:
        images = ex.create_image_from_file(
            m["sample"], e["mode"], CLASSES[e["image_type"]], limits["min_image_dim"],
            limits["max_image_dim"], limits["min_packets_per_flow"],
            limits["max_packets_per_flow"], limits["remove_duplicates"], *e["args"])
        assert len(images) == e["count"], e["file"]
        api = np.asarray(images[e["index"]])
        assert list(api.shape) == e["shape"] and api.dtype.name == e["dtype"], e["file"]
        png = decode(demo_run["out"] / e["file"])
        s = e["scale"]
        assert np.array_equal(png[::s, ::s], gray8(api)), e["file"]


def test_save_image_writes_the_same_pixels(demo_run, tmp_path):
    """ex.save_image(img, prefix) of the unscaled Markov array = the demo's picture, unscaled."""
    m = demo_run["manifest"]
    e = demo_run["entries"]["markov_flow_none.png"]
    ex = FIPExtractor(seed=0)
    img = ex.create_image_from_file(m["sample"], "NONE", MarkovTransitionMatrixFlow,
                                    0, 0, 0, 0, False, 4)[0]
    ex.save_image(img, str(tmp_path / "mflow"))
    saved = decode(tmp_path / "mflow_processed.png")
    png = decode(demo_run["out"] / "markov_flow_none.png")
    assert np.array_equal(png[::e["scale"], ::e["scale"]], saved)


def test_fetch_script_is_idempotent(demo_run):
    done = subprocess.run(["sh", str(FETCH)], capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "up to date" in lines[0]
    sample = Path(lines[-1])
    assert sample == REPO / ".cache" / "demo" / "http.pcap" and sample.is_file()


def test_missing_sample_exit_status(tmp_path):
    done = subprocess.run([sys.executable, "-m", "heifip.demo", "--out", str(tmp_path / "o"),
                           "--sample", str(tmp_path / "nope.pcap")],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == demo.EXIT_NO_SAMPLE
    assert "nope.pcap" in done.stderr
    assert not list((tmp_path).glob("o/*.png"))


def test_docs_images_are_current(demo_run, default_sample):
    """docs/images/ (the README's pictures) is a chosen set of this demo's output.  Names and
    shapes must match; pixels depend on the seeded address draws of anonymize="random" (1.1.1
    replaces addresses in NONE mode too), so they are compared only with HEIFIP_DOCS_EXACT=1.
    To refresh the pictures after a deliberate change:
    python -m heifip.demo --out /tmp/d && cp /tmp/d/<the same names> docs/images/"""
    if not default_sample:
        skip_unless_ci("the fetched sample is not the pinned http.pcap")
    docs = sorted((REPO / "docs" / "images").glob("*.png"))
    assert docs, "docs/images/ has no pictures"
    exact = os.environ.get("HEIFIP_DOCS_EXACT") == "1"
    for path in docs:
        assert path.name in EXPECTED_FILES, f"{path.name} is not a demo picture"
        ours, made = decode(path), decode(demo_run["out"] / path.name)
        assert ours.shape == made.shape, f"docs/images/{path.name} is stale"
        if exact:
            assert np.array_equal(ours, made), f"docs/images/{path.name} is stale"
