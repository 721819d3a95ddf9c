from heifip import _core
from heifip.images import _DirectImage, packet_bytes


class FlowImage(_DirectImage):
    """A flow as one row per packet, or all packets appended (reference-semantics.md §3.2)."""
    _kind = _core.IMAGE_FLOW
    _parameters = (("dim", 16), ("fill", 0), ("append", False))

    def __init__(self, packets, *args, **kwargs) -> None:
        self.packets = packets
        self._build([packet_bytes(p) for p in packets], args, kwargs)
