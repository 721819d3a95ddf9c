"""Parity with the real heifip 1.1.1 (+ scapy 2.5.0) on every capture of the corpora.

One test per capture file (both modes, both address variants, every argument set of argsets.py),
so that a run over ~530 files stays well under the time budget once the oracle cache exists.

Variant "zero": the oracle ran with scapy's RandMAC/RandIP/RandIP6 patched to all-zero addresses
(reference-semantics.md §8.1); ours runs with FIPExtractor(anonymize="zero").  Per-packet byte
strings and every image (dtype, shape, values) must be equal.

Variant "random": 1.1.1 unpatched vs ours with anonymize="random": same packet count and lengths,
and equal bytes outside the address positions.  The mask is the union of the positions where ours
zero != ours random and where 1.1.1 zero != 1.1.1 random (the address bytes each side replaced).

Where 1.1.1 raises for a whole file: a non-capture (Scapy_Exception) must give our
CaptureFormatError; the HEADER crashes P17/P18 (reference-semantics.md §7.1) must give output from
us -- our documented fix -- with one packet per record, as the same file gives in NONE mode.

Divergences are allowed only when listed in known_divergences.py, and every listed entry must
still diverge.
"""

import importlib
import warnings

import numpy as np
import pytest

import argsets
import parity_corpus as parity
import oracle
from known_divergences import KNOWN_DIVERGENCES

MODES = argsets.MODES
PER_PACKET_TYPES = ("PacketImage", "MarkovTransitionMatrixPacket")
MAX_PROBLEMS_SHOWN = 25


def _cases():
    params = []
    for corpus in parity.corpora():
        if corpus.why_missing:
            params.append(pytest.param(None, None, id="%s-unavailable" % corpus.name,
                                       marks=pytest.mark.skip(reason=corpus.why_missing)))
            continue
        for path in corpus.files:
            cid = parity.case_id(corpus, path)
            params.append(pytest.param(cid, str(path), id=cid))
    return params


def _ours():
    from heifip import errors
    from heifip.extractor import FIPExtractor

    classes = {name: getattr(importlib.import_module(mod), name)
               for name, mod in argsets.IMAGE_CLASSES.items()}
    return FIPExtractor, errors, classes


def _first_diff(a, b):
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n if len(a) != len(b) else None


def _hexctx(data, pos, width=8):
    lo = max(0, pos - width)
    return "%s[%s]%s" % (data[lo:pos].hex(), data[pos:pos + 1].hex(),
                         data[pos + 1:pos + 1 + width].hex())


def _packet_diff(ours, theirs):
    pos = _first_diff(ours, theirs)
    return ("first differing byte %d (ours len %d, 1.1.1 len %d): ours %s / 1.1.1 %s"
            % (pos, len(ours), len(theirs), _hexctx(ours, pos), _hexctx(theirs, pos)))


def _array_diff(ours, theirs):
    if ours.dtype != theirs.dtype:
        return "dtype ours %s, 1.1.1 %s" % (ours.dtype, theirs.dtype)
    if ours.shape != theirs.shape:
        return "shape ours %s, 1.1.1 %s" % (ours.shape, theirs.shape)
    where = np.argwhere(ours != theirs)
    if len(where) == 0:
        return None
    at = tuple(int(x) for x in where[0])
    return ("%d values differ, first at %s: ours %r, 1.1.1 %r"
            % (len(where), at, ours[at].item(), theirs[at].item()))


