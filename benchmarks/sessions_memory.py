#!/usr/bin/env python3
"""Peak memory and speed of session extraction on a capture of millions of packets.

    .venv/bin/python benchmarks/sessions_memory.py            # 600 copies of tls2.pcap: 4.5 M packets
    .venv/bin/python benchmarks/sessions_memory.py --quick    # 100 copies, under a minute
    options: --copies N, --scenario shifted|overlap|both, --source PCAP, --clean (delete the inputs after)

Input (built once into .cache/bench/sessions/, gitignored, reused while its recipe is unchanged):
N copies of a real capture (default ../shared/pcaps/flows/tls2.pcap: 7,451 packets, 334
sessions), copy i rewritten with `tcprewrite --seed=i` so that each copy has addresses of its own
and its sessions stay distinct, then

  shifted  copy i moved by i * --spacing seconds (`editcap -t`, default 150 s > the capture's 146 s)
           and concatenated (`mergecap -a`): a long capture in which sessions come and go, as on
           a real link -- the flow table only ever holds the sessions of the last few copies
           (idle timeout 300 s);
  overlap  the copies unshifted, merged chronologically (`mergecap`): all N * 334 sessions are
           open at once, so the flow table reaches its max_memory bound (256 MiB) and evicts.

For each scenario three files are measured -- the first 1/10 and 1/2 of the copies, and all of
them -- each in a fresh subprocess running

    for image, meta in heifip.extract(big, image="flow-tiled-fixed", dim=16, cols=8): ...

The parent takes the child's peak RSS from os.wait4 (ru_maxrss) and the child reports its own RSS
after importing heifip and NumPy (the baseline) and the time of the loop.  The claim checked: peak
RSS does not grow with the file size (shifted: flat; overlap: capped by max_memory).
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, ".cache", "bench", "sessions")
DEFAULT_SOURCE = os.path.join(ROOT, "..", "shared", "pcaps", "flows", "tls2.pcap")
FRACTIONS = ((1, 10), (1, 2), (1, 1))

CHILD = r"""
import json, resource, sys, time
import heifip, numpy
path = sys.argv[1]
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
sessions = packets = kept = 0
ends = {}
for image, meta in heifip.extract(path, image="flow-tiled-fixed", dim=16, cols=8):
    sessions += 1
    packets += meta.packets
    kept += meta.kept_packets
    ends[meta.end] = ends.get(meta.end, 0) + 1
seconds = time.perf_counter() - t0
print(json.dumps(dict(sessions=sessions, packets=packets, kept=kept, seconds=seconds,
                      baseline_kib=baseline, ends=ends)))
