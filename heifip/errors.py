"""Exceptions and warnings raised by heifip.

Every error from the C core arrives as one of these (or as a built-in the caller expects:
FileNotFoundError, OSError, MemoryError, TypeError), with a message naming the file and the reason.
"""


class HeifipError(Exception):
    """Base class of heifip's own exceptions."""


class CaptureFormatError(HeifipError, ValueError):
    """The file is not a capture heifip can read (not pcap/pcapng, unsupported version, ...)."""


class ImageParameterError(HeifipError, ValueError):
    """Image arguments that cannot make an image (e.g. cols=0, or a size beyond the limits)."""


class FilterError(HeifipError, ValueError):
    """A BPF filter expression libpcap cannot compile (or one that does not fit a link type)."""


class CaptureDamageWarning(UserWarning):
    """A capture was damaged (truncated, corrupt record); the packets before the damage were used."""


__all__ = ["HeifipError", "CaptureFormatError", "ImageParameterError", "FilterError",
           "CaptureDamageWarning"]
