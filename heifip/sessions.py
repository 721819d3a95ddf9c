"""Flows inside one capture: ``heifip.flows`` and ``heifip.extract`` (beyond heifip 1.1.1).

heifip 1.1.1 treats one file as one flow.  Here the C core assembles 5-tuple sessions (or
unidirectional flows) in one sequential pass with bounded memory (csrc/flows.h documents the
exact rules: TCP close and SYN reuse, timeouts, fragments, non-IP frames, eviction, and the
deterministic order in which flows come out) and each flow's image is rendered as soon as the flow
is complete::

    import heifip
    for image, meta in heifip.extract("big.pcap", image="flow-tiled-fixed", dim=16, cols=8):
        print(meta.name, image.shape)

Preprocessing and addresses work as in FIPExtractor (NONE/HEADER; anonymize/seed).  Flow keys in
``meta`` are never raw addresses unless anonymize="keep": "random" and "consistent" give the keyed
pseudonym of each address, "zero" zeros.
"""
import ipaddress
import os
import warnings
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

from heifip import _core
from heifip.errors import CaptureDamageWarning
from heifip.extractor import IMAGE_TYPES, anonymize_mode, checked_seed
from heifip.images import bind_image_arguments, render_arguments
from heifip.images.flow import FlowImage
from heifip.images.flow_tiled_auto import FlowImageTiledAuto
from heifip.images.flow_tiled_fixed import FlowImageTiledFixed
from heifip.images.markovchain import MarkovTransitionMatrixFlow, MarkovTransitionMatrixPacket
from heifip.images.packet import PacketImage
from heifip.layers import preprocess_mode

SPLITS = {"session": _core.SPLIT_SESSION, "flow": _core.SPLIT_FLOW, "file": _core.SPLIT_FILE}

#: Image names as the ``fip extract`` commands spell them.
IMAGE_NAMES = {
    "packet": PacketImage,
    "flow": FlowImage,
    "flow-tiled-fixed": FlowImageTiledFixed,
    "flow-tiled-auto": FlowImageTiledAuto,
    "markov-flow": MarkovTransitionMatrixFlow,
    "markov-packet": MarkovTransitionMatrixPacket,
}

PROTOCOL_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6", 132: "sctp"}


class FlowMeta(_core.FlowInfo):
    """What is known of one flow.  Addresses are anonymised as the extractor's addresses are.

    Fields: source (the capture file), index (position among the flows of this capture, in
    emission order), family (4, 6, or 0 for non-IP / split="file"), protocol (IP protocol
    number), src/sport and dst/dport (client -> server for sessions, sender -> receiver for
    flows; addresses as strings, None for family 0), first_timestamp_ns, last_timestamp_ns,
    packets (seen in the flow, kept or not), bytes (their wire bytes), kept_packets (kept for
    the image), first_record / last_record (record indices in the capture) and end ("fin",
    "rst", "new_syn", "idle", "active", "evicted", "end_of_input").  Read-only.  The C core fills
    the fields (``_core.FlowInfo``) without running Python per flow; addresses are pseudonymised
    and formatted on first use (a capture can have millions of flows)."""

    __slots__ = ()   # every field lives in the C base, _core.FlowInfo (the _text cache too)

    def _addresses(self):
        if self._text is None:
            self._text = (_address(self.family, self._src), _address(self.family, self._dst))
        return self._text

    @property
    def src(self) -> Optional[str]:
        return self._addresses()[0]

    @property
    def dst(self) -> Optional[str]:
        return self._addresses()[1]

    @property
    def protocol_name(self) -> str:
        return PROTOCOL_NAMES.get(self.protocol, str(self.protocol))

    @property
    def key(self) -> Tuple:
        return (self.src, self.sport, self.dst, self.dport, self.protocol)

    @property
    def duration_ns(self) -> int:
        return self.last_timestamp_ns - self.first_timestamp_ns

    @property
    def name(self) -> str:
        """A unique, file-name-safe name: first record index (unique within a capture),
        protocol and the (anonymised) endpoints."""
        if self.family == 0:
            return f"{self.first_record:09d}_{'file' if self.src is None else 'other'}"
        def host(address):
            return address.replace(":", "-")
        return (f"{self.first_record:09d}_{self.protocol_name}_{host(self.src)}_{self.sport}"
                f"_{host(self.dst)}_{self.dport}")

    def __repr__(self):
        return (f"FlowMeta(source={self.source!r}, index={self.index}, {self.protocol_name} "
                f"{self.src}:{self.sport} -> {self.dst}:{self.dport}, packets={self.packets}, "
                f"end={self.end!r})")

    def __eq__(self, other):
        return isinstance(other, FlowMeta) and all(
            getattr(self, f) == getattr(other, f) for f in _FIELDS)

    __hash__ = None


_FIELDS = ("source", "index", "family", "protocol", "_src", "sport", "_dst", "dport",
           "first_timestamp_ns", "last_timestamp_ns", "packets", "bytes", "kept_packets",
           "first_record", "last_record", "end")


@dataclass(frozen=True)
class Flow:
    meta: FlowMeta
    packets: List[bytes]   #: preprocessed per-packet byte strings (what the images are made of)


def _address(family, raw):
    if family == 4 and len(raw) == 4:
        return str(ipaddress.IPv4Address(raw))
    if family == 6 and len(raw) == 16:
        return str(ipaddress.IPv6Address(raw))
    return None