def _call(fn, *args):
    """(result, exception), with our CaptureDamageWarnings caught (they are expected)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return fn(*args), None, caught
        except Exception as exc:  # noqa: BLE001 -- compared with what 1.1.1 did
            return None, exc, caught


class FileCheck:
    """All comparisons for one capture; collects problems instead of stopping at the first."""

    def __init__(self, cid, path, stats):
        self.cid, self.path, self.stats = cid, path, stats
        self.problems = []

    def problem(self, mode, what, argset=None):
        self.problems.append("%s [%s]%s: %s" % (self.cid, mode,
                                                 " %s" % argset if argset else "", what))

    def count(self, mode, key, n=1):
        self.stats[(mode, key)] += n


def _check_file(cid, path, parity_stats):
    stats, notes = parity_stats
    FIPExtractor, errors, classes = _ours()
    zero = oracle.load(path, "zero")
    rand = oracle.load(path, "random")
    for d in (zero, rand):
        if "fatal" in d:
            pytest.fail("%s: the oracle dump failed for this file: %s\n%s"
                        % (cid, d["fatal"], d.get("traceback", "")))
    stats[("corpus", cid.split("/", 1)[0])] += 1
    fc = FileCheck(cid, path, stats)

    for mode in MODES:
        known_mode = {k[2] for k in KNOWN_DIVERGENCES if k[0] == cid and k[1] == mode}
        _check_mode(fc, mode, zero["modes"][mode], rand["modes"][mode], known_mode,
                    FIPExtractor, errors, classes, notes)

    if fc.problems:
        shown = fc.problems[:MAX_PROBLEMS_SHOWN]
        more = len(fc.problems) - len(shown)
        pytest.fail("\n".join(shown + (["... and %d more" % more] if more > 0 else [])),
                    pytrace=False)


def _check_mode(fc, mode, oz, orand, known, FIPExtractor, errors, classes, notes):
    cid, path = fc.cid, fc.path
    ours_zero, exc, _w = _call(FIPExtractor(anonymize="zero", packet_limit=64).packets_from_file,
                               path, mode)

    # -- 1.1.1 raised for the whole file ---------------------------------------------------------
    if oz["error"] is not None:
        etype, emsg = oz["error"]
        if etype == "Scapy_Exception":  # not a capture (§1.2)
            fc.count(mode, "files_format_error")
            if not isinstance(exc, errors.CaptureFormatError):
                fc.problem(mode, "1.1.1 raises %s(%r); ours must raise CaptureFormatError, got %s"
                           % (etype, emsg, "%s(%s)" % (type(exc).__name__, exc) if exc
                              else "%d packets" % len(ours_zero)))
            return
        # HEADER crashes P17/P18 (§2.7, §7.1): our fix produces output.
        fc.count(mode, "files_oracle_raises")
        if exc is not None:
            fc.problem(mode, "1.1.1 raises %s(%r) (P17/P18); ours must produce output (our fix) "
                       "but raised %s: %s" % (etype, emsg, type(exc).__name__, exc))
            return
        # (the packet count is checked by test_fixed_crashes_keep_the_record_count)
        notes["oracle_raises"].append("%s [%s]: 1.1.1 %s(%r); ours %d packets"
                                      % (cid, mode, etype, emsg, len(ours_zero)))
        _check_fix_images(fc, mode, FIPExtractor, classes)
        return

    fc.count(mode, "files")
    theirs = oz["packets"]
    known_all = None in known
    if exc is not None:
        if known_all:
            fc.count(mode, "packets_known", len(theirs))
        else:
            fc.problem(mode, "ours raised %s: %s; 1.1.1 returns %d packets"
                       % (type(exc).__name__, exc, len(theirs)))
        return

    # -- per-packet bytes (variant zero) -----------------------------------------------------------
    diverging = set()
    if len(ours_zero) != len(theirs):
        diverging.add(None)
        if not known_all:
            fc.problem(mode, "ours %d packets, 1.1.1 %d" % (len(ours_zero), len(theirs)))
    for i, (a, b) in enumerate(zip(ours_zero, theirs)):
        fc.count(mode, "packets")
        if a == b:
            fc.count(mode, "packets_identical")
            continue
        diverging.add(i)
        if i in known or known_all:
            fc.count(mode, "packets_known")
        else:
            fc.count(mode, "packets_diverging")
            fc.problem(mode, "packet %d: %s" % (i, _packet_diff(a, b)))
    n_missing = len(theirs) - min(len(theirs), len(ours_zero))
    if n_missing:
        fc.count(mode, "packets", n_missing)
        fc.count(mode, "packets_known" if known_all else "packets_diverging", n_missing)

    # -- images (variant zero) ---------------------------------------------------------------------
    images_diverged = False
    for a in argsets.ARGSETS:
        rec = oz["images"][a.key]
        cls = classes[a.cls]
        ex = FIPExtractor(anonymize="zero", packet_limit=64)
        ours, iexc, _w = _call(ex.create_image_from_file, path, mode, cls, a.min_dim, a.max_dim,
                               a.min_packets, a.max_packets, False, *a.args)
        if rec["error"] is not None:
            if iexc is None:
                fc.problem(mode, "1.1.1 raises %s(%r); ours returned %d images"
                           % (rec["error"][0], rec["error"][1], len(ours)), a.key)
            else:
                fc.count(mode, "argsets_both_raise")
            continue
        if iexc is not None:
            fc.problem(mode, "ours raised %s: %s" % (type(iexc).__name__, iexc), a.key)
            continue
        expected = [oracle.array_from_record(r) for r in rec["arrays"]]
        per_packet = a.cls in PER_PACKET_TYPES and len(expected) == len(theirs)

        def tolerated(j):
            if known_all:
                return True
            if per_packet:
                return j in known
            return bool(known)

        if len(ours) != len(expected):
            fc.count(mode, "images", len(expected))
            if tolerated(None) or (known and not per_packet):
                fc.count(mode, "images_known", len(expected))
                images_diverged = True
            else:
                fc.count(mode, "images_diverging", len(expected))
                fc.problem(mode, "ours %d images, 1.1.1 %d" % (len(ours), len(expected)), a.key)
            continue
        for j, (mine, exp) in enumerate(zip(ours, expected)):
            fc.count(mode, "images")
            why = _array_diff(np.asarray(mine), exp)
            if why is None:
                fc.count(mode, "images_identical")
            elif tolerated(j):
                fc.count(mode, "images_known")
                images_diverged = True
            else:
                fc.count(mode, "images_diverging")
                fc.problem(mode, "image %d: %s" % (j, why), a.key)

    # -- the known-divergence table must stay true -------------------------------------------------
    for k in sorted(known, key=lambda x: (x is not None, x or 0)):
        if k is None:
            if None not in diverging and not diverging and not images_diverged:
                fc.problem(mode, "known_divergences.py lists (%r, %r, None) but the packets and "
                           "images are now identical: remove the entry" % (cid, mode))
                notes["known_stale"].append("%s [%s] None" % (cid, mode))
        elif k not in diverging:
            fc.problem(mode, "known_divergences.py lists packet %d but it is now identical to "
                       "1.1.1: remove the entry" % k)
            notes["known_stale"].append("%s [%s] %d" % (cid, mode, k))

    # -- variant random ------------------------------------------------------------------------------
    if orand["error"] is not None:
        fc.problem(mode, "1.1.1 raised %s only in the random variant" % (orand["error"],))
        return
    ours_rand, rexc, _w = _call(
        FIPExtractor(anonymize="random", seed=0, packet_limit=64).packets_from_file, path, mode)
    if rexc is not None:
        fc.problem(mode, "random: ours raised %s: %s" % (type(rexc).__name__, rexc))
        return
    theirs_rand = orand["packets"]
    if len(ours_rand) != len(theirs_rand) and not known_all:
        fc.problem(mode, "random: ours %d packets, 1.1.1 %d" % (len(ours_rand), len(theirs_rand)))
    if len(ours_rand) != len(ours_zero):
        fc.problem(mode, "random: ours %d packets with anonymize=random, %d with zero"
                   % (len(ours_rand), len(ours_zero)))
        return
    for i, (oz_i, or_i, tz_i, tr_i) in enumerate(zip(ours_zero, ours_rand, theirs, theirs_rand)):
        if i in diverging:
            continue  # already reported (or known) in variant zero
        fc.count(mode, "random_packets")
        if len(or_i) != len(tr_i) or len(oz_i) != len(or_i) or len(tz_i) != len(tr_i):
            bad = "lengths ours zero/random %d/%d, 1.1.1 zero/random %d/%d" % (
                len(oz_i), len(or_i), len(tz_i), len(tr_i))
        else:
            a = np.frombuffer(or_i, np.uint8)
            b = np.frombuffer(tr_i, np.uint8)
            mask = (np.frombuffer(oz_i, np.uint8) != a) | (np.frombuffer(tz_i, np.uint8) != b)
            diff = np.flatnonzero((a != b) & ~mask)
            if len(diff) == 0:
                fc.count(mode, "random_identical")
                continue
            p = int(diff[0])
            bad = ("%d bytes differ outside the address bytes, first at %d: ours %s / 1.1.1 %s"
                   % (len(diff), p, _hexctx(or_i, p), _hexctx(tr_i, p)))
        if i in known or known_all:
            fc.count(mode, "random_known")
        else:
            fc.count(mode, "random_diverging")
            fc.problem(mode, "random: packet %d: %s" % (i, bad))


def _check_fix_images(fc, mode, FIPExtractor, classes):
    """1.1.1 crashed for the whole file; every argument set must give us images (our fix)."""
    for a in argsets.ARGSETS:
        ex = FIPExtractor(anonymize="zero", packet_limit=64)
        ours, exc, _w = _call(ex.create_image_from_file, fc.path, mode, classes[a.cls], a.min_dim,
                              a.max_dim, a.min_packets, a.max_packets, False, *a.args)
        if exc is not None:
            fc.problem(mode, "1.1.1 crashes here (P17/P18); ours must produce images but raised "
                       "%s: %s" % (type(exc).__name__, exc), a.key)


def test_fixed_crashes_keep_the_record_count(oracle_dumps):
    """Where 1.1.1 crashes in HEADER mode (P17/P18), we return one packet per record: as many as
    1.1.1 (and we) return for the same file in NONE mode."""
    FIPExtractor, _errors, _classes = _ours()
    checked = 0
    for corpus in parity.corpora():
        for p in corpus.files:
            path = str(p)
            z = oracle.load(path, "zero")
            if "fatal" in z:
                continue
            h, n = z["modes"]["HEADER"], z["modes"]["NONE"]
            if h["error"] is None or h["error"][0] == "Scapy_Exception" or n["error"] is not None:
                continue
            ours, exc, _w = _call(FIPExtractor(anonymize="zero").packets_from_file, path, "HEADER")
            assert exc is None, "%s: %s" % (parity.case_id(corpus, p), exc)
            assert len(ours) == len(n["packets"]), parity.case_id(corpus, p)
            checked += 1
    if not any(c.files for c in parity.corpora()):
        pytest.skip("no corpus")
    if parity.SHARED_TESTS.is_dir():
        # reference-semantics.md §8.2: 5 files of heifip's own tests crash in HEADER mode
        assert checked >= 5


def test_known_divergences_are_well_formed():
    for key, reason in KNOWN_DIVERGENCES.items():
        assert isinstance(key, tuple) and len(key) == 3, key
        cid, mode, index = key
        assert mode in MODES, key
        assert index is None or (isinstance(index, int) and index >= 0), key
        assert cid.split("/", 1)[0] in ("heifip-tests", "debian"), key
        assert isinstance(reason, str) and len(reason) > 10, key


def test_known_divergences_refer_to_existing_files():
    checked = 0
    for corpus in parity.corpora():
        if corpus.why_missing:
            continue
        ids = {parity.case_id(corpus, p) for p in corpus.files}
        for key in KNOWN_DIVERGENCES:
            if key[0].split("/", 1)[0] == corpus.name:
                assert key[0] in ids, "known_divergences.py: %r is not in the corpus" % (key,)
                checked += 1
    if not KNOWN_DIVERGENCES:
        return
    if checked == 0:
        pytest.skip("none of the corpora named in known_divergences.py is available")


@pytest.mark.parametrize("cid, path", _cases())
def test_capture(cid, path, oracle_dumps, parity_stats):
    _check_file(cid, path, parity_stats)
