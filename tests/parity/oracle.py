#!/usr/bin/env python3
"""The reference implementation (heifip 1.1.1 + scapy 2.5.0) as a test oracle.  Runs under any
python3 (standard library only), as a script or imported by the tests.

    python3 tests/parity/oracle.py --ensure-venv            # create the oracle venv (once)
    python3 tests/parity/oracle.py --python                 # print its interpreter path
    python3 tests/parity/oracle.py dump FILE_OR_DIR...      # fill the dump cache (2 workers)

The oracle venv lives OUTSIDE the repository, at ${HEIFIP_ORACLE_VENV:-~/.cache/heifip/oracle-venv}:
1.1.1 has the same import name as our package, and it needs NumPy 1.x while we build against 2.x.
heifip 1.1.1 on PyPI declares no dependencies, so they are pinned here (reference-semantics.md,
note at the top: the reference behaviour is heifip 1.1.1 + scapy 2.5.0).

Dumps (oracle_dump.py, run inside that venv) are cached per (capture, variant) under
${HEIFIP_ORACLE_CACHE:-~/.cache/heifip/oracle/v1}/<variant>/<sha256[:2]>/<sha256>-<version>.pkl.gz,
keyed by the sha256 of the capture's content and a version of the dump code (DUMP_VERSION plus a
hash of oracle_dump.py and argsets.py), so reruns are instant and an edit re-dumps.

Library use (tests/parity/test_parity.py, the CLI tests):
    import oracle
    py = oracle.oracle_python()           # ensures the venv; raises OracleUnavailable with a reason
    oracle.dump(paths)                    # -> {path: {variant: cache file}}
    oracle.load(path, "zero")             # -> the dict described in oracle_dump.py
"""

import argparse
import contextlib
import gzip
import hashlib
import json
import os
import pickle
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
DUMP_SCRIPT = os.path.join(HERE, "oracle_dump.py")
ARGSETS = os.path.join(HERE, "argsets.py")

# Pinned to the environment reference-semantics.md was verified with (Debian bookworm).  The pin of
# cryptography is required, not cosmetic: scapy 2.5.0's TLS layer imports
# cryptography.hazmat.backends.openssl.ec, which cryptography 42 removed, so with a current
# cryptography `import heifip.layers` fails outright.
REQUIREMENTS = ["heifip==1.1.1", "scapy==2.5.0", "numpy==1.24.2", "pillow==9.4.0", "click==8.1.3",
                "tqdm==4.64.1", "cryptography==38.0.4"]
VARIANTS = ("zero", "random")
WORKERS = 2


class OracleUnavailable(RuntimeError):
    """The reference could not be set up (no PyPI access, no venv module, ...); says why."""


def venv_dir():
    return os.environ.get("HEIFIP_ORACLE_VENV") or os.path.join(
        os.path.expanduser("~"), ".cache", "heifip", "oracle-venv")


def cache_dir():
    return os.environ.get("HEIFIP_ORACLE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "heifip", "oracle", "v1")


def _venv_python(vdir):
    return os.path.join(vdir, "Scripts" if os.name == "nt" else "bin",
                        "python.exe" if os.name == "nt" else "python")


def _stamp_text():
    return "\n".join(REQUIREMENTS) + "\n"


_PROBE = ("import sys, importlib.metadata as m, scapy, heifip.extractor, numpy; "
          "print(m.version('heifip'), scapy.__version__, numpy.__version__)")


def _probe(python):
    """(ok, detail): the venv imports heifip 1.1.1 with scapy 2.5.0 and NumPy < 2."""
    try:
        r = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, timeout=300,
                           env=_clean_env(), cwd=tempfile.gettempdir())
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    if r.returncode != 0:
        return False, (r.stderr or r.stdout).strip()[-800:]
    parts = r.stdout.split()
    if len(parts) != 3 or parts[0] != "1.1.1" or parts[1] != "2.5.0" or not parts[2].startswith("1."):
        return False, "unexpected versions (heifip, scapy, numpy): %r" % r.stdout.strip()
    return True, r.stdout.strip()


