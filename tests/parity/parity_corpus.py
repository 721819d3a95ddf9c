"""The capture corpora of the parity tests and the counters of the closing summary (shared by
conftest.py and test_parity.py; a module of its own so that nothing imports a conftest by name)."""

import collections
import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
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
