"""heifip 1.1.1's ``heifip.layers``: the preprocessing choice and the processor's de-duplication set.

The per-packet work (1.1.1's ``*Packet`` classes on scapy) is done by the C core
(``csrc/dissect.c``, ``csrc/preprocess.c``).
"""
from enum import Enum, unique


@unique
class PacketProcessorType(Enum):
    NONE = 1
    HEADER = 2


class PacketProcessor:
    """Holds what 1.1.1's PacketProcessor keeps between calls: ``hash_dict``, the set of
    de-duplication keys of every packet ``create_image_from_packet`` has kept
    (reference-semantics.md §2.8, quirk P19).  Our keys are canonical byte strings, equal exactly
    when 1.1.1's md5 strings are equal."""

    def __init__(self, file_extension="pcap"):
        self.hash_dict = set()


def preprocess_mode(preprocessing_type):
    """Map a 1.1.1 preprocessing argument to the core's mode: the strings "NONE"/"HEADER" in any
    case, or the enum.  Unlike 1.1.1, PacketProcessorType.HEADER runs HEADER (docs/compat.md)."""
    from heifip import _core

    if preprocessing_type is None or preprocessing_type is PacketProcessorType.NONE:
        return _core.PREPROCESS_NONE
    if preprocessing_type is PacketProcessorType.HEADER:
        return _core.PREPROCESS_HEADER
    if isinstance(preprocessing_type, str):
        name = preprocessing_type.upper()
        if name == "NONE":
            return _core.PREPROCESS_NONE
        if name == "HEADER":
            return _core.PREPROCESS_HEADER
    raise ValueError(
        f"preprocessing_type must be 'NONE', 'HEADER' or a PacketProcessorType, "
        f"not {preprocessing_type!r}")


__all__ = ["PacketProcessorType", "PacketProcessor"]
