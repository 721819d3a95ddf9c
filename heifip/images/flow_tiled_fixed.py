from heifip import _core
from heifip.images import _DirectImage, packet_bytes


class FlowImageTiledFixed(_DirectImage):
    """A flow as a cols x cols grid of dim x dim packet tiles (reference-semantics.md §3.3)."""
    _kind = _core.IMAGE_FLOW_TILED_FIXED
    _parameters = (("dim", 16), ("fill", 0), ("cols", 3))

    def __init__(self, packets, *args, **kwargs) -> None:
        self.packets = packets
        self._build([packet_bytes(p) for p in packets], args, kwargs)
