"""The batch paths: FIPExtractor.create_images_from_files (read + render of many files in one C
call, C worker threads), save_pngs / save_images (many PNGs in one C call), and the one-call
create_image_from_file that keeps only the packets/bytes an image can use.  Every result must equal
the per-file (and the read + render) path exactly."""
import glob
import os
import re
import warnings

import numpy as np
import pytest

from heifip import _core
from heifip.errors import CaptureDamageWarning
from heifip.extractor import FIPExtractor, as_gray8, save_png, save_pngs
from heifip.images import render_arguments
from heifip.images.flow import FlowImage
from heifip.images.flow_tiled_auto import FlowImageTiledAuto
from heifip.images.flow_tiled_fixed import FlowImageTiledFixed
from heifip.images.markovchain import MarkovTransitionMatrixFlow, MarkovTransitionMatrixPacket
from heifip.images.packet import PacketImage

from pcapgen import ether, ipv4, tcp, udp, write_pcap

SHARED = os.environ.get("HEIFIP_TEST_PCAPS", os.path.join(os.path.dirname(__file__), "..", "..",
                                                           "shared", "pcaps"))

# (image type, positional image arguments, min_dim, max_dim, min_packets, max_packets)
CASES = [
    (PacketImage, (16, 0, False), 0, 0, 0, 0),
    (PacketImage, (0, 7, True), 3, 20, 0, 0),
    (FlowImage, (16, 3, False), 0, 0, 0, 0),
    (FlowImage, (32, 0, True), 0, 0, 2, 5),
    (FlowImageTiledFixed, (16, 0, 8), 0, 0, 0, 0),
    (FlowImageTiledFixed, (4, 300, 3), 0, 0, 5, 6),
    (FlowImageTiledFixed, (8, 2 ** 31 + 5, 4), 0, 0, 0, 0),   # float-path fill (render.h)
    (FlowImageTiledAuto, (8, 0, False), 0, 0, 0, 0),
    (FlowImageTiledAuto, (8, 1, True), 0, 64, 0, 3),
    (MarkovTransitionMatrixFlow, (4,), 0, 0, 0, 0),
    (MarkovTransitionMatrixFlow, (2,), 0, 0, 3, 0),
    (MarkovTransitionMatrixPacket, (), 0, 0, 0, 0),
]


def frames(n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        payload = bytes(rng.integers(0, 256, int(rng.integers(0, 400)), dtype=np.uint8))
        if i % 3 == 2:
            out.append(ether(ipv4(udp(payload), proto=17)))
        else:
            out.append(ether(ipv4(tcp(payload, flags=0x18))))
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch")
    made = [str(write_pcap(d / f"gen{i}.pcap", frames(n, i))) for i, n in
            enumerate((1, 2, 9, 16, 40, 70, 150))]
    shared = sorted(glob.glob(os.path.join(SHARED, "heifip-tests", "*.pcap")))[:12]
    return made + shared


def same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert np.array_equal(x, y, equal_nan=True)


def per_file(ex, files, mode, case):
    cls, args, *limits = case
    out = []
    for f in files:
        try:
            out.append(ex.create_image_from_file(f, mode, cls, *limits, False, *args))
        except Exception as exc:  # noqa: BLE001 -- compared below
            out.append(exc)
    return out


def read_then_render(ex, f, mode, case):
    """The two-call path (read everything, then render), as before the one-call path."""
    cls, args, min_dim, max_dim, min_packets, max_packets = case
    bound = ex._bind(cls, args, {})
    packets = ex._read_file(f, mode)
    return _core.render(packets, cls._kind, **render_arguments(bound), min_dim=min_dim,
                        max_dim=max_dim, min_packets=min_packets, max_packets=max_packets)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0].__name__}{c[1]}{c[2:]}")
@pytest.mark.parametrize("limit", [64, 0])
def test_one_call_equals_read_then_render(files, case, limit):
    ex = FIPExtractor(anonymize="random", seed=3, packet_limit=limit)
    cls, args, *limits = case
    for f in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CaptureDamageWarning)
            try:
                want = read_then_render(ex, f, "NONE", case)
            except Exception as exc:  # noqa: BLE001
                with pytest.raises(type(exc)):
                    ex.create_image_from_file(f, "NONE", cls, *limits, False, *args)
                continue
            same(ex.create_image_from_file(f, "NONE", cls, *limits, False, *args), want)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0].__name__}{c[1]}{c[2:]}")