def _sources(source):
    if isinstance(source, (str, bytes, os.PathLike)):
        return [os.fspath(source)]
    return [os.fspath(s) for s in source]


def _seconds_to_ns(value, name):
    if value is None:
        return 0
    if value < 0:
        raise ValueError(f"{name} must be >= 0 seconds or None, not {value}")
    return int(round(value * 1e9))


def _readers(source, split, preprocessing, bpf, idle_timeout, active_timeout, max_packets,
             min_packets, bytes_per_packet, max_memory, keep_non_ip, anonymize, seed, limit,
             image=None):
    try:
        split_mode = SPLITS[split]
    except (KeyError, TypeError):
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}") from None
    options = dict(
        mode=preprocess_mode(preprocessing), anonymize=anonymize_mode(anonymize),
        seed=checked_seed(seed), split=split_mode,
        idle_timeout_ns=_seconds_to_ns(idle_timeout, "idle_timeout"),
        active_timeout_ns=_seconds_to_ns(active_timeout, "active_timeout"),
        max_packets=max_packets, min_packets=min_packets,
        bytes_per_packet=-1 if bytes_per_packet is None else bytes_per_packet,
        max_memory_bytes=0 if max_memory is None else max_memory,
        keep_non_ip=keep_non_ip, bpf=bpf, limit=limit or 0, meta_type=FlowMeta, **(image or {}))
    for path in _sources(source):
        if os.path.isdir(path):
            raise IsADirectoryError(21, "Is a directory", path)
        reader = _core.FlowReader(path, source=path, **options)
        yield path, reader


def _warn_damage(path, reader):
    if reader.damage is not None:
        record, _offset, reason = reader.damage
        warnings.warn(CaptureDamageWarning(f"{path}: record {record}: {reason}; the flows use "
                                           f"the packets before it"), stacklevel=3)


def flows(source, split="session", preprocessing="NONE", *, bpf=None, idle_timeout=300.0,
          active_timeout=1800.0, max_packets=0, min_packets=0, bytes_per_packet=None,
          max_memory=_core.DEFAULT_MAX_MEMORY_BYTES, keep_non_ip=False, anonymize="random",
          seed=0, limit=0) -> Iterator[Flow]:
    """Yield the flows of one capture (or of each capture in a list), each when it completes.

    split: "session" (bidirectional 5-tuple), "flow" (unidirectional) or "file" (1.1.1: the whole
      file is one flow).  bpf: a libpcap filter applied before assembly ("tcp port 443").
    idle_timeout / active_timeout: seconds of capture time (None = no timeout, PcapSplitter's
      behaviour); defaults 300 s and 1800 s.  max_packets: packets kept per flow (0 = all);
      min_packets: flows with fewer packets are dropped.  bytes_per_packet: bytes kept of each
      packet (None = all).  max_memory: bytes the flow table may hold before it emits the least
      recently active flow early (None = no bound).  limit: records read per file (0 = all).
    """
    for path, reader in _readers(source, split, preprocessing, bpf, idle_timeout, active_timeout,
                                 max_packets, min_packets, bytes_per_packet, max_memory,
                                 keep_non_ip, anonymize, seed, limit):
        for packets, meta in reader:
            yield Flow(meta, list(packets))
        _warn_damage(path, reader)


def extract(source, image="flow-tiled-fixed", split="session", preprocessing="NONE", *,
            min_image_dim=0, max_image_dim=0, min_packets=0, max_packets=0, bpf=None,
            idle_timeout=300.0, active_timeout=1800.0, max_memory=_core.DEFAULT_MAX_MEMORY_BYTES,
            keep_non_ip=False, anonymize="random", seed=0, limit=0,
            **image_arguments) -> Iterator[Tuple["object", FlowMeta]]:
    """Yield ``(array, meta)`` for every flow of the capture(s) -- or for every packet of every
    flow with the per-packet images ("packet", "markov-packet").

    image: a name of IMAGE_NAMES or one of the six 1.1.1 image classes; its arguments as keywords
    (dim=, fill=, cols=, auto_dim=, append=; 1.1.1's class defaults otherwise).  min_image_dim /
    max_image_dim filter images as 1.1.1's verify() does; min_packets / max_packets are the
    per-flow limits (max_packets truncates the flow as 1.1.1's max_packets_per_flow).  Only the
    bytes and packets the image can use are kept while reading.  Other arguments as flows().
    """
    image_type = IMAGE_NAMES.get(image, image) if isinstance(image, str) else image
    if image_type not in IMAGE_TYPES:
        raise ValueError(f"image must be one of {', '.join(IMAGE_NAMES)} or an image class, "
                         f"not {image!r}")
    bound = bind_image_arguments(image_type, (), image_arguments)
    arguments = render_arguments(bound)
    # With kind=, the C core keeps only the packets and bytes the image can use and renders each
    # flow's images as the flow completes (job.h hf_flow_config_keep_for_image, FlowReader).
    for path, reader in _readers(source, split, preprocessing, bpf, idle_timeout, active_timeout,
                                 max_packets, min_packets, None, max_memory, keep_non_ip,
                                 anonymize, seed, limit,
                                 dict(kind=image_type._kind, **arguments, min_dim=min_image_dim,
                                      max_dim=max_image_dim)):
        yield from reader   # (array, meta) per image
        _warn_damage(path, reader)


__all__ = ["extract", "flows", "Flow", "FlowMeta", "IMAGE_NAMES", "SPLITS"]
