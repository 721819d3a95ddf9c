from heifip import _core
from heifip.images import _DirectImage, packet_bytes


class MarkovTransitionMatrix(_DirectImage):
    """Nibble transition probabilities (reference-semantics.md §3.5): float64, 16 x 16 per packet."""


class MarkovTransitionMatrixFlow(MarkovTransitionMatrix):
    """Per-packet matrices tiled cols x cols, zero tiles for missing packets."""
    _kind = _core.IMAGE_MARKOV_FLOW
    _parameters = (("cols", 4),)

    def __init__(self, packets, *args, **kwargs) -> None:
        self._build([packet_bytes(p) for p in packets], args, kwargs)


class MarkovTransitionMatrixPacket(MarkovTransitionMatrix):
    """One packet's 16 x 16 matrix (all-zero int64 for an empty packet, as 1.1.1)."""
    _kind = _core.IMAGE_MARKOV_PACKET
    _per_packet = True
    _parameters = ()

    def __init__(self, packet, *args, **kwargs) -> None:
        self._build([packet_bytes(packet)], args, kwargs)
        self.binaries = self.binaries[0]
