from heifip import _core
from heifip.images import _DirectImage, packet_bytes


class PacketImage(_DirectImage):
    """One packet as a dim x dim image (reference-semantics.md §3.1)."""
    _kind = _core.IMAGE_PACKET
    _per_packet = True
    _parameters = (("dim", 8), ("fill", 0), ("auto_dim", False))

    def __init__(self, packet, *args, **kwargs) -> None:
        self._build([packet_bytes(packet)], args, kwargs)
        self.binaries = self.binaries[0]