"""


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), r.stderr[-2000:]))
    return r.stdout


def need(tool):
    if shutil.which(tool) is None:
        sys.exit("%s is not installed (apt-get install tcpreplay wireshark-common tshark)" % tool)


def source_packets(path):
    out = run(["capinfos", "-c", "-M", path])
    return int(out.strip().splitlines()[-1].split(":")[-1].strip())


def build(source, copies, spacing, scenarios, log):
    """Build (or reuse) the measured files; return {scenario: [(fraction label, path)]}."""
    for tool in ("tcprewrite", "editcap", "mergecap", "capinfos"):
        need(tool)
    with open(source, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()[:12]
    recipe = "%s-n%d-s%g" % (digest, copies, spacing)
    folder = os.path.join(CACHE, recipe)
    os.makedirs(folder, exist_ok=True)
    counts = sorted({max(1, copies * a // b) for a, b in FRACTIONS})
    wanted = {s: [(c, os.path.join(folder, "%s-%d.pcap" % (s, c))) for c in counts]
              for s in scenarios}
    if all(os.path.exists(p) for files in wanted.values() for _, p in files):
        return wanted
    t0 = time.time()
    work = tempfile.mkdtemp(prefix="copies-", dir=folder)
    try:
        rewritten, shifted = [], []
        for i in range(copies):
            a = os.path.join(work, "r%05d.pcap" % i)
            run(["tcprewrite", "--seed=%d" % (i + 1), "--infile=" + source, "--outfile=" + a])
            rewritten.append(a)
            if "shifted" in scenarios:
                b = os.path.join(work, "s%05d.pcap" % i)
                run(["editcap", "-F", "pcap", "-t", "%g" % (i * spacing), a, b])
                shifted.append(b)
            if (i + 1) % 50 == 0:
                log("  %d/%d copies rewritten (%.0f s)" % (i + 1, copies, time.time() - t0))
        for scenario, files in wanted.items():
            for count, path in files:
                if os.path.exists(path):
                    continue
                tmp = path + ".tmp"
                if scenario == "shifted":
                    run(["mergecap", "-F", "pcap", "-a", "-w", tmp] + shifted[:count])
                else:
                    run(["mergecap", "-F", "pcap", "-w", tmp] + rewritten[:count])
                os.replace(tmp, path)
                log("  built %s (%.0f MB, %.0f s)"
                    % (os.path.relpath(path, ROOT), os.path.getsize(path) / 1e6, time.time() - t0))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return wanted


def measure(path):
    """Run the extraction loop in a fresh interpreter; its result plus peak RSS (KiB)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, path], stdout=out, stderr=err,
                                text=True, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)   # reap it ourselves to get its rusage
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        out, err = out.read(), err.read()
    if proc.returncode != 0:
        sys.exit("child failed on %s:\n%s" % (path, err[-3000:]))
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_kib"] = usage.ru_maxrss
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100 copies (under a minute)")
    ap.add_argument("--copies", type=int, help="copies of the source (default 600; quick 100)")
    ap.add_argument("--spacing", type=float, default=150.0,
                    help="seconds between shifted copies (default 150)")
    ap.add_argument("--scenario", choices=("shifted", "overlap", "both"), default="both")
    ap.add_argument("--source", default=DEFAULT_SOURCE)
    ap.add_argument("--clean", action="store_true", help="delete the built inputs afterwards")
    ap.add_argument("--json", help="also write the results to this file")
    opts = ap.parse_args(argv)
    copies = opts.copies or (100 if opts.quick else 600)
    scenarios = ("shifted", "overlap") if opts.scenario == "both" else (opts.scenario,)
    source = os.path.abspath(opts.source)
    if not os.path.exists(source):
        sys.exit("source capture %s not found" % source)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    per_copy = source_packets(source)
    log("source %s: %d packets; %d copies -> %d packets" % (source, per_copy, copies,
                                                          per_copy * copies))
    files = build(source, copies, opts.spacing, scenarios, log)
    rows = []
    for scenario in scenarios:
        for count, path in files[scenario]:
            r = measure(path)
            r.update(scenario=scenario, copies=count, file_mb=os.path.getsize(path) / 1e6)
            rows.append(r)
            log("  measured %s x%d" % (scenario, count))

    print("flow-tiled-fixed dim=16 cols=8, defaults (idle 300 s, active 1800 s, max_memory 256 MiB)")
    print("python %s, heifip from %s" % (sys.version.split()[0], ROOT))
    header = ("scenario", "copies", "file MB", "packets", "sessions", "seconds", "packets/s",
              "baseline MiB", "peak RSS MiB", "ends")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        ends = ", ".join("%s %d" % kv for kv in sorted(r["ends"].items()))
        print("| %s | %d | %.0f | %d | %d | %.2f | %.0f | %.1f | %.1f | %s |"
              % (r["scenario"], r["copies"], r["file_mb"], r["packets"], r["sessions"],
                 r["seconds"], r["packets"] / r["seconds"], r["baseline_kib"] / 1024,
                 r["peak_kib"] / 1024, ends))
    if opts.json:
        with open(opts.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    if opts.clean:
        shutil.rmtree(CACHE, ignore_errors=True)

    # The claim: memory does not grow with the file.  shifted: the whole file within 32 MiB of
    # the 1/10 file.  overlap: below the table bound (256 MiB) plus the baseline and 64 MiB of
    # allocator slack.
    failed = False
    for scenario in scenarios:
        mine = [r for r in rows if r["scenario"] == scenario]
        first, last = mine[0], mine[-1]
        if scenario == "shifted":
            ok = last["peak_kib"] - first["peak_kib"] <= 32 * 1024
        else:
            ok = last["peak_kib"] <= first["baseline_kib"] + (256 + 64) * 1024
        verdict = (("does not grow with the file size" if ok else "GROWS with the file size")
                   if scenario == "shifted" else
                   ("stays under the max_memory bound" if ok else "EXCEEDS the max_memory bound"))
        print("%s: peak RSS %s (%.1f MiB -> %.1f MiB)"
              % (scenario, verdict, first["peak_kib"] / 1024, last["peak_kib"] / 1024))
        failed |= not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
