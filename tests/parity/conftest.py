"""Parity harness plumbing: the corpus, the oracle cache (session fixture) and the closing summary.

Environment:
  HEIFIP_ORACLE_VENV / HEIFIP_ORACLE_CACHE   see oracle.py
  HEIFIP_REQUIRE_ORACLE=1   fail (instead of skip) when the oracle cannot be set up -- for CI
  HEIFIP_NO_FETCH=1         do not run tests/data/fetch_debian_pcaps.sh
"""

import json
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # oracle.py, argsets.py, known_divergences.py

import oracle  # noqa: E402

from parity_corpus import (DEBIAN, NOTES, REPO, SHARED_TESTS, STATS, SUMMARY_JSON,  # noqa: E402,F401
                           corpora)


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
