from heifip import _core
from heifip.images import _DirectImage, packet_bytes


class FlowImageTiledAuto(_DirectImage):
    """A flow as a ceil(sqrt(n)) square grid of packet tiles (reference-semantics.md §3.4)."""
    _kind = _core.IMAGE_FLOW_TILED_AUTO
    _parameters = (("dim", 16), ("fill", 0), ("auto_dim", False))

    def __init__(self, packets, *args, **kwargs) -> None:
        self.packets = packets
        self._build([packet_bytes(p) for p in packets], args, kwargs)