def _clean_env():
    env = dict(os.environ)
    # Our package must never leak into the oracle (same import name).
    for k in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONUSERBASE"):
        env.pop(k, None)
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONWARNINGS"] = "ignore"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@contextlib.contextmanager
def _lock(path):
    """Inter-process lock so that parallel test sessions do not build the same venv twice."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fh = open(path, "a+")
    try:
        try:
            import fcntl
            fcntl.flock(fh, fcntl.LOCK_EX)
        except ImportError:  # not POSIX: best effort
            pass
        yield
    finally:
        fh.close()


def _base_python():
    # A venv made from inside another venv would still be based on the base interpreter, but be
    # explicit: prefer the interpreter this venv was created from.
    return getattr(sys, "_base_executable", None) or sys.executable


_ensured = {}


def ensure_venv(verbose=False):
    """Create the oracle venv if needed; return its python.  Raises OracleUnavailable."""
    try:
        return _ensure_venv(verbose)
    except OSError as exc:  # unwritable cache, no python3 -m venv, ...
        raise OracleUnavailable("cannot set up the oracle venv %s: %s" % (venv_dir(), exc))


def _ensure_venv(verbose):
    vdir = venv_dir()
    if vdir in _ensured:
        return _ensured[vdir]
    python = _venv_python(vdir)
    stamp = os.path.join(vdir, ".heifip-oracle-stamp")

    def log(msg):
        if verbose:
            print("oracle: " + msg, file=sys.stderr, flush=True)

    with _lock(vdir.rstrip(os.sep) + ".lock"):
        if os.path.exists(python):
            ok, detail = _probe(python)
            # A venv we made carries a stamp of its pins: changed pins reinstall.  A working venv
            # without a stamp was made by someone else (HEIFIP_ORACLE_VENV): use it as it is.
            old_pins = None
            if os.path.exists(stamp):
                with open(stamp) as fh:
                    old_pins = fh.read()
            if ok and old_pins in (None, _stamp_text()):
                log("using %s (heifip, scapy, numpy = %s)" % (vdir, detail))
                _ensured[vdir] = python
                return python
            log("existing venv %s is not usable (%s); installing into it"
                % (vdir, detail if not ok else "pins changed"))
        else:
            log("creating %s" % vdir)
            r = subprocess.run([_base_python(), "-m", "venv", vdir], capture_output=True,
                               text=True, env=_clean_env())
            if r.returncode != 0 or not os.path.exists(python):
                raise OracleUnavailable("cannot create the oracle venv %s: %s"
                                        % (vdir, (r.stderr or r.stdout).strip()[-800:]))
        log("pip install " + " ".join(REQUIREMENTS))
        r = subprocess.run([python, "-m", "pip", "install", "-q"] + REQUIREMENTS,
                           capture_output=True, text=True, env=_clean_env())
        if r.returncode != 0:
            raise OracleUnavailable("pip install of the reference into %s failed: %s"
                                    % (vdir, (r.stderr or r.stdout).strip()[-1500:]))
        ok, detail = _probe(python)
        if not ok:
            raise OracleUnavailable("the oracle venv %s does not work: %s" % (vdir, detail))
        with open(stamp, "w") as fh:
            fh.write(_stamp_text())
        log("ready: heifip, scapy, numpy = %s" % detail)
        _ensured[vdir] = python
        return python


def oracle_python(verbose=False):
    """Path of the oracle venv's python (heifip 1.1.1 + scapy 2.5.0); its `fip` is beside it."""
    return ensure_venv(verbose=verbose)


def oracle_fip(verbose=False):
    """Path of heifip 1.1.1's own `fip` console script."""
    return os.path.join(os.path.dirname(oracle_python(verbose=verbose)), "fip")


def dump_version():
    h = hashlib.sha256()
    for p in (DUMP_SCRIPT, ARGSETS):
        with open(p, "rb") as fh:
            h.update(fh.read())
    with open(DUMP_SCRIPT) as fh:
        m = re.search(r'^DUMP_VERSION = "([^"]+)"', fh.read(), re.M)
    return "d%s-%s" % (m.group(1) if m else "0", h.hexdigest()[:12])


_sha_cache = {}


def file_sha256(path):
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if key not in _sha_cache:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _sha_cache[key] = h.hexdigest()
    return _sha_cache[key]


def cache_path(path, variant, version=None):
    sha = file_sha256(path)
    return os.path.join(cache_dir(), variant, sha[:2],
                        "%s-%s.pkl.gz" % (sha, version or dump_version()))