@pytest.mark.parametrize("mode", ["NONE", "HEADER"])
def test_batch_equals_per_file_and_threads(files, case, mode):
    ex = FIPExtractor(anonymize="random", seed=1, packet_limit=0)
    cls, args, *limits = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CaptureDamageWarning)
        want = per_file(ex, files, mode, case)
        one = ex.create_images_from_files(files, mode, cls, *limits, False, *args,
                                          errors="return")
        two = ex.create_images_from_files(files, mode, cls, *limits, False, *args, threads=2,
                                          errors="return")
    for w, a, b in zip(want, one, two):
        if isinstance(w, Exception):
            assert type(a) is type(w) and str(a) == str(w)
            assert type(b) is type(w) and str(b) == str(w)
        else:
            same(a, w)
            same(b, w)


def test_batch_errors_per_file(files, tmp_path):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture at all")
    missing = tmp_path / "missing.pcap"
    batch = [files[2], str(missing), files[3], str(bad), str(tmp_path), files[4]]
    ex = FIPExtractor()
    got = ex.create_images_from_files(batch, "NONE", FlowImageTiledFixed, 0, 0, 0, 0, False,
                                      16, 0, 8, errors="return", threads=2)
    assert len(got) == len(batch)
    for f, g in zip(batch, got):
        try:
            want = ex.create_image_from_file(f, "NONE", FlowImageTiledFixed, 0, 0, 0, 0, False,
                                             16, 0, 8)
        except Exception as exc:  # noqa: BLE001
            assert type(g) is type(exc) and str(g) == str(exc) and str(f) in str(g)
        else:
            same(g, want)
    assert isinstance(got[1], FileNotFoundError)
    assert isinstance(got[4], IsADirectoryError)
    with pytest.raises(FileNotFoundError) as info:   # errors="raise": the first, in list order
        ex.create_images_from_files(batch, "NONE", FlowImageTiledFixed, 0, 0, 0, 0, False,
                                    16, 0, 8)
    assert str(missing) in str(info.value)
    assert ex.create_images_from_files([], "NONE", PacketImage) == []
    with pytest.raises(ValueError):
        ex.create_images_from_files(batch, errors="ignore")
    with pytest.raises(ValueError):
        ex.create_images_from_files(batch, threads=0)


def test_directory_is_isadirectoryerror_as_before(tmp_path):
    with pytest.raises(IsADirectoryError) as info:
        FIPExtractor().create_image_from_file(str(tmp_path))
    assert info.value.errno == 21 and info.value.filename == str(tmp_path)


def test_batch_damage_warnings_match_per_file(tmp_path):
    data = open(write_pcap(tmp_path / "full.pcap", frames(5, 9)), "rb").read()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:-20])
    ex = FIPExtractor(packet_limit=0)
    messages = []
    for call in (lambda: ex.create_image_from_file(cut, "NONE", FlowImageTiledFixed, 0, 0, 0, 0,
                                                   False, 16, 0, 8),
                 lambda: ex.create_images_from_files([cut], "NONE", FlowImageTiledFixed, 0, 0, 0,
                                                     0, False, 16, 0, 8)[0],
                 lambda: read_then_render(ex, cut, "NONE", (FlowImageTiledFixed, (16, 0, 8),
                                                            0, 0, 0, 0))):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        damage = [str(w.message) for w in caught if issubclass(w.category, CaptureDamageWarning)]
        assert len(damage) == 1
        assert caught[0].filename == __file__   # attributed to the caller's line
        messages.append(damage[0])
    assert messages[0] == messages[1] == messages[2]
    # the cut record is delivered as it is (scapy), so 5 packets: not the record index
    assert "record 4" in messages[0] and "5 packet(s)" in messages[0]


def test_dedup_falls_back_to_per_file_order(files):
    ex = FIPExtractor()
    ex.processor.hash_dict.add(b"something")   # non-empty: 1.1.1's read-side filter applies
    got = ex.create_images_from_files(files[:4], "NONE", PacketImage, 0, 0, 0, 0, False, 8)
    for f, g in zip(files[:4], got):
        same(g, ex.create_image_from_file(f, "NONE", PacketImage, 0, 0, 0, 0, False, 8))


