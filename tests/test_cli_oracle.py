"""`fip` against heifip 1.1.1's own `fip`, on real captures from ../shared/pcaps/heifip-tests.

For the commands that work in 1.1.1 (packet, flow, flow-tiled-fixed) both CLIs run on the same small
folder tree; 1.1.1 is made deterministic by replacing scapy's random MAC/IP generators with zero
addresses (reference-semantics.md §8.1), ours runs with --anonymize zero.  Decoded PNG pixels must be
equal.  1.1.1's packet command keeps only the last image of a file (P28); ours keeps every image, so
the last of ours is compared with 1.1.1's only one.  Skipped cleanly without ../shared or without a
working oracle venv (tests/parity/oracle.py).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "pcaps" / "heifip-tests"

# Small *.pcap files (1.1.1 only walks that name) of protocols on which heifip 1.1.1 and its scapy
# dissection are reproduced exactly, and on which 1.1.1's HEADER mode does not raise (a raise hangs
# its CLI, P31).  Copied into sub-folders to check the mirrored tree.
FILES = {
    "dns-caa.pcap": "dns/dns-caa.pcap",
    "dns-spf.pcap": "dns/dns-spf.pcap",
    "dns53.pcap": "dns/deep/dns53.pcap",
    "dns-svcb.pcap": "dns/dns-svcb.pcap",
    "arp-who-has.pcap": "arp-who-has.pcap",
    "udp-multiple-source-ports.pcap": "udp-multiple-source-ports.pcap",
    "http/no-uri.pcap": "http/no-uri.pcap",
    "http/x-gzip.pcap": "http/x-gzip.pcap",
    "irc-353.pcap": "irc-353.pcap",
    "socks-auth.pcap": "socks-auth.pcap",
}

DETERMINISTIC_FIP = (
    "import sys, scapy.volatile as V; "
    "V.RandMAC._fix = lambda s: '00:00:00:00:00:00'; V.RandIP._fix = lambda s: '0.0.0.0'; "
    "V.RandIP6._fix = lambda s: '::'; "
    "from heifip.cli import cli; sys.argv[0] = 'fip'; cli()")


@pytest.fixture(scope="module")
def oracle_python():
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is not available")
    from oracle_support import oracle_python_or_skip
    return oracle_python_or_skip()


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is not available")
    root = tmp_path_factory.mktemp("corpus")
    for source, rel in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / source, root / rel)
    return root


def run_oracle(python, args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONWARNINGS"] = "ignore"
    try:
        return subprocess.run([python, "-c", DETERMINISTIC_FIP, *map(str, args)], env=env,
                              capture_output=True, text=True, timeout=120, cwd="/",
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"heifip 1.1.1 hung on {args} (a worker raised, P31): choose other captures")


def run_ours(args):
    return subprocess.run([sys.executable, "-m", "heifip", *map(str, args), "--anonymize", "zero"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def pngs(root):
    root = Path(root)
    found = {}
    for path in root.rglob("*.png"):
        with Image.open(path) as image:
            assert image.mode == "L", path
            found[str(path.relative_to(root))] = np.asarray(image).copy()
    return found


CASES = [
    ("flow-tiled-fixed", ["-t", "32", "--min-packets", "3", "--dim", "16", "--cols", "8"]),
    ("flow-tiled-fixed", ["--preprocess", "HEADER", "--fill", "255", "--max-packets", "5"]),
    ("flow", ["--preprocess", "header"]),
    ("flow", ["--append", "--fill", "7", "--max-im-dim", "40"]),
    ("packet", ["--preprocess", "HEADER", "--dim", "16"]),
    ("packet", ["--auto-dim", "-t", "1"]),
]


@pytest.mark.parametrize("command, options", CASES, ids=[f"{c}:{' '.join(o)}" for c, o in CASES])
def test_same_images_as_heifip_1_1_1(oracle_python, tree, tmp_path, command, options):
    theirs_dir, ours_dir = tmp_path / "theirs", tmp_path / "ours"
    theirs = run_oracle(oracle_python, ["extract", command, "-r", tree, "-w", theirs_dir, *options])
    assert theirs.returncode == 0, theirs.stderr[-2000:]
    ours = run_ours(["extract", command, "-r", tree, "-w", ours_dir, *options])
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout == ("Starting FlowImageProcessor CLI\n"
                                            "Extract FlowImageProcessor CLI\n")
    expected = pngs(theirs_dir)
    got = pngs(ours_dir)
    assert expected, "1.1.1 must produce images for this case"
    if command == "packet":
        # ours: <rel>_<index>_processed.png for every image; 1.1.1: the last one as <rel>_processed.png
        per_file = {}
        for name in got:
            rel, index = name[:-len("_processed.png")].rsplit("_", 1)
            per_file.setdefault(rel, []).append(int(index))
        for rel, indices in per_file.items():
            assert sorted(indices) == list(range(len(indices))), rel
        got = {f"{rel}_processed.png": got[f"{rel}_{max(i):05d}_processed.png"]
               for rel, i in per_file.items()}
    assert sorted(got) == sorted(expected)
    for name, pixels in expected.items():
        assert got[name].shape == pixels.shape, name
        assert np.array_equal(got[name], pixels), name
