"""The image classes on hand-computed arrays (reference-semantics.md §3 worked examples)."""
import numpy as np
import pytest

from heifip.errors import ImageParameterError
from heifip.images.flow import FlowImage
from heifip.images.flow_tiled_auto import FlowImageTiledAuto
from heifip.images.flow_tiled_fixed import FlowImageTiledFixed
from heifip.images.markovchain import MarkovTransitionMatrixFlow, MarkovTransitionMatrixPacket
from heifip.images.packet import PacketImage

P1, P2, P3 = bytes([1, 2, 3]), bytes([4, 5]), bytes(range(6, 11))


def test_packet_image_fill_truncate_auto_dim():
    five = bytes([1, 2, 3, 4, 5])
    image = PacketImage(five, 3, 9)
    assert image.matrix.dtype == np.uint8
    assert image.matrix.tolist() == [[1, 2, 3], [4, 5, 9], [9, 9, 9]]
    assert PacketImage(five, 2).matrix.tolist() == [[1, 2], [3, 4]]
    assert PacketImage(five, auto_dim=True).matrix.shape == (3, 3)
    assert PacketImage(five, 0).matrix.shape == (0, 0)
    assert image.binaries == [1, 2, 3, 4, 5]


def test_fill_wraps_modulo_256():
    assert PacketImage(b"\x01", 2, 300).matrix.tolist() == [[1, 44], [44, 44]]
    assert PacketImage(b"\x01", 2, -1).matrix.tolist() == [[1, 255], [255, 255]]


def test_flow_image_rows_and_append():
    rows = FlowImage([P1, P2, P3], 16, 9, False).matrix
    assert rows.tolist() == [[1, 2, 3, 9, 9], [4, 5, 9, 9, 9], [6, 7, 8, 9, 10]]
    appended = FlowImage([P1, P2, P3], 4, 9, True).matrix
    assert appended.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 0, 0]]  # pads with 0 (P23)


def test_tiled_fixed_missing_tiles_are_zero():
    image = FlowImageTiledFixed([P1, P2, P3], 2, 9, 2).matrix
    assert image.tolist() == [[1, 2, 4, 5], [3, 9, 9, 9], [6, 7, 0, 0], [8, 9, 0, 0]]
    assert FlowImageTiledFixed([P1], 2, 0, 3).matrix.shape == (6, 6)
    with pytest.raises(ValueError):
        FlowImageTiledFixed([P1], 2, 0, 0)


def test_tiled_auto():
    assert FlowImageTiledAuto([P1, P2, P3], 2, 9).matrix.tolist() == \
        [[1, 2, 4, 5], [3, 9, 9, 9], [6, 7, 0, 0], [8, 9, 0, 0]]
    auto = FlowImageTiledAuto([P1, P2, P3], 2, 9, True).matrix
    assert auto.tolist() == [[1, 2, 3, 4, 5, 9], [9, 9, 9, 9, 9, 9], [9, 9, 9, 9, 9, 9],
                             [6, 7, 8, 0, 0, 0], [9, 10, 9, 0, 0, 0], [9, 9, 9, 0, 0, 0]]


def test_markov_packet():
    m = MarkovTransitionMatrixPacket(bytes([0xAB, 0xAB])).matrix
    assert m.dtype == np.float64 and m.shape == (16, 16)
    expected = np.zeros((16, 16))
    expected[10][11] = 1.0
    expected[11][10] = 1.0
    assert np.array_equal(m, expected)
    m = MarkovTransitionMatrixPacket(bytes([0x01, 0x02, 0x01, 0x03])).matrix
    assert m[0].tolist()[:4] == [0, 0.5, 0.25, 0.25] and m[1][0] == 1.0
    assert m[2].sum() == 1.0 and m[5].sum() == 0  # rows that sum to 0 stay 0
    empty = MarkovTransitionMatrixPacket(b"").matrix
    assert empty.dtype == np.int64 and not empty.any()  # 1.1.1: integer zeros


def test_markov_flow_tiles():
    m = MarkovTransitionMatrixFlow([bytes([0xAB, 0xAB]), bytes([0x12])], 2).matrix
    assert m.shape == (32, 32) and m.dtype == np.float64
    assert m[10][11] == 1.0 and m[11][10] == 1.0      # tile 0
    assert m[1][16 + 2] == 1.0                         # tile 1: nibbles 1 -> 2
    assert not m[16:, :].any()                         # missing tiles are zero


def test_bad_arguments():
    with pytest.raises(TypeError):
        PacketImage(b"x", 1, 2, 3, 4)
    with pytest.raises(TypeError):
        PacketImage(b"x", dim="8")
    with pytest.raises(ImageParameterError):
        PacketImage(b"x", -1)
    with pytest.raises(TypeError):
        PacketImage(b"x", 8, nonsense=1)