def test_large_images_handed_over_without_copy(files):
    ex = FIPExtractor(packet_limit=0)
    f = files[6]
    case = (FlowImageTiledFixed, (400, 5, 4), 0, 0, 0, 0)    # 1600 x 1600 > 1 MiB
    img, = ex.create_image_from_file(f, "NONE", FlowImageTiledFixed, 0, 0, 0, 0, False, 400, 5, 4)
    same([img], read_then_render(ex, f, "NONE", case))
    assert img.flags.writeable and img.flags.c_contiguous
    img[0, 0] = 1                                              # the memory is ours to write
    del img


def test_memory_kept_is_what_the_image_uses(tmp_path):
    """packet_limit=0 on a long capture: FTF keeps cols^2 packets; counting still decides
    min_packets_per_flow (1.1.1 compares the full count)."""
    many = write_pcap(tmp_path / "many.pcap", frames(500, 4))
    ex = FIPExtractor(packet_limit=0)
    for limits in ((0, 0, 500, 0), (0, 0, 501, 0), (0, 0, 0, 3), (0, 0, 0, 0)):
        want = read_then_render(ex, many, "NONE", (FlowImageTiledFixed, (8, 0, 2)) + limits)
        got = ex.create_image_from_file(many, "NONE", FlowImageTiledFixed, *limits, False, 8, 0, 2)
        same(got, want)
    assert ex.create_image_from_file(many, "NONE", FlowImageTiledFixed, 0, 0, 501, 0, False,
                                     8, 0, 2) == []


# -- PNG batch -------------------------------------------------------------------------------

def images_for_png():
    rng = np.random.default_rng(5)
    out = [rng.integers(0, 256, (h, w), dtype=np.uint8) for h, w in ((1, 1), (16, 16), (7, 130),
                                                                    (128, 128))]
    m = rng.random((16, 16))
    m[0, 0] = np.nan
    out += [m, m.astype(np.float32), np.arange(12, dtype=np.int64).reshape(3, 4),
            np.arange(16, dtype=np.uint8).reshape(4, 4)[:, ::2]]      # non-contiguous
    return out


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_save_pngs_equals_save_png(tmp_path, threads):
    from PIL import Image
    imgs = images_for_png()
    single = [tmp_path / f"s{i}.png" for i in range(len(imgs))]
    batch = [tmp_path / f"b{i}.png" for i in range(len(imgs))]
    with np.errstate(invalid="ignore"):
        for p, img in zip(single, imgs):
            save_png(img, p)
        assert save_pngs(list(zip(batch, imgs)), threads=threads) == [None] * len(imgs)
    for s, b, img in zip(single, batch, imgs):
        assert s.read_bytes() == b.read_bytes()
        with np.errstate(invalid="ignore"):
            assert np.array_equal(np.asarray(Image.open(b)), as_gray8(img))
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_save_pngs_errors_per_item(tmp_path):
    ok = np.zeros((4, 4), np.uint8)
    items = [(tmp_path / "a.png", ok), (tmp_path / "no" / "dir" / "b.png", ok),
             (tmp_path / "c.png", np.zeros((0, 3), np.uint8)), (tmp_path / "d.png", ok)]
    got = save_pngs(items, errors="return", threads=2)
    assert got[0] is None and got[3] is None
    assert isinstance(got[1], FileNotFoundError) and "b.png" in str(got[1])
    with pytest.raises(ValueError) as single:
        save_png(items[2][1], items[2][0])
    assert type(got[2]) is type(single.value) and str(got[2]) == str(single.value)
    assert (tmp_path / "a.png").exists() and (tmp_path / "d.png").exists()
    with pytest.raises(FileNotFoundError):
        save_pngs(items)
    with pytest.raises(TypeError):
        _core.write_pngs([("x.png",)])
    assert save_pngs([]) == []


def test_save_images_like_save_image(tmp_path):
    imgs = images_for_png()[:5]
    ex = FIPExtractor()
    dirs = [str(tmp_path / "sub" / f"n{i}") for i in range(len(imgs))]
    with np.errstate(invalid="ignore"):
        assert ex.save_images(imgs, dirs, threads=2) == [None] * len(imgs)
        for i, img in enumerate(imgs):
            ex.save_image(img, str(tmp_path / "one" / f"n{i}"))
    for i in range(len(imgs)):
        assert ((tmp_path / "sub" / f"n{i}_processed.png").read_bytes()
                == (tmp_path / "one" / f"n{i}_processed.png").read_bytes())
    with pytest.raises(ValueError):
        ex.save_images(imgs, dirs[:2])


