"""heifip 1.1.1's image classes (``heifip.images.*``), rendered by the C core (csrc/render.c).

Each class can be used two ways, as in 1.1.1: as the ``image_type`` argument of
``FIPExtractor.create_image_*``, or constructed directly from packets -- bytes-like objects, 1.1.1
``FIPPacket``-like objects with a ``.packet`` attribute, or scapy packets -- giving ``.matrix``
(the array) and ``.binaries`` (the packets' bytes as lists of ints).

``_parameters`` lists a class's image arguments in 1.1.1's positional order with 1.1.1's class
defaults (reference-semantics.md §3.6); it is the one table the extractor binds ``*args`` with.
"""
import operator
from abc import ABC


class NetworkTrafficImage(ABC):
    _kind = None          # heifip._core.IMAGE_* (set by each subclass)
    _per_packet = False   # one image per packet (PacketImage, MarkovTransitionMatrixPacket)
    _parameters = ()      # ((name, default), ...) in 1.1.1's positional order

    def __init__(self, fill=0, dim=8) -> None:
        self.fill = fill
        self.dim = dim


def packet_bytes(packet):
    """The bytes of one packet as given to an image class or create_image_from_packet."""
    if isinstance(packet, (bytes, bytearray, memoryview)):
        return bytes(packet)
    inner = getattr(packet, "packet", None)  # 1.1.1 FIPPacket: the scapy packet is .packet
    if inner is not None:
        return bytes(inner)
    return bytes(packet)


def bind_image_arguments(image_type, args, kwargs):
    """Bind 1.1.1's positional image arguments (and our keywords) to ``image_type._parameters``;
    return a dict name -> validated value.  Raises TypeError like a Python call would, and
    ImageParameterError (a ValueError) for values that cannot make an image."""
    from heifip.errors import ImageParameterError

    names = [name for name, _ in image_type._parameters]
    if len(args) > len(names):
        raise TypeError(f"{image_type.__name__} takes {len(names)} image argument(s) "
                        f"({', '.join(names) or 'none'}), {len(args)} given")
    values = dict(image_type._parameters)
    values.update(zip(names, args))
    for name, value in kwargs.items():
        if name not in values:
            raise TypeError(f"{image_type.__name__} got an unexpected keyword argument {name!r}")
        if name in names[:len(args)]:
            raise TypeError(f"{image_type.__name__} got multiple values for argument {name!r}")
        values[name] = value
    for name in ("dim", "cols"):
        if name in values:
            try:
                values[name] = operator.index(values[name])
            except TypeError:
                raise TypeError(f"{name} must be an integer, not "
                                f"{type(values[name]).__name__}") from None
            if values[name] < 0 or (name == "cols" and values[name] == 0):
                raise ImageParameterError(f"{name} must be {'>= 1' if name == 'cols' else '>= 0'}, "
                                          f"got {values[name]}")
            # beyond int64 the core could not even receive it; 2**63-1 is already far past its
            # image size limit, so it answers with the same ImageParameterError
            values[name] = min(values[name], 2 ** 63 - 1)
    if "fill" in values:
        try:
            # 1.1.1 casts with np.uint8: fill wraps modulo 256 (quirk P25, kept) -- the core does
            # it, including the float-path rule of tiled images with missing tiles (render.h);
            # only values beyond int64 are reduced here.
            fill = operator.index(values["fill"])
            values["fill"] = fill if -2 ** 63 <= fill < 2 ** 63 else fill % 256
        except TypeError:
            raise TypeError(f"fill must be an integer, not {type(values['fill']).__name__}") from None
    for name in ("auto_dim", "append"):
        if name in values:
            values[name] = bool(values[name])
    return values


def render_arguments(values):
    """Keyword arguments for heifip._core.render/render_packets from bound image arguments."""
    return dict(dim=values.get("dim", 0), fill=values.get("fill", 0),
                auto_dim=values.get("auto_dim", False), append=values.get("append", False),
                cols=values.get("cols", 0))


class _DirectImage(NetworkTrafficImage):
    """Shared constructor of the image classes used directly (not through the extractor)."""

    def _build(self, packets, args, kwargs):
        from heifip import _core

        values = bind_image_arguments(type(self), args, kwargs)
        for name, value in values.items():
            setattr(self, name, value)
        self.binaries = [list(p) for p in packets]
        if not packets and not self._per_packet:
            raise ValueError(f"{type(self).__name__} needs at least one packet")
        self.matrix = _core.render_packets(packets, self._kind, **render_arguments(values))