def _run_worker(python, variant, jobs, verbose):
    fd, jobfile = tempfile.mkstemp(prefix="heifip-oracle-jobs-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(jobs, fh)
    try:
        r = subprocess.run([python, DUMP_SCRIPT, "--variant", variant, jobfile],
                           capture_output=True, text=True, env=_clean_env(),
                           cwd=tempfile.gettempdir())
    finally:
        os.unlink(jobfile)
    if verbose:
        print("oracle: worker %s (%d files) exited %d" % (variant, len(jobs), r.returncode),
              file=sys.stderr, flush=True)
    return r.returncode, r.stderr[-3000:]


def dump(paths, variants=VARIANTS, workers=WORKERS, verbose=False):
    """Make sure every (path, variant) is in the cache; return {path: {variant: cache file}}.

    Missing entries are dumped by `workers` oracle processes (each handles one variant, since the
    zero patch must precede the import of heifip).  Raises OracleUnavailable if the venv cannot be
    set up, RuntimeError if a worker died without writing its outputs.
    """
    python = ensure_venv(verbose=verbose)
    version = dump_version()
    result, todo = {}, {v: [] for v in variants}
    for p in paths:
        result[p] = {}
        for v in variants:
            c = cache_path(p, v, version)
            result[p][v] = c
            if not os.path.exists(c):
                todo[v].append([os.path.abspath(p), c])
    chunks = []
    for v in variants:
        jobs = todo[v]
        if not jobs:
            continue
        # Deal the files largest first, round robin, so that the workers finish together.
        jobs.sort(key=lambda j: -os.path.getsize(j[0]))
        n = max(1, min(workers, len(jobs)))
        for i in range(n):
            chunks.append((v, jobs[i::n]))
    if chunks:
        t0 = time.time()
        if verbose:
            print("oracle: dumping %s into %s"
                  % (", ".join("%d %s" % (len(todo[v]), v) for v in variants if todo[v]),
                     cache_dir()), file=sys.stderr, flush=True)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            outcomes = list(pool.map(lambda c: _run_worker(python, c[0], c[1], verbose), chunks))
        missing = [j[1] for _, jobs in chunks for j in jobs if not os.path.exists(j[1])]
        if missing:
            errs = "\n".join(e for rc, e in outcomes if rc not in (0, 3))
            raise RuntimeError("oracle dump wrote %d of %d outputs; first missing %s\n%s"
                               % (sum(len(j) for _, j in chunks) - len(missing),
                                  sum(len(j) for _, j in chunks), missing[0], errs))
        if verbose:
            print("oracle: dump took %.1f s" % (time.time() - t0), file=sys.stderr, flush=True)
    return result


def load(path, variant):
    """The cached oracle dump of one capture (dict, see oracle_dump.py); dumps it if missing."""
    c = cache_path(path, variant)
    if not os.path.exists(c):
        dump([path], variants=(variant,))
    with gzip.open(c, "rb") as fh:
        return pickle.load(fh)


def array_from_record(rec):
    """(dtype, shape, bytes) of a dump -> NumPy array (imports NumPy lazily)."""
    import numpy as np

    dtype, shape, data = rec
    return np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape)


def _expand(args):
    out = []
    for a in args:
        if os.path.isdir(a):
            for root, _dirs, files in os.walk(a):
                out.extend(os.path.join(root, f) for f in sorted(files))
        else:
            out.append(a)
    return sorted(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ensure-venv", action="store_true", help="create the oracle venv if needed")
    ap.add_argument("--python", action="store_true", help="print the oracle python path")
    ap.add_argument("command", nargs="?", choices=("dump",))
    ap.add_argument("paths", nargs="*", help="capture files or directories (recursive)")
    ap.add_argument("--variant", action="append", choices=VARIANTS)
    ap.add_argument("--workers", type=int, default=WORKERS)
    opts = ap.parse_args(argv)
    try:
        if opts.ensure_venv or opts.python or opts.command:
            py = ensure_venv(verbose=True)
            if opts.python:
                print(py)
        if opts.command == "dump":
            files = _expand(opts.paths)
            res = dump(files, variants=tuple(opts.variant or VARIANTS), workers=opts.workers,
                       verbose=True)
            print("oracle: %d files x %d variants cached in %s"
                  % (len(res), len(opts.variant or VARIANTS), cache_dir()))
        elif not (opts.ensure_venv or opts.python):
            ap.print_help()
            return 2
    except OracleUnavailable as exc:
        print("oracle unavailable: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
