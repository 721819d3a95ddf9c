"""``python -m heifip.demo [--out DIR] [--sample CAPTURE]``: one picture of each image type.

Makes, from a real capture, one image of each of heifip's (= heiFIP 1.1.1's) image types, in both
preprocessing modes ("NONE": the packets' bytes as captured; "HEADER": heiFIP's header
preprocessing), with ``FIPExtractor(seed=0)`` so every run gives the same pictures.  Each image is
scaled up by an integer factor with nearest-neighbour (every pixel becomes a ``scale x scale``
block, so the unscaled array is ``png[::scale, ::scale]``) and written with ``heifip.save_png`` to
``DIR/<type>_<mode>.png``; ``DIR/manifest.json`` lists them with their arguments, unscaled shapes
and scales.  Default DIR: ``demo-out`` in the current directory.

The default capture is Wireshark's sample "http.cap" (HTTP + DNS, 43 packets) as shipped in
Debian's python3-dpkt package: when it is missing from ``.cache/demo/`` of the repository checkout
this module belongs to, ``tests/data/fetch_demo_sample.sh`` is run to fetch it (apt-get download,
no install; the script's header has the capture's origin and licence).  Exit status: 0 done,
2 bad arguments, 3 the sample could not be had.

The pictures in docs/images/ are a chosen set of this demo's output (see the README).
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

EXIT_NO_SAMPLE = 3

#: Path of the default sample, relative to the repository checkout.
SAMPLE_IN_REPO = Path(".cache") / "demo" / "http.pcap"
FETCH_SCRIPT_IN_REPO = Path("tests") / "data" / "fetch_demo_sample.sh"

MODES = ("NONE", "HEADER")

#: Largest side of a scaled picture; the scale is lowered until it fits.
MAX_SIDE = 4096


class SampleUnavailable(RuntimeError):
    """The demo capture is not there and could not be fetched; the message says why."""


def _image_types():
    from heifip.images.flow import FlowImage
    from heifip.images.flow_tiled_auto import FlowImageTiledAuto
    from heifip.images.flow_tiled_fixed import FlowImageTiledFixed
    from heifip.images.markovchain import MarkovTransitionMatrixFlow, MarkovTransitionMatrixPacket
    from heifip.images.packet import PacketImage
    # (file stem, image class, image arguments in 1.1.1's positional order, their names, scale,
    #  one image per packet?)
    return [
        ("packet", PacketImage, (16, 0, False), ("dim", "fill", "auto_dim"), 16, True),
        ("flow_rows", FlowImage, (16, 0, False), ("dim", "fill", "append"), 2, False),
        ("flow_append", FlowImage, (32, 0, True), ("dim", "fill", "append"), 2, False),
        # dim 16, cols 8: the settings of the published heiFIP dataset.
        ("tiled_fixed", FlowImageTiledFixed, (16, 0, 8), ("dim", "fill", "cols"), 4, False),
        ("tiled_auto", FlowImageTiledAuto, (16, 0, True), ("dim", "fill", "auto_dim"), 2, False),
        ("markov_packet", MarkovTransitionMatrixPacket, (), (), 16, True),
        ("markov_flow", MarkovTransitionMatrixFlow, (4,), ("cols",), 8, False),
    ]


#: Stems of the files the demo writes, in order (``f"{stem}_{mode.lower()}.png"``).
STEMS = ("packet", "flow_rows", "flow_append", "tiled_fixed", "tiled_auto", "markov_packet",
         "markov_flow")


def file_names():
    """The PNG names a complete run writes."""
    return [f"{stem}_{mode.lower()}.png" for stem in STEMS for mode in MODES]


def repo_root():
    """The repository checkout this package lives in, or None (an installed wheel)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / FETCH_SCRIPT_IN_REPO).is_file() else None