def test_encode_png_is_the_same_for_every_layout_of_the_pixels():
    """A 2-D C-contiguous aligned uint8 array is encoded in place (no conversion); every other
    layout of the same pixels -- Fortran order, a strided view, a subclass, a nested list --
    goes through NumPy's conversion and must give the same bytes, which decode to the pixels."""
    from PIL import Image
    import io
    pixels = (np.arange(16 * 24, dtype=np.uint32) * 37 % 251).astype(np.uint8).reshape(16, 24)
    wide = np.zeros((16, 48), dtype=np.uint8)
    wide[:, ::2] = pixels

    class Sub(np.ndarray):
        pass
    reference = _core.encode_png(pixels, 1, 0)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(reference))), pixels)
    for layout in (np.asfortranarray(pixels), wide[:, ::2], pixels.view(Sub), pixels.tolist(),
                   pixels.copy()):
        assert _core.encode_png(layout, 1, 0) == reference
    with pytest.raises(ValueError):
        _core.encode_png(pixels[None], 1, 0)          # 3-D: still refused


def test_encode_png_and_write_png_take_arguments_like_a_python_def(tmp_path):
    """encode_png/write_png parse their (vectorcall) arguments themselves: by position or by
    name, defaults for level/filter, and CPython's errors for everything else."""
    pixels = (np.arange(8 * 8, dtype=np.uint8) * 3).reshape(8, 8)
    default = _core.encode_png(pixels, _core.PNG_DEFAULT_LEVEL, _core.PNG_DEFAULT_FILTER)
    assert _core.encode_png(pixels) == default
    assert _core.encode_png(image=pixels) == default
    assert _core.encode_png(pixels, filter=0, level=1) == _core.encode_png(pixels, 1, 0)
    assert _core.encode_png(pixels, 9) == _core.encode_png(pixels, level=9)
    assert _core.encode_png(pixels, 1, 0) != _core.encode_png(pixels, 1, 1)   # filter is used
    a, b, c = (str(tmp_path / name) for name in ("a.png", "b.png", "c.png"))
    failures = [
        (lambda: _core.encode_png(), TypeError, "missing required argument 'image' (pos 1)"),
        (lambda: _core.encode_png(pixels, 1, 0, 5), TypeError, "at most 3 arguments (4 given)"),
        (lambda: _core.encode_png(pixels, bogus=1), TypeError,
         "unexpected keyword argument 'bogus'"),
        (lambda: _core.encode_png(pixels, 1, level=1), TypeError,
         "given by name ('level') and position (2)"),
        (lambda: _core.encode_png(pixels, "1"), TypeError, "'str' object cannot be interpreted"),
        (lambda: _core.encode_png(pixels, 1.0), TypeError, "'float' object cannot be interpreted"),
        (lambda: _core.encode_png(pixels, 2 ** 40), OverflowError, "greater than maximum"),
        (lambda: _core.encode_png(pixels, 1, -2 ** 40), OverflowError, "less than minimum"),
        (lambda: _core.write_png(a), TypeError, "missing required argument 'image' (pos 2)"),
        (lambda: _core.write_png(123, pixels), TypeError,
         "expected str, bytes or os.PathLike object, not int"),
        (lambda: _core.write_png(b, pixels, 1, 0, 0), TypeError, "at most 4 arguments (5 given)"),
        (lambda: _core.write_png(c, pixels, level=2 ** 40), OverflowError, "greater than maximum"),
    ]
    for call, error, text in failures:
        with pytest.raises(error, match=re.escape(text)):
            call()
    assert not list(tmp_path.iterdir())      # no failed call left a file
    _core.write_png(image=pixels, path=str(tmp_path / "d.png"), filter=0, level=1)
    assert (tmp_path / "d.png").read_bytes() == _core.encode_png(pixels, 1, 0)
    _core.write_png(tmp_path / "e.png", pixels)       # a PathLike, defaults
    assert (tmp_path / "e.png").read_bytes() == default
