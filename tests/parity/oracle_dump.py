"""Dump heifip 1.1.1's outputs for capture files.  Runs INSIDE the oracle venv (heifip 1.1.1 +
scapy 2.5.0 + NumPy 1.x); started by oracle.py, never imported by the test suite.

    python oracle_dump.py --variant zero|random JOBS.json

JOBS.json is a list of [capture_path, output_path].  For every job one gzip-compressed pickle is
written atomically to output_path.  It holds only builtin types (dict/list/tuple/str/bytes/int/
None) so that any Python reads it without NumPy or scapy; arrays are stored as
(dtype.str, shape, raw bytes).  Layout:

    {"dump_version": str, "variant": "zero"|"random", "versions": {...},
     "modes": {"NONE"|"HEADER": {
         "error": None | (exception type name, message),   # read_packets_file raised
         "packets": [bytes, ...],                           # raw(fip.packet), file order
         "images": {argset key: {"error": None | (type, message),
                                 "arrays": [(dtype, shape, bytes), ...]}}}}}   # zero only

Variant "zero" replaces scapy's RandMAC/RandIP/RandIP6._fix by constant all-zero addresses BEFORE
heifip is imported (reference-semantics.md §8.1), so everything is byte-deterministic; variant
"random" leaves 1.1.1's unseeded random addresses alone and records only the packets (the test
compares those outside the address bytes).  One file failing in 1.1.1 never stops the dump.
"""

import argparse
import gzip
import json
import logging
import os
import pickle
import signal
import sys
import traceback
import warnings

DUMP_VERSION = "1"  # bump when the dump's meaning changes (oracle.py also hashes this file)
PER_FILE_TIMEOUT = 600  # seconds; a hang in scapy is recorded as an error, not a stalled dump

HERE = os.path.dirname(os.path.abspath(__file__))


def _quiet():
    warnings.filterwarnings("ignore")
    logging.getLogger("scapy").setLevel(logging.CRITICAL)
    logging.getLogger("scapy.runtime").setLevel(logging.CRITICAL)
    logging.getLogger("scapy.loading").setLevel(logging.CRITICAL)


def _patch_zero():
    import scapy.volatile as V

    V.RandMAC._fix = lambda self: "00:00:00:00:00:00"
    V.RandIP._fix = lambda self: "0.0.0.0"
    V.RandIP6._fix = lambda self: "::"


def _reset_tls():
    # scapy keeps TLS state per process; make every call equal to a fresh process
    # (note at the top of reference-semantics.md).
    from scapy.config import conf
    from scapy.layers.tls.session import _tls_sessions

    conf.tls_session_enable = False
    conf.tls_nss_keys = None
    conf.tls_sessions = _tls_sessions()


def _err(exc):
    return (type(exc).__name__, str(exc)[:500])


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout("oracle_dump: file took more than %d s" % PER_FILE_TIMEOUT)


def dump_file(path, variant, ctx):
    from scapy.all import raw

    PacketProcessor = ctx["PacketProcessor"]
    out = {"dump_version": DUMP_VERSION, "variant": variant, "versions": ctx["versions"],
           "modes": {}}
    for mode in ctx["modes"]:
        entry = {"error": None, "packets": [], "images": {}}
        out["modes"][mode] = entry
        _reset_tls()
        try:
            fips = PacketProcessor().read_packets_file(path, mode)
            entry["packets"] = [raw(f.packet) for f in fips]
        except _Timeout:
            raise
        except Exception as exc:  # 1.1.1 raises for the whole file: record it
            entry["error"] = _err(exc)
            continue
        if variant != "zero":
            continue
        for a in ctx["argsets"]:
            cls = ctx["classes"][a.cls]
            img = {"error": None, "arrays": []}
            entry["images"][a.key] = img
            try:
                arrays = ctx["FIPExtractor"]()._FIPExtractor__create_matrix(
                    fips, mode, cls, a.min_dim, a.max_dim, a.min_packets, a.max_packets,
                    False, *a.args)
                img["arrays"] = [(m.dtype.str, tuple(int(d) for d in m.shape), m.tobytes())
                                 for m in arrays]
            except _Timeout:
                raise
            except Exception as exc:
                img["error"] = _err(exc)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", choices=("zero", "random"), required=True)
    ap.add_argument("jobs")
    opts = ap.parse_args()

    _quiet()
    if opts.variant == "zero":
        _patch_zero()  # must happen before heifip is imported
    import importlib

    import numpy
    import scapy
    import heifip
    from heifip.extractor import FIPExtractor
    from heifip.layers import PacketProcessor

    # Refuse to dump from anything but the released 1.1.1 (e.g. our editable package).
    if "site-packages" not in (heifip.__file__ or "") or scapy.__version__ != "2.5.0":
        sys.exit("oracle_dump: wrong reference: heifip at %s, scapy %s"
                 % (heifip.__file__, scapy.__version__))

    sys.path.insert(0, HERE)
    import argsets

    classes = {name: getattr(importlib.import_module(mod), name)
               for name, mod in argsets.IMAGE_CLASSES.items()}
    try:
        from importlib.metadata import version
        heifip_version = version("heifip")
    except Exception:
        heifip_version = "?"
    ctx = {
        "PacketProcessor": PacketProcessor,
        "FIPExtractor": FIPExtractor,
        "classes": classes,
        "argsets": argsets.ARGSETS,
        "modes": argsets.MODES,
        "versions": {"heifip": heifip_version, "scapy": scapy.__version__,
                     "numpy": numpy.__version__, "python": sys.version.split()[0]},
    }
    with open(opts.jobs) as fh:
        jobs = json.load(fh)
    signal.signal(signal.SIGALRM, _alarm)
    failed = 0
    for path, out_path in jobs:
        signal.alarm(PER_FILE_TIMEOUT)
        try:
            result = dump_file(path, opts.variant, ctx)
        except BaseException as exc:  # never let one file stop the dump
            if isinstance(exc, KeyboardInterrupt):
                raise
            failed += 1
            result = {"dump_version": DUMP_VERSION, "variant": opts.variant,
                      "versions": ctx["versions"], "fatal": _err(exc),
                      "traceback": traceback.format_exc()[-2000:], "modes": {}}
        finally:
            signal.alarm(0)
        tmp = "%s.tmp.%d" % (out_path, os.getpid())
        os.makedirs(os.path.dirname(out_path), exist_ok=True)
        with gzip.open(tmp, "wb", compresslevel=6) as fh:
            pickle.dump(result, fh, protocol=4)
        os.replace(tmp, out_path)
        print("done", opts.variant, path, flush=True)
    return 0 if not failed else 3


if __name__ == "__main__":
    sys.exit(main())