def ensure_sample(sample=None):
    """Path of the capture to use: ``sample`` if given, else the default one, fetched when missing."""
    if sample is not None:
        path = Path(sample)
        if not path.is_file():
            raise SampleUnavailable(f"{sample}: no such file")
        return path
    root = repo_root()
    if root is None:
        raise SampleUnavailable(
            "the default sample is fetched by tests/data/fetch_demo_sample.sh of a heifip "
            "checkout, and this heifip is not in one; pass --sample CAPTURE")
    path = root / SAMPLE_IN_REPO
    if path.is_file() and path.stat().st_size > 0:
        return path
    script = root / FETCH_SCRIPT_IN_REPO
    print(f"heifip demo: fetching the sample ({FETCH_SCRIPT_IN_REPO})", flush=True)
    try:
        done = subprocess.run(["sh", str(script)], cwd=root, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SampleUnavailable(f"could not run {script}: {e}") from None
    for line in done.stdout.splitlines()[:-1]:
        print(f"  {line}")
    if done.returncode != 0 or not path.is_file():
        raise SampleUnavailable(f"{FETCH_SCRIPT_IN_REPO} failed (exit {done.returncode}): "
                                f"{done.stderr.strip() or done.stdout.strip()}")
    if done.stderr.strip():
        print(done.stderr.strip(), file=sys.stderr)
    return path


def upscale(img, scale):
    """Nearest-neighbour: every pixel becomes a ``scale x scale`` block (dtype kept)."""
    return np.repeat(np.repeat(np.asarray(img), scale, axis=0), scale, axis=1)


def fitting_scale(shape, scale):
    """``scale``, lowered (not below 1) until the larger side fits MAX_SIDE."""
    while scale > 1 and max(shape) * scale > MAX_SIDE:
        scale -= 1
    return scale


def interesting_packet(images):
    """Index of the packet to show: the first whose image holds an HTTP request or response
    line, else the one with the most non-zero bytes."""
    for i, img in enumerate(images):
        data = np.asarray(img, dtype=np.uint8).tobytes()
        if any(m in data for m in (b"GET ", b"POST ", b"HTTP/1.")):
            return i
    return max(range(len(images)), key=lambda i: int(np.count_nonzero(images[i])))


def run(out_dir="demo-out", sample=None, log=print):
    """Write the pictures into ``out_dir``; returns the manifest (also written as manifest.json)."""
    from heifip import save_png
    from heifip.extractor import FIPExtractor

    path = ensure_sample(sample)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    extractor = FIPExtractor(seed=0)
    limits = dict(min_image_dim=0, max_image_dim=0, min_packets_per_flow=0,
                  max_packets_per_flow=0, remove_duplicates=False)
    log(f"heifip demo: {path} ({path.stat().st_size} bytes) -> {out}/, FIPExtractor(seed=0)")
    manifest = {"sample": str(path), "extractor": {"anonymize": "random", "seed": 0},
                "limits": limits, "images": []}
    started = time.perf_counter()
    shown = None  # index of the packet the per-packet types show, in both modes
    for stem, cls, args, names, scale, per_packet in _image_types():
        for mode in MODES:
            t0 = time.perf_counter()
            images = extractor.create_image_from_file(
                str(path), mode, cls, limits["min_image_dim"], limits["max_image_dim"],
                limits["min_packets_per_flow"], limits["max_packets_per_flow"],
                limits["remove_duplicates"], *args)
            ms = (time.perf_counter() - t0) * 1e3
            call = f"{cls.__name__}({', '.join(f'{n}={v!r}' for n, v in zip(names, args))})"
            name = f"{stem}_{mode.lower()}.png"
            if not images:
                log(f"  {name:<24} {call:<50} no image from this capture ({ms:.1f} ms)")
                continue
            index = 0
            if per_packet:
                if shown is None:  # PacketImage in NONE mode comes first: the raw bytes
                    shown = interesting_packet(images)
                index = min(shown, len(images) - 1)
            img = np.asarray(images[index])
            s = fitting_scale(img.shape, scale)
            t1 = time.perf_counter()
            save_png(upscale(img, s), str(out / name))
            ms_png = (time.perf_counter() - t1) * 1e3
            h, w = img.shape
            which = f"#{index} of {len(images)}" if per_packet else f"1 of {len(images)}"
            log(f"  {name:<24} {call:<50} {which:<9} {h:>4}x{w:<4} {img.dtype.name:<7} "
                f"x{s:<2} -> {h * s}x{w * s}  {ms:6.1f} ms (+ png {ms_png:.1f} ms)")
            manifest["images"].append({
                "file": name, "stem": stem, "mode": mode, "image_type": cls.__name__,
                "args": list(args), "arg_names": list(names), "index": index,
                "count": len(images), "shape": [h, w], "dtype": img.dtype.name, "scale": s,
                "png_shape": [h * s, w * s], "ms": round(ms, 3)})
    total = time.perf_counter() - started
    with open(out / "manifest.json", "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    log(f"heifip demo: {len(manifest['images'])} pictures + manifest.json in {out}/ "
        f"({total:.2f} s)")
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m heifip.demo",
        description="Make one picture of each heifip image type (NONE and HEADER mode) from a "
                    "real capture.")
    parser.add_argument("--out", default="demo-out", metavar="DIR",
                        help="output folder (default: demo-out in the current directory)")
    parser.add_argument("--sample", metavar="CAPTURE",
                        help="capture to use instead of the Debian sample (fetched when missing)")
    ns = parser.parse_args(argv)
    try:
        run(ns.out, ns.sample)
    except SampleUnavailable as e:
        print(f"heifip demo: no sample: {e}", file=sys.stderr)
        return EXIT_NO_SAMPLE
    return 0


if __name__ == "__main__":
    sys.exit(main())
