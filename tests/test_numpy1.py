"""The extension is built against NumPy 2 headers with NPY_TARGET_VERSION = 1.22 (setup.py), so
the same build must import and give the same arrays under NumPy 1.x.  The oracle venv (heifip
1.1.1's, tests/parity/oracle.py) has NumPy 1.24: run our package there from this checkout."""
import os
import subprocess

import numpy as np

from oracle_support import oracle, oracle_python_or_skip  # noqa: E402
from pcapgen import ether, ipv4, tcp, udp, write_pcap  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = """
import sys, numpy
sys.path.insert(0, sys.argv[1])
import heifip
assert heifip.__file__.startswith(sys.argv[1]), heifip.__file__
from heifip.extractor import FIPExtractor
from heifip.images.flow_tiled_fixed import FlowImageTiledFixed
from heifip.images.markovchain import MarkovTransitionMatrixFlow
ex = FIPExtractor(seed=5)
a = ex.create_image_from_file(sys.argv[2], "NONE", FlowImageTiledFixed, 0, 0, 0, 0, False, 8, 0, 2)[0]
m = ex.create_image_from_file(sys.argv[2], "HEADER", MarkovTransitionMatrixFlow)[0]
print(numpy.__version__)
print(a.dtype, a.shape, a.tobytes().hex())
print(m.dtype, m.shape, m.tobytes().hex())
"""


def test_same_arrays_under_numpy_1(tmp_path):
    python = oracle_python_or_skip()
    path = write_pcap(tmp_path / "x.pcap", [ether(ipv4(tcp(b"abc", dport=80))),
                                            ether(ipv4(udp(b"q", dport=53), proto=17))])
    run = subprocess.run([python, "-c", SCRIPT, REPO, str(path)], capture_output=True, text=True,
                         timeout=120, env=oracle._clean_env())
    assert run.returncode == 0, run.stderr
    version, tiled, markov = run.stdout.split("\n")[:3]
    assert version.startswith("1.")
    from heifip.extractor import FIPExtractor
    from heifip.images.flow_tiled_fixed import FlowImageTiledFixed
    from heifip.images.markovchain import MarkovTransitionMatrixFlow
    ex = FIPExtractor(seed=5)
    a = ex.create_image_from_file(path, "NONE", FlowImageTiledFixed, 0, 0, 0, 0, False, 8, 0, 2)[0]
    m = ex.create_image_from_file(path, "HEADER", MarkovTransitionMatrixFlow)[0]
    assert tiled == f"uint8 (16, 16) {a.tobytes().hex()}"
    assert markov == f"float64 (64, 64) {m.tobytes().hex()}"
    assert np.count_nonzero(a) > 0
