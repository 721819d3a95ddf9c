"""Parity harness plumbing: the corpus, the oracle cache (session fixture) and the closing summary.

Environment:
  HEIFIP_ORACLE_VENV / HEIFIP_ORACLE_CACHE   see oracle.py
  HEIFIP_REQUIRE_ORACLE=1   fail (instead of skip) when the oracle cannot be set up -- for CI
  HEIFIP_NO_FETCH=1         do not run tests/data/fetch_debian_pcaps.sh
"""

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # oracle.py, argsets.py, known_divergences.py

import oracle  # noqa: E402

REPO = HERE.parents[1]
SHARED_TESTS = REPO.parent / "shared" / "pcaps" / "heifip-tests"
DEBIAN = REPO / ".cache" / "debian-pcaps"
FETCH = REPO / "tests" / "data" / "fetch_debian_pcaps.sh"
SUMMARY_JSON = REPO / ".cache" / "parity-summary.json"

# Filled by test_parity.py through the `parity_stats` fixture, printed at the end of the session.
STATS = collections.Counter()
NOTES = collections.defaultdict(list)


class Corpus:
    """One folder of captures: id prefix, root, files (or why it is unavailable)."""

    def __init__(self, name, root, files, why_missing=None):
        self.name, self.root, self.files, self.why_missing = name, root, files, why_missing


def _walk(root):
    out = []
    for dirpath, _dirs, files in os.walk(root):
        out.extend(Path(dirpath) / f for f in files if not f.startswith("."))
    return sorted(out)


_corpora = None


def corpora():
    global _corpora
    if _corpora is not None:
        return _corpora
    result = []
    if SHARED_TESTS.is_dir():
        result.append(Corpus("heifip-tests", SHARED_TESTS, _walk(SHARED_TESTS)))
    else:
        result.append(Corpus("heifip-tests", SHARED_TESTS, [],
                             "%s not found (no ../shared next to the repository)" % SHARED_TESTS))
    why = None
    if not (DEBIAN / ".complete").exists():
        if os.environ.get("HEIFIP_NO_FETCH"):
            why = "HEIFIP_NO_FETCH is set and %s was never fetched" % DEBIAN
        else:
            try:
                r = subprocess.run(["sh", str(FETCH)], capture_output=True, text=True, timeout=600)
                if r.returncode != 0:
                    why = "tests/data/fetch_debian_pcaps.sh failed: %s" % (
                        (r.stderr or r.stdout).strip()[-500:])
            except (OSError, subprocess.SubprocessError) as exc:
                why = "tests/data/fetch_debian_pcaps.sh could not run: %s" % exc
    files = _walk(DEBIAN) if (DEBIAN / ".complete").exists() else []
    if not files and why is None:
        why = "no captures in %s" % DEBIAN
    result.append(Corpus("debian", DEBIAN, files, why))
    _corpora = result
    return result


def case_id(corpus, path):
    return "%s/%s" % (corpus.name, path.relative_to(corpus.root).as_posix())


@pytest.fixture(scope="session")
def oracle_dumps():
    """{path: {variant: cache file}} for every capture of every available corpus."""
    paths = [str(p) for c in corpora() for p in c.files]
    if not paths:
        pytest.skip("no capture corpus available: "
                    + "; ".join(c.why_missing or "" for c in corpora()))
    try:
        return oracle.dump(paths, verbose=True)
    except oracle.OracleUnavailable as exc:
        NOTES["skipped"].append("oracle unavailable: %s" % exc)
        if os.environ.get("HEIFIP_REQUIRE_ORACLE"):
            pytest.fail("oracle unavailable (HEIFIP_REQUIRE_ORACLE is set): %s" % exc)
        pytest.skip("oracle unavailable: %s" % exc)


@pytest.fixture(scope="session")
def parity_stats():
    return STATS, NOTES


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not STATS and not NOTES:
        return
    tr = terminalreporter
    tr.section("parity with heifip 1.1.1 (variant zero: constant addresses)")
    modes = ("NONE", "HEADER")
    rows = [
        ("files compared", "files"),
        ("files 1.1.1 rejects (not a capture; ours: CaptureFormatError)", "files_format_error"),
        ("files 1.1.1 crashes on (ours produce output, P17/P18)", "files_oracle_raises"),
        ("packets compared", "packets"),
        ("  identical", "packets_identical"),
        ("  known divergent", "packets_known"),
        ("  divergent (unexplained)", "packets_diverging"),
        ("images compared", "images"),
        ("  identical", "images_identical"),
        ("  known divergent", "images_known"),
        ("  divergent (unexplained)", "images_diverging"),
        ("argument sets where both raise", "argsets_both_raise"),
        ("random: packets compared outside addresses", "random_packets"),
        ("  identical outside addresses", "random_identical"),
        ("  known divergent", "random_known"),
        ("  divergent (unexplained)", "random_diverging"),
    ]
    tr.write_line("%-64s %9s %9s" % ("", *modes))
    summary = {}
    for label, key in rows:
        vals = [STATS[(m, key)] for m in modes]
        summary[key] = dict(zip(modes, vals))
        tr.write_line("%-64s %9d %9d" % (label, *vals))
    for corpus in ("heifip-tests", "debian"):
        n = STATS[("corpus", corpus)]
        if n:
            tr.write_line("corpus %s: %d files" % (corpus, n))
    for kind in ("oracle_raises", "known_stale", "skipped"):
        for note in NOTES.get(kind, [])[:40]:
            tr.write_line("%s: %s" % (kind, note))
    try:
        SUMMARY_JSON.parent.mkdir(parents=True, exist_ok=True)
        SUMMARY_JSON.write_text(json.dumps({"stats": summary, "notes": NOTES}, indent=1))
        tr.write_line("(written to %s)" % SUMMARY_JSON.relative_to(REPO))
    except OSError:
        pass
