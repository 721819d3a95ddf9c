"""The image argument sets compared against heifip 1.1.1 -- defined once, used by both sides.

This module is imported by ``oracle_dump.py`` inside the oracle venv (heifip 1.1.1 + scapy 2.5.0,
NumPy 1.x) and by ``test_parity.py`` in our venv, so it must stay plain Python: no imports from
heifip, NumPy or the test package.  Classes are named by their 1.1.1 import path (module, class),
which is the same in both packages.

Each argument set is one call
``create_image_from_file(path, mode, Class, min_dim, max_dim, min_packets, max_packets, False, *args)``
(``remove_duplicates`` is a no-op in 1.1.1, reference-semantics.md §7.1 P20).  Changing this table
changes the oracle cache key (oracle.py hashes this file), so the cache is rebuilt automatically.
"""

from collections import namedtuple

# (module, class name) of every image type, by 1.1.1's import paths (reference-semantics.md §4.1).
IMAGE_CLASSES = {
    "PacketImage": "heifip.images.packet",
    "FlowImage": "heifip.images.flow",
    "FlowImageTiledFixed": "heifip.images.flow_tiled_fixed",
    "FlowImageTiledAuto": "heifip.images.flow_tiled_auto",
    "MarkovTransitionMatrixFlow": "heifip.images.markovchain",
    "MarkovTransitionMatrixPacket": "heifip.images.markovchain",
}

ArgSet = namedtuple("ArgSet", "key cls min_dim max_dim min_packets max_packets args")


def _make(cls, args=(), min_dim=0, max_dim=0, min_packets=0, max_packets=0):
    key = "%s(%s)" % (cls, ",".join(repr(a) for a in args))
    limits = [
        "%s=%d" % (name, value)
        for name, value in (("min_dim", min_dim), ("max_dim", max_dim),
                            ("min_packets", min_packets), ("max_packets", max_packets))
        if value
    ]
    if limits:
        key += "[" + ",".join(limits) + "]"
    return ArgSet(key, cls, min_dim, max_dim, min_packets, max_packets, tuple(args))


ARGSETS = (
    # The class defaults (no positional image arguments), one per image type (§3.6).
    _make("PacketImage"),
    _make("FlowImage"),
    _make("FlowImageTiledFixed"),
    _make("FlowImageTiledAuto"),
    _make("MarkovTransitionMatrixFlow"),
    _make("MarkovTransitionMatrixPacket"),  # takes no image arguments at all
    # PacketImage(dim, fill, auto_dim): fill 300 wraps to 44 (§3, P25).
    _make("PacketImage", (4, 255, False)),
    _make("PacketImage", (8, 300, True)),
    # FlowImage(dim, fill, append): dim ignored without append (P22), append pads with 0 (P23).
    _make("FlowImage", (16, 7, False)),
    _make("FlowImage", (8, 0, True)),
    _make("FlowImage", (32, 255, True)),
    # FlowImageTiledFixed(dim, fill, cols): (8, 0, 4) are the CLI defaults; fill -1 wraps to 255.
    _make("FlowImageTiledFixed", (8, 0, 4)),
    _make("FlowImageTiledFixed", (16, 3, 8)),
    _make("FlowImageTiledFixed", (4, -1, 2)),
    # FlowImageTiledAuto(dim, fill, auto_dim).
    _make("FlowImageTiledAuto", (8, 0, False)),
    _make("FlowImageTiledAuto", (16, 5, True)),
    # MarkovTransitionMatrixFlow(cols).
    _make("MarkovTransitionMatrixFlow", (2,)),
    _make("MarkovTransitionMatrixFlow", (8,)),
    # Limits (§4.2, §4.3).
    _make("FlowImageTiledFixed", (8, 0, 4), min_packets=3, max_packets=5),
    _make("PacketImage", (), min_dim=9),  # every default PacketImage is 8x8: all filtered
    _make("FlowImage", (16, 0, False), min_dim=2, max_dim=64),
    _make("FlowImageTiledAuto", (), max_packets=4),
)

BY_KEY = {a.key: a for a in ARGSETS}
assert len(BY_KEY) == len(ARGSETS), "duplicate argument set keys"

MODES = ("NONE", "HEADER")  # passed as strings, as 1.1.1's CLI does (§0.3)
