"""Recognising captures by content (pcap, pcapng, gzip-compressed either)."""
import os

from heifip.errors import CaptureFormatError


def is_capture(path):
    """True when `path` starts like a pcap or pcapng capture (also gzip-compressed), whatever its
    name.  Missing or unreadable files raise OSError."""
    from heifip import _core
    try:
        _core.probe(os.fspath(path))
    except CaptureFormatError:
        return False
    return True


def capture_format(path):
    """'pcap' or 'pcapng'; raises CaptureFormatError for anything else."""
    from heifip import _core
    return _core.probe(os.fspath(path))
