#!/usr/bin/env python3
"""heifip benchmark suite (issue 5): one entry point.

    python benchmarks/run.py [--quick] [--repeats N] [--no-oracle] [--only SUBSTRING]

Runs every measurement in its own subprocess, repeats it (5 times, 3 with --quick) and reports
medians.  Per run it records the figures timed inside the process (the measured section only:
no interpreter start, no imports) and whole-process figures of that very child (wall, user+sys
CPU and peak RSS, from wait4 in benchmarks/measure.c; plus `perf stat` instructions where the
CPU counters work).  Prints one table and writes it, with the targets of issue 5, to benchmarks/results.md.

Inputs come from benchmarks/make_inputs.sh (built on demand into .cache/bench/).  The C baselines
(bare_loop.c, deflate_baseline.c) and measure.c are compiled here with gcc -O2.  Our package runs in the
repository's .venv (make build); heifip 1.1.1 in the oracle venv of tests/parity/oracle.py.

This file is also the child program (`run.py --child JSON`): the parent imports nothing but the
standard library, so it runs under any python3 and under the oracle's interpreter.
"""
import argparse
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH = os.path.join(ROOT, ".cache", "bench")
BIN = os.path.join(BENCH, "bin")

# 1.1.1 image classes, their module, and the image arguments used for every row (positional, as
# 1.1.1's create_image_from_file takes them after its 8 positional arguments).
IMAGE_TYPES = {
    "packet": ("heifip.images.packet", "PacketImage", [16, 0, False]),
    "flow": ("heifip.images.flow", "FlowImage", [16, 0, False]),
    "flow-tiled-fixed": ("heifip.images.flow_tiled_fixed", "FlowImageTiledFixed", [16, 0, 8]),
    "flow-tiled-auto": ("heifip.images.flow_tiled_auto", "FlowImageTiledAuto", [16, 0, False]),
    "markov-flow": ("heifip.images.markovchain", "MarkovTransitionMatrixFlow", [4]),
    "markov-packet": ("heifip.images.markovchain", "MarkovTransitionMatrixPacket", []),
}


# ------------------------------------------------------------------------------------------------
# Child side (runs in a fresh interpreter per measurement)
# ------------------------------------------------------------------------------------------------

def _read_list(spec):
    """A capture list: a path to a .pcap, or a .list file of paths (optionally sliced)."""
    path, _, step = spec.partition("::")
    if path.endswith(".list"):
        with open(path) as fh:
            files = [line.strip() for line in fh if line.strip()]
        if step:
            start, count = (int(x) for x in step.split(":"))
            files = files[start::max(1, len(files) // count)][:count] if count else files
        return files
    return [path]


def _png_dir():
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return tempfile.mkdtemp(prefix="heifip-bench-", dir=base)


def _settle():
    """Wait, untimed, for NumPy's OpenBLAS worker threads to park: they spin for about 0.1 s after
    `import numpy`, and process_time() counts them, so a child timed at once reported ~15 % more
    CPU time than its own work (nothing here uses BLAS).  Every child, ours and 1.1.1's, waits."""
    time.sleep(0.3)


def child_extract(p):
    """read + dissect + preprocess + render (+ PNG) over a file list, passes until min_seconds."""
    t_import = time.perf_counter()
    import importlib
    from heifip.extractor import FIPExtractor
    if p.get("split"):
        import heifip.sessions  # noqa: F401  (heifip.extract loads it lazily: not timed)
    module, cls, image_args = IMAGE_TYPES[p["image"]]
    image_args = p.get("image_args") or image_args
    image_type = getattr(importlib.import_module(module), cls)
    save_png = save_pngs = None
    if p["output"] == "png":
        if p["impl"] == "ours":
            from heifip import save_png
            from heifip.extractor import save_pngs
        else:
            raise SystemExit("1.1.1 PNG rows are not measured (its save_image goes through Pillow)")
    import_s = time.perf_counter() - t_import
    _settle()

    files = _read_list(p["input"])
    if p["impl"] == "ours":
        ex = FIPExtractor(anonymize=p.get("anonymize", "random"), seed=0,
                          packet_limit=p["packet_limit"])
    else:
        ex = FIPExtractor()
    args = (p["preprocess"], image_type, 0, 0, 0, 0, False) + tuple(image_args)
    level, filt = p.get("level"), p.get("filter")
    outdir = _png_dir() if save_png else None
    threads = p.get("threads", 0)
    images = passes = 0
    png_bytes = 0

    batch = p.get("batch", False)
    two_call = p.get("two_call", False)

    split = p.get("split")

    def one(i, f):
        if split:      # issue 4's session assembly: heifip.extract, one image per session
            import heifip
            names = [name for name, _ in image_type._parameters]
            count = 0   # streamed: each image is dropped (or written) as its session ends
            for j, (img, _) in enumerate(heifip.extract(
                    f, image=image_type, split=split, preprocessing=args[0],
                    anonymize=p.get("anonymize", "random"), seed=0,
                    **dict(zip(names, image_args)))):
                if save_png is not None:
                    save_png(img, os.path.join(outdir, "%d_%d.png" % (i, j)), level, filt)
                count += 1
            return count
        elif two_call:   # the old two-call path: every packet read, dissected, preprocessed, kept
            imgs = ex._create_matrix(ex._read_file(f, args[0]), image_type,
                                     ex._bind(image_type, args[7:], {}), *args[2:6])
        else:
            imgs = ex.create_image_from_file(f, *args)
        if save_png is not None:
            for j, img in enumerate(imgs):
                save_png(img, os.path.join(outdir, "%d_%d.png" % (i, j)), level, filt)
        return len(imgs)

    try:
        t0, c0 = time.perf_counter(), time.process_time()
        deadline = t0 + p["min_seconds"]
        if batch:
            while True:
                results = ex.create_images_from_files(files, *args, threads=max(threads, 1))
                if save_pngs is not None:
                    save_pngs([(os.path.join(outdir, "%d_%d.png" % (i, j)), img)
                               for i, imgs in enumerate(results) for j, img in enumerate(imgs)],
                              level, filt, threads=max(threads, 1))
                images += sum(len(r) for r in results)
                passes += 1
                if time.perf_counter() >= deadline:
                    break
        elif threads:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(max_workers=threads) as pool:
                while True:
                    images += sum(pool.map(one, range(len(files)), files))
                    passes += 1
                    if time.perf_counter() >= deadline:
                        break
        else:
            while True:
                for i, f in enumerate(files):
                    images += one(i, f)
                passes += 1
                if time.perf_counter() >= deadline:
                    break
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        if outdir:
            png_bytes = sum(e.stat().st_size for e in os.scandir(outdir))
    finally:
        if outdir:
            shutil.rmtree(outdir, ignore_errors=True)
    return {"seconds": seconds, "cpu_seconds": cpu, "passes": passes, "images": images,
            "files": len(files),
            "import_seconds": import_s, "png_bytes_last_pass": png_bytes}


def child_png(p):
    """heifip._core.encode_png (or save_png to files) on the dumped pixels, passes until min_s."""
    import numpy as np
    from heifip import _core, save_png
    from heifip.extractor import save_pngs
    w, h = p["width"], p["height"]
    raw = np.fromfile(p["raw"], dtype=np.uint8)
    arrays = [a.copy() for a in raw.reshape(-1, h, w)]
    level = _core.PNG_DEFAULT_LEVEL if p["level"] is None else p["level"]
    filt = _core.PNG_DEFAULT_FILTER if p["filter"] is None else p["filter"]
    outdir = _png_dir() if p["mode"] in ("file", "batch") else None
    encode = _core.encode_png
    _settle()
    images = passes = out_bytes = 0
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        deadline = t0 + p["min_seconds"]
        while True:
            if p["mode"] == "batch":
                save_pngs([(os.path.join(outdir, "%d.png" % i), a) for i, a in enumerate(arrays)],
                          level, filt, threads=p.get("threads", 1))
            elif outdir:
                for i, a in enumerate(arrays):
                    save_png(a, os.path.join(outdir, "%d.png" % i), level, filt)
            else:
                out_bytes = 0
                for a in arrays:
                    out_bytes += len(encode(a, level, filt))
            images += len(arrays)
            passes += 1
            if time.perf_counter() >= deadline:
                break
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        if outdir:
            shutil.rmtree(outdir, ignore_errors=True)
    return {"seconds": seconds, "cpu_seconds": cpu, "passes": passes, "images": images,
            "raw_bytes": images * w * h, "compressed_bytes_per_pass": out_bytes}


def child_dump_pixels(p):
    """Write the uint8 pixels of the images our extractor makes into a raw file (for PNG rows)."""
    import importlib
    import numpy as np
    from heifip.extractor import FIPExtractor
    module, cls, image_args = IMAGE_TYPES[p["image"]]
    image_type = getattr(importlib.import_module(module), cls)
    ex = FIPExtractor(anonymize="random", seed=0)
    out, count = [], 0
    for f in _read_list(p["input"]):
        for img in ex.create_image_from_file(f, "NONE", image_type, 0, 0, 0, 0, False, *image_args):
            if img.shape == (p["height"], p["width"]) and img.dtype == np.uint8:
                out.append(np.ascontiguousarray(img))
                count += 1
                if count >= p["max_images"]:
                    break
        if count >= p["max_images"]:
            break
    np.concatenate([a.reshape(-1) for a in out]).tofile(p["raw"])
    return {"images": count}


def child_fip(p):
    """fip itself (heifip.cli.main, in this process) over the folder of the small files, with
    p["args"]; passes until min_seconds, each into a fresh output folder (its removal untimed)."""
    from heifip import cli
    import heifip.extractor  # noqa: F401  (what fip's first run would load: NumPy, the C core)
    folder = os.path.dirname(_read_list(p["input"])[0])
    _settle()
    base = _png_dir()
    images = passes = 0
    seconds = cpu = 0.0
    try:
        while passes == 0 or seconds < p["min_seconds"]:
            out = os.path.join(base, str(passes))
            t0, c0 = time.perf_counter(), time.process_time()
            status = cli.main(["extract", p["command"], "-r", folder, "-w", out, "-q"] + p["args"])
            seconds += time.perf_counter() - t0
            cpu += time.process_time() - c0
            if status != 0:
                raise SystemExit("fip exited with %d" % status)
            images += sum(len(names) for _, _, names in os.walk(out))
            shutil.rmtree(out)
            passes += 1
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return {"seconds": seconds, "cpu_seconds": cpu, "passes": passes, "images": images}


def child_main(spec):
    p = json.loads(spec)
    fn = {"extract": child_extract, "png": child_png, "dump_pixels": child_dump_pixels,
          "fip": child_fip}[p["kind"]]
    result = fn(p)
    sys.stdout.write("BENCH-RESULT " + json.dumps(result) + "\n")


# ------------------------------------------------------------------------------------------------
# Parent side
# ------------------------------------------------------------------------------------------------

class Runner:
    """Runs one child under bin/measure (measure.c) for its whole-process figures."""

    def __init__(self, perf_ok):
        self.perf_ok = perf_ok

    def run(self, cmd, env=None, cwd=None, stdin_data=None):
        """Run cmd; return (stdout text, whole-process figures of exactly this child)."""
        fd, fig_out = tempfile.mkstemp(prefix="heifip-measure-", suffix=".json")
        os.close(fd)
        perf_out = None
        if self.perf_ok:
            fd, perf_out = tempfile.mkstemp(prefix="heifip-perf-", suffix=".csv")
            os.close(fd)
            cmd = ["perf", "stat", "-x,", "-e", "instructions", "-o", perf_out, "--"] + cmd
        cmd = [os.path.join(BIN, "measure"), fig_out] + cmd
        try:
            proc = subprocess.run(cmd, capture_output=True, env=env, cwd=cwd, text=True,
                                  input=stdin_data)
            if proc.returncode != 0:
                raise RuntimeError("command failed (%d): %s\n%s" % (
                    proc.returncode, " ".join(cmd), proc.stderr[-3000:]))
            with open(fig_out) as fh:
                m = json.load(fh)
        finally:
            os.unlink(fig_out)
        fig = {"wall": m["wall"], "cpu": m["user"] + m["sys"], "rss_mib": m["maxrss_kib"] / 1024.0}
        if perf_out:
            fig["instructions"] = _parse_perf(perf_out)
            os.unlink(perf_out)
        return proc.stdout, fig


def _parse_perf(path):
    with open(path) as fh:
        for line in fh:
            parts = line.strip().split(",")
            if len(parts) > 2 and parts[2].startswith("instructions"):
                try:
                    return float(parts[0])
                except ValueError:
                    return None
    return None


def perf_works():
    if shutil.which("perf") is None:
        return False, "perf not installed"
    r = subprocess.run(["perf", "stat", "-x,", "-e", "instructions", "--", "true"],
                       capture_output=True, text=True)
    if r.returncode != 0 or "not supported" in r.stderr or "<not counted>" in r.stderr:
        return False, "perf stat -e instructions: not supported here (no PMU in this VM)"
    return True, "perf stat -e instructions"


def build_c():
    os.makedirs(BIN, exist_ok=True)
    for name, libs in (("bare_loop", ["-lpcap"]), ("deflate_baseline", ["-ldeflate", "-pthread"]),
                       ("measure", [])):
        src = os.path.join(HERE, name + ".c")
        exe = os.path.join(BIN, name)
        newest = max(os.path.getmtime(src), os.path.getmtime(os.path.join(HERE, "clock.h")))
        if not os.path.exists(exe) or os.path.getmtime(exe) < newest:
            subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-o", exe, src] + libs, check=True)
    # stages.c links the C core itself: rebuilt whenever a source of the core is newer
    core = sorted(glob.glob(os.path.join(ROOT, "csrc", "*.c")))
    core = [c for c in core if not c.endswith("module.c")]
    src, exe = os.path.join(HERE, "stages.c"), os.path.join(BIN, "stages")
    sources = ([src, os.path.join(HERE, "clock.h")] + core +
               glob.glob(os.path.join(ROOT, "csrc", "*.h")))
    if not os.path.exists(exe) or os.path.getmtime(exe) < max(map(os.path.getmtime, sources)):
        subprocess.run(["gcc", "-O2", "-std=c11", "-Wall", "-Wextra",
                        "-Wno-missing-field-initializers", "-I" + os.path.join(ROOT, "csrc"),
                        "-I/usr/include/stb", "-o", exe, src] + core +
                       ["-lpcap", "-ldeflate", "-lz", "-lm", "-pthread"], check=True)


def ensure_inputs(quick):
    need = ["x2.pcap", "x20.pcap", "small.list"] + ([] if quick else ["x200.pcap"])
    if all(os.path.exists(os.path.join(BENCH, n)) for n in need):
        return
    cmd = [os.path.join(HERE, "make_inputs.sh")] + (["--quick"] if quick else [])
    print("building inputs:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def our_python():
    for cand in (os.environ.get("HEIFIP_BENCH_PYTHON"), os.path.join(ROOT, ".venv", "bin", "python")):
        if cand and os.path.exists(cand):
            return cand
    return sys.executable


def oracle_python():
    sys.path.insert(0, os.path.join(ROOT, "tests", "parity"))
    try:
        import oracle
        return oracle.oracle_python(), oracle._clean_env()
    finally:
        sys.path.pop(0)


def parse_child(out):
    for line in out.splitlines():
        if line.startswith("BENCH-RESULT "):
            return json.loads(line[len("BENCH-RESULT "):])
    raise RuntimeError("child printed no result:\n" + out[-2000:])


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class Suite:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.repeats = args.repeats or (3 if args.quick else 5)
        # the pairs whose ratio is a target (session row, PNG, thread scaling) alternate 9 times:
        # their medians then move less with the VM's phases
        self.target_repeats = max(9, self.repeats) if not args.quick else self.repeats
        self.min_seconds = 0.1 if args.quick else 0.5
        ok, self.perf_note = perf_works()
        self.runner = Runner(ok)
        self.py = our_python()
        self.rows = []
        self.counts = {}     # input spec -> (packets, bytes) from the bare loop
        self.bare = {}       # input spec -> bare-loop packets/s (median)
        self.bare_cpu = {}   # input spec -> bare-loop packets per CPU second (median)
        self.notes = []
        self.targets = []

    # -- helpers ---------------------------------------------------------------------------------

    def wanted(self, name):
        return not self.args.only or self.args.only in name

    def label(self, spec):
        path, _, sl = spec.partition("::")
        base = os.path.basename(path)
        if base == "small.list":
            files = _read_list(spec)
            return "%d small files" % len(files) + (" (1.1.1 subset)" if sl else "")
        return base

    def repeat(self, fn, n=None):
        runs = []
        for _ in range(n or self.repeats):
            runs.append(fn())
        return runs

    def add_row(self, name, spec, runs, packets=None, nbytes=None, images_key="images",
                raw_bytes=None, group=""):
        """runs: list of (child result, process figures)."""
        secs = [r["seconds"] for r, _ in runs]
        row = {"name": name, "input": self.label(spec) if spec else "", "group": group,
               "seconds": median(secs),
               "wall": median([f["wall"] for _, f in runs]),
               "cpu": median([f["cpu"] for _, f in runs]),
               "rss_mib": median([f["rss_mib"] for _, f in runs]),
               "repeats": len(runs)}
        passes = [r.get("passes", 1) for r, _ in runs]
        if packets is not None:
            row["packets"] = packets
            row["pps"] = median([packets * pa / s for pa, s in zip(passes, secs)])
            row["mbps"] = median([nbytes * pa / s / 1e6 for pa, s in zip(passes, secs)])
            row["ppcs"] = median([packets * pa / r["cpu_seconds"] for pa, (r, _) in zip(passes, runs)])
        if raw_bytes is not None:
            row["mbps"] = median([rb / s / 1e6 for rb, s in zip(raw_bytes, secs)])
        imgs = [r.get(images_key) for r, _ in runs]
        if imgs[0] is not None:
            row["ips"] = median([i / s for i, s in zip(imgs, secs)])
            row["ipcs"] = median([i / r["cpu_seconds"] for i, (r, _) in zip(imgs, runs)])
            row["images"] = imgs[0]
        ins = [f.get("instructions") for _, f in runs]
        if ins[0] and packets:
            row["instr_per_packet"] = median([i / (packets * pa) for i, pa in zip(ins, passes)])
        if spec in self.bare and row.get("pps"):
            row["x_bare"] = row["pps"] / self.bare[spec]
            row["x_bare_cpu"] = row["ppcs"] / self.bare_cpu[spec]
        self.rows.append(row)
        self._print_row(row)
        return row

    def _print_row(self, row):
        print("  %-46s %-26s %s" % (row["name"], row["input"], _fmt_brief(row)), flush=True)

    # -- measurements ----------------------------------------------------------------------------

    def bare_runner(self, spec):
        """One run of the bare loop over `spec`: (its JSON, process figures)."""
        files = _read_list(spec)
        exe = os.path.join(BIN, "bare_loop")

        def one():
            out, fig = self.runner.run([exe, "-"], stdin_data="\n".join(files) + "\n")
            return json.loads(out), fig
        return one

    def bare_loop(self, spec, name="bare pcap_next_ex loop (C)", runs=None):
        """The baseline row of `spec` (from `runs` if given); later rows of `spec` compare to it."""
        runs = runs or self.repeat(self.bare_runner(spec))
        r0 = runs[0][0]
        self.counts[spec] = (r0["packets"], r0["bytes"])
        row = self.add_row(name, spec, runs, packets=r0["packets"], nbytes=r0["bytes"],
                           images_key="none", group="packets")
        self.bare[spec] = row["pps"]
        self.bare_cpu[spec] = row["ppcs"]
        row["x_bare"] = row["x_bare_cpu"] = 1.0
        return row

    def stages(self, spec):
        """The C session pipeline without Python, stage by stage (benchmarks/stages.c): where the
        time of the session-assembly row goes.  Best CPU time of `repeats` runs, as a note."""
        [path] = _read_list(spec)
        out, _ = self.runner.run([os.path.join(BIN, "stages"), path, "0", str(self.repeats)])
        lines = [" ".join(l.split()) for l in out.strip().splitlines()]
        print("  C stages (stages.c): " + "; ".join(lines[1:]), flush=True)
        self.notes.append("C session pipeline on %s without Python (benchmarks/stages.c, "
                          "anonymize random, best CPU s of %d, cumulative): %s" % (
                              os.path.basename(path), self.repeats, "; ".join(lines[1:])))

    def child(self, params, python=None, env=None, cwd=None):
        cmd = [python or self.py, os.path.join(HERE, "run.py"), "--child", json.dumps(params)]
        out, fig = self.runner.run(cmd, env=child_env() if env is None else env, cwd=cwd)
        return parse_child(out), fig

    def extract_runner(self, spec, image="flow-tiled-fixed", preprocess="NONE",
                       output="arrays", packet_limit=64, impl="ours", threads=0, level=None,
                       filt=None, min_seconds=None, image_args=None, batch=False, two_call=False,
                       split=None):
        """One run of an extract row (a child process): (its result, process figures)."""
        params = {"kind": "extract", "impl": impl, "input": spec, "image": image,
                  "preprocess": preprocess, "output": output, "packet_limit": packet_limit,
                  "threads": threads, "level": level, "filter": filt, "image_args": image_args,
                  "min_seconds": self.min_seconds if min_seconds is None else min_seconds,
                  "batch": batch, "two_call": two_call, "split": split}
        if impl == "1.1.1":
            python, env = self.oracle
            return lambda: self.child(params, python=python, env=env, cwd=tempfile.gettempdir())
        return lambda: self.child(params)

    def extract_row(self, name, spec, runs, group="packets"):
        packets, nbytes = self.counts[spec]
        return self.add_row(name, spec, runs, packets=packets, nbytes=nbytes, group=group)

    def alternating(self, *runners, repeats=None):
        """Run the runners in turn (a, b, a, b, ...) `repeats` times: drift of the machine (up to
        40 % between minutes on this VM) then affects each alike, where a ratio between them is
        a target.  Returns one list of runs per runner."""
        rounds = [[one() for one in runners] for _ in range(repeats or self.repeats)]
        return [[r[i] for r in rounds] for i in range(len(runners))]

    def extract(self, name, spec, repeats=None, group="packets", alternate_bare=False, **kw):
        """alternate_bare: the bare loop over the same input runs before each repeat and the row
        compares to those runs (the headline target)."""
        if not self.wanted(name):
            return None
        fn = self.extract_runner(spec, **kw)
        if alternate_bare:
            bare, runs = self.alternating(self.bare_runner(spec), fn, repeats=repeats)
            self.bare_loop(spec, "bare pcap_next_ex loop (C), alternating with the next row",
                           runs=bare)
        else:
            runs = self.repeat(fn, repeats)
        return self.extract_row(name, spec, runs, group)

    def extract_pair(self, first, second, spec, group, repeats=None, **common):
        """Two extract rows whose runs alternate (see alternating); `first`/`second` are
        (name, options).  Returns both rows (None if not wanted)."""
        (name_a, kw_a), (name_b, kw_b) = first, second
        if not (self.wanted(name_a) and self.wanted(name_b)):
            return None, None
        runs_a, runs_b = self.alternating(self.extract_runner(spec, **common, **kw_a),
                                          self.extract_runner(spec, **common, **kw_b),
                                          repeats=repeats)
        return (self.extract_row(name_a, spec, runs_a, group),
                self.extract_row(name_b, spec, runs_b, group))

    def png_runner(self, raw, w, h, level, filt, mode="encode", threads=1):
        params = {"kind": "png", "raw": raw, "width": w, "height": h, "level": level,
                  "filter": filt, "mode": mode, "min_seconds": self.min_seconds,
                  "threads": threads}
        return lambda: self.child(params)

    def png(self, name, raw, w, h, level, filt, mode="encode", threads=1, runs=None):
        """runs: already measured (alternating with the libdeflate baseline)."""
        if runs is None:
            runs = self.repeat(self.png_runner(raw, w, h, level, filt, mode, threads))
        return self.add_row(name, None, runs, raw_bytes=[r["raw_bytes"] for r, _ in runs],
                            group="png")

    def deflate_runner(self, raw, w, h, level, crc, threads=1, seconds=None):
        # enough repetitions for ~`seconds` (default min_seconds) on one thread (calibrated on one
        # short run); with threads the same passes are shared out (deflate_baseline.c)
        exe = os.path.join(BIN, "deflate_baseline")
        probe = json.loads(subprocess.run([exe, raw, str(w), str(h), "1", str(level)],
                                          capture_output=True, text=True, check=True).stdout)
        reps = max(2, int((seconds or self.min_seconds) / max(probe["seconds"], 1e-6)))

        def one():
            out, fig = self.runner.run([exe, raw, str(w), str(h), str(reps), str(level),
                                        "crc" if crc else "nocrc", str(threads)])
            return json.loads(out), fig
        return one

    def deflate(self, name, raw, w, h, level, crc, runs=None, group="png"):
        """runs: already measured (alternating with our writer)."""
        if runs is None:
            runs = self.repeat(self.deflate_runner(raw, w, h, level, crc))
        return self.add_row(name, None, runs, raw_bytes=[r["raw_bytes"] for r, _ in runs],
                            group=group)

    def fip_runner(self, spec, command, args):
        params = {"kind": "fip", "input": spec, "command": command, "args": args,
                  "min_seconds": self.min_seconds}
        return lambda: self.child(params)

    def import_time(self):
        """`import heifip` in a fresh interpreter: timed inside it (median), -X importtime's
        cumulative figure (median), and `python -c "import heifip"` minus `python -c pass`
        (median of the per-pair differences; noisy on a shared machine)."""
        n = 7 if self.quick else 21
        env = child_env()
        timed = ("import time; t = time.perf_counter(); import heifip; "
                 "print(time.perf_counter() - t)")
        timed_ex = ("import time; t = time.perf_counter(); "
                    "from heifip.extractor import FIPExtractor; print(time.perf_counter() - t)")
        subprocess.run([self.py, "-c", "import heifip.extractor"], check=True, cwd=ROOT, env=env)
        inproc, inproc_ex, importtime, diffs = [], [], [], []
        for _ in range(n):
            for stmt, into in ((timed, inproc), (timed_ex, inproc_ex)):
                r = subprocess.run([self.py, "-c", stmt], capture_output=True, text=True,
                                   check=True, cwd=ROOT, env=env)
                into.append(float(r.stdout) * 1000.0)
            r = subprocess.run([self.py, "-X", "importtime", "-c", "import heifip"],
                               capture_output=True, text=True, cwd=ROOT, env=env)
            for line in r.stderr.splitlines():
                parts = [x.strip() for x in line.split("|")]
                if len(parts) == 3 and parts[2] == "heifip":
                    importtime.append(int(parts[1]) / 1000.0)
            pair = []
            for stmt in ("pass", "import heifip"):
                t0 = time.perf_counter()
                subprocess.run([self.py, "-c", stmt], check=True, cwd=ROOT, env=env)
                pair.append(time.perf_counter() - t0)
            diffs.append((pair[1] - pair[0]) * 1000.0)
        return {"inproc_ms": median(inproc), "extractor_ms": median(inproc_ex),
                "importtime_ms": median(importtime), "diff_ms": median(diffs)}

    # -- the whole suite ---------------------------------------------------------------------------

    def run(self):
        q = self.quick
        big = os.path.join(BENCH, "x20.pcap" if q else "x200.pcap")
        big_small = os.path.join(BENCH, "x2.pcap" if q else "x20.pcap")
        small = os.path.join(BENCH, "small.list")
        n_oracle = 10 if q else 210
        oracle_spec = small + "::0:%d" % n_oracle

        self.load = [os.getloadavg()[0]]
        print("heifip benchmarks (%s): python %s; %d repeats; %s" % (
            "quick" if q else "full", self.py, self.repeats, self.perf_note), flush=True)

        # Which interpreter runs 1.1.1 (found/created by the parity helper).
        self.oracle = None
        if not self.args.no_oracle:
            try:
                self.oracle = oracle_python()
            except Exception as exc:  # OracleUnavailable or no network
                self.notes.append("heifip 1.1.1 not measured: %s" % exc)

        print("[packets: big capture, whole file (packet_limit=0: one flow of the whole file)]")
        self.bare_loop(big)
        self.extract("ours FTF 16/8 NONE -> arrays", big, packet_limit=0, min_seconds=0)
        self.extract("ours FTF 16/8 HEADER -> arrays", big, preprocess="HEADER", packet_limit=0,
                     min_seconds=0)
        self.extract("ours FTF 16/8 NONE -> PNG", big, output="png", packet_limit=0,
                     min_seconds=0)
        self.extract("ours markov-flow NONE -> arrays", big, image="markov-flow",
                     packet_limit=0, min_seconds=0)
        self.extract("ours FTF 16/8 NONE -> arrays, every packet kept (read_file + render)", big,
                     packet_limit=0, min_seconds=0, two_call=True)
        # the headline target: 9 alternating pairs (not 5) so that its median is steadier
        # (target_repeats, as for the PNG and thread-scaling pairs)
        self.extract("ours FTF 16/8 NONE -> arrays, session assembly (heifip.extract)", big,
                     packet_limit=0, min_seconds=0, split="session", alternate_bare=True,
                     repeats=self.target_repeats)
        if self.wanted("session assembly, C stages (stages.c)"):
            self.stages(big)

        print("[memory: the same on a 10x smaller capture]")
        self.bare_loop(big_small)
        self.extract("ours FTF 16/8 NONE -> arrays (10x smaller)", big_small, packet_limit=0,
                     min_seconds=0, group="memory")

        print("[packets: small files (<= 64 packets each), per image type]")
        self.bare_loop(small)
        for image in IMAGE_TYPES:
            for pre in ("NONE", "HEADER"):
                for output in ("arrays", "png"):
                    if q and pre == "HEADER" and (image != "flow-tiled-fixed" or output == "png"):
                        continue
                    if q and output == "png" and image not in ("flow-tiled-fixed", "packet"):
                        continue
                    self.extract("ours %s %s -> %s" % (image, pre, output), small, image=image,
                                 preprocess=pre, output=output)

        print("[heifip 1.1.1 vs ours on the same files, FTF 16/8 NONE -> arrays]")
        self.bare_loop(oracle_spec, name="bare pcap_next_ex loop (C), 1.1.1 subset")
        ours_name = "ours FTF 16/8 NONE -> arrays (1.1.1's files)"
        ref = None
        if self.oracle:   # the >= 3,000x target: ours and 1.1.1 alternate, 3 pairs
            ours_same, ref = self.extract_pair(
                (ours_name, {}),
                ("heifip 1.1.1 FTF 16/8 NONE -> arrays", dict(impl="1.1.1", min_seconds=0)),
                oracle_spec, "oracle", repeats=3)
        else:
            ours_same = self.extract(ours_name, oracle_spec, group="oracle")
        self.extract("ours FTF 16/8 NONE -> arrays, batch (1.1.1's files)", oracle_spec,
                     group="oracle", batch=True)
        if ref:
            for row in self.rows:
                if row.get("pps"):
                    row["x_111"] = row["pps"] / ref["pps"]
                    row["x_111_cpu"] = row["ppcs"] / ref["ppcs"]

        print("[PNG: our writer vs libdeflate directly, level 1, filter 0, same pixels]")
        raws = {}
        for (w, h, image) in ((16, 16, "packet"), (128, 128, "flow-tiled-fixed")):
            raw = os.path.join(BENCH, "pixels-%dx%d.raw" % (w, h))
            if not os.path.exists(raw):
                self.child({"kind": "dump_pixels", "input": small, "image": image,
                            "width": w, "height": h, "max_images": 2000 if w == 16 else 200,
                            "raw": raw})
            raws[(w, h)] = raw
        png_pairs = []
        for (w, h), raw in raws.items():
            # the target's two sides alternate (see alternating): libdeflate direct, ours
            direct_runs, ours_runs = self.alternating(self.deflate_runner(raw, w, h, 1, False),
                                                      self.png_runner(raw, w, h, 1, 0),
                                                      repeats=self.target_repeats)
            base = self.deflate("libdeflate L1 f0 direct (C) %dx%d" % (w, h), raw, w, h, 1, False,
                                runs=direct_runs)
            basec = self.deflate("libdeflate L1 f0 + IDAT crc32 (C) %dx%d" % (w, h), raw, w, h, 1,
                                 True)
            ours = self.png("ours encode_png L1 f0 %dx%d" % (w, h), raw, w, h, 1, 0,
                            runs=ours_runs)
            self.png("ours save_png L1 f0 to file %dx%d" % (w, h), raw, w, h, 1, 0, mode="file")
            self.png("ours save_pngs L1 f0 to files, batch %dx%d" % (w, h), raw, w, h, 1, 0,
                     mode="batch")
            self.png("ours save_pngs L1 f0 to files, batch threads=2 %dx%d" % (w, h), raw, w, h,
                     1, 0, mode="batch", threads=2)
            self.png("ours encode_png L6 adaptive (Pillow-like) %dx%d" % (w, h), raw, w, h, 6, -1)
            png_pairs.append(((w, h), base, basec, ours))

        print("[cores: threads over files, PNG dominated (FTF 32/8 -> 256x256 PNG, L6 adaptive)]")
        big_tiles = [32, 0, 8]
        # The target's two forms (fip -t N; the batch calls' threads=N), the user's own pool and
        # the machine's own scaling (libdeflate on 1 and 2 pthreads): 1 and 2 threads of every
        # pair, all four pairs in one alternation (f1 f2 c1 c2 t1 t2 b1 b2, 9 rounds), so that
        # every ratio is taken over the same minutes of the VM.
        fip_args = ["--dim", "32", "--cols", "8", "--png-level", "6", "--png-filter", "adaptive"]
        png_l6 = dict(output="png", level=6, filt=-1, image_args=big_tiles)
        fip_row = "fip extract flow-tiled-fixed (FTF 32/8 -> PNG L6 adaptive) -t %d"
        deflate_row = "libdeflate L6 direct (C), threads=%d, 128x128"
        user_row = "ours FTF 32/8 NONE -> PNG L6, threads=%d"
        batch_row = "ours FTF 32/8 NONE -> PNG L6, batch threads=%d"
        pairs = [
            (fip_row,
             lambda t: self.fip_runner(small, "flow-tiled-fixed", fip_args + ["-t", str(t)]),
             lambda name, runs: self.add_row(name, small, runs, group="threads")),
            # 2 x min_seconds of work: the 2-thread run, too, lasts about min_seconds
            (deflate_row, lambda t: self.deflate_runner(raws[(128, 128)], 128, 128, 6, False, t,
                                                        2 * self.min_seconds),
             lambda name, runs: self.deflate(name, raws[(128, 128)], 128, 128, 6, False,
                                             runs=runs, group="threads")),
            (user_row, lambda t: self.extract_runner(small, threads=t, **png_l6),
             lambda name, runs: self.extract_row(name, small, runs, "threads")),
            (batch_row, lambda t: self.extract_runner(small, threads=t, batch=True, **png_l6),
             lambda name, runs: self.extract_row(name, small, runs, "threads")),
        ]
        pairs = [p for p in pairs if self.wanted(p[0] % 1) and self.wanted(p[0] % 2)]
        runs = self.alternating(*(runner(t) for _, runner, _ in pairs for t in (1, 2)),
                                repeats=self.target_repeats) if pairs else []
        made = {name: tuple(row(name % t, runs[2 * k + t - 1]) for t in (1, 2))
                for k, (name, _, row) in enumerate(pairs)}
        (f1, f2), (c1, c2), (t1, t2), (b1, b2) = (
            made.get(name, (None, None)) for name in (fip_row, deflate_row, user_row, batch_row))
        ta = self.extract("ours FTF 32/8 NONE -> arrays, threads=1", small, threads=1,
                          group="threads", image_args=big_tiles)
        ba = self.extract("ours FTF 32/8 NONE -> arrays, batch threads=1", small, threads=1,
                          group="threads", image_args=big_tiles, batch=True)

        print("[import time]")
        imp = self.import_time()
        print("  " + import_text(imp), flush=True)
        self.imports = imp

        self.load.append(os.getloadavg()[0])
        # -- targets --------------------------------------------------------------------------------
        def find(name):
            return next((r for r in self.rows if r["name"] == name), None)
        a = find("ours FTF 16/8 NONE -> arrays")
        sessions = find("ours FTF 16/8 NONE -> arrays, session assembly (heifip.extract)")
        if sessions and sessions.get("x_bare"):
            self.target("read + dissect + NONE + session assembly + FTF 16/8 -> arrays >= 50% of "
                        "bare loop (big capture, 1 thread)", "%.0f%% (CPU-time: %.0f%%)" % (
                            100 * sessions["x_bare"], 100 * sessions.get("x_bare_cpu", 0)),
                        sessions["x_bare"] >= 0.5)
        if a and a.get("x_bare"):
            self.target("  (1.1.1's path: whole file = one flow, only the 64 packets the image "
                        "uses preprocessed)",
                        "%.0f%% (CPU-time: %.0f%%)" % (100 * a["x_bare"], 100 * a["x_bare_cpu"]),
                        a["x_bare"] >= 0.5)
        s = find("ours flow-tiled-fixed NONE -> arrays")
        if s and s.get("x_bare"):
            self.target("  (same, small files: per-file costs included)",
                        "%.0f%% (CPU-time: %.0f%%)" % (100 * s["x_bare"], 100 * s["x_bare_cpu"]),
                        s["x_bare"] >= 0.5)
        if ref and ours_same:
            x = ours_same["pps"] / ref["pps"]
            self.target(">= 3,000x heifip 1.1.1 packets/s (same files, same settings)",
                        "%.0fx (CPU-time: %.0fx)" % (x, ours_same["ppcs"] / ref["ppcs"]), x >= 3000)
            bl = find("bare pcap_next_ex loop (C), 1.1.1 subset")
            if bl:
                self.target("  (the bare libpcap loop itself on those files)",
                            "%.0fx (CPU-time: %.0fx)" % (bl["pps"] / ref["pps"],
                                                         bl["ppcs"] / ref["ppcs"]),
                            bl["pps"] / ref["pps"] >= 3000)
            if a:
                self.target("  (ours on the big capture vs 1.1.1 on its files)",
                            "%.0fx (CPU-time: %.0fx)" % (a["pps"] / ref["pps"], a["ppcs"] / ref["ppcs"]),
                            a["pps"] / ref["pps"] >= 3000)
        for (w, h), base, basec, ours in png_pairs:
            tr = base["ips"] / ours["ips"]
            self.target("PNG %dx%d L1 f0 within 10%% of libdeflate direct (time ratio)" % (w, h),
                        "%.2fx (CPU-time %.2fx; %.2fx vs +crc32)" % (
                            tr, base["ipcs"] / ours["ipcs"], basec["ipcs"] / ours["ipcs"]),
                        tr <= 1.10)
        # the machine's own 2-thread scaling, measured in the same rounds: what each form reaches
        machine = c2["ips"] / c1["ips"] if c1 and c2 else None

        def scaling(x):
            return "%.2fx" % x + (" (%.0f%% of the machine's)" % (100 * x / machine)
                                  if machine else "")
        if f1 and f2:
            x = f2["ips"] / f1["ips"]
            self.target("fip -t 2 >= 1.8x fip -t 1 (PNG dominated: FTF 32/8 -> 256x256 PNG L6 "
                        "adaptive)", scaling(x), x >= 1.8)
        if b1 and b2:
            x = b2["ips"] / b1["ips"]
            # PNG's share of the 1-thread time: 1 - (time without PNG) / (time with PNG)
            share = 1.0 - (b1["ips"] / ba["ips"]) if ba and ba.get("ips") else None
            self.target("threads=2 >= 1.8x threads=1: create_images_from_files + save_pngs "
                        "(C threads%s)" % (", PNG %.0f%% of 1-thread time" % (100 * share)
                                           if share is not None else ""), scaling(x), x >= 1.8)
        if t1 and t2:
            x = t2["ips"] / t1["ips"]
            share = 1.0 - (t1["ips"] / ta["ips"]) if ta and ta.get("ips") else None
            self.target("  (the user's own 2 threads over create_image_from_file + save_png%s)" % (
                ", PNG %.0f%% of 1-thread time" % (100 * share) if share is not None else ""),
                scaling(x), x >= 1.8)
        if machine:
            self.target("  (reference, the machine: libdeflate L6 in C, 2 threads vs 1, no "
                        "Python, no files)", "%.2fx" % machine, None)
        bs = find("ours FTF 16/8 NONE -> arrays, batch (1.1.1's files)")
        if ref and bs:
            x = bs["pps"] / ref["pps"]
            self.target("  (same files, batch: create_images_from_files)",
                        "%.0fx (CPU-time: %.0fx)" % (x, bs["ppcs"] / ref["ppcs"]), x >= 3000)
        full = find("ours FTF 16/8 NONE -> arrays, every packet kept (read_file + render)")
        if full and full.get("x_bare"):
            self.target("  (big capture, every packet dissected + preprocessed + kept)",
                        "%.0f%% (CPU-time: %.0f%%)" % (100 * full["x_bare"], 100 * full["x_bare_cpu"]),
                        full["x_bare"] >= 0.5)
        worst = max(v for v in (imp["inproc_ms"], imp["importtime_ms"]) if v is not None)
        self.target("import heifip < 50 ms (timed in-process; -X importtime)",
                    "%.1f ms; %s ms" % (imp["inproc_ms"], _num(imp["importtime_ms"], 1)), worst < 50)
        m_big = find("ours FTF 16/8 NONE -> arrays")
        m_small = find("ours FTF 16/8 NONE -> arrays (10x smaller)")
        if m_big and m_small:
            x = m_big["rss_mib"] / m_small["rss_mib"]
            self.target("peak RSS flat in capture size (10x the packets: <= 1.25x the RSS)",
                        "%.0f vs %.0f MiB (%.2fx)" % (m_big["rss_mib"], m_small["rss_mib"], x),
                        x <= 1.25)
        return self

    def target(self, what, value, ok):
        """ok None: a reference beside the targets, not one itself (verdict "ref")."""
        self.targets.append((what, value, "ref" if ok is None else "PASS" if ok else "FAIL"))


# ------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------

def import_text(imp):
    return ("Import: `import heifip` %s ms timed in-process (median); `-X importtime` cumulative "
            "%s ms; `python -c \"import heifip\"` minus `python -c pass`: %s ms; "
            "`from heifip.extractor import FIPExtractor` (loads NumPy and the C core) %s ms." % (
                _num(imp["inproc_ms"], 1), _num(imp["importtime_ms"], 1), _num(imp["diff_ms"], 1),
                _num(imp["extractor_ms"], 1)))


def child_env():
    """Environment of our children: as a user's, with bytecode caching on (this sandbox sets
    PYTHONDONTWRITEBYTECODE, which would make every import compile heifip's sources)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _num(v, digits=0):
    if v is None:
        return "-"
    if digits == 0:
        if abs(v) >= 100:
            return "{:,.0f}".format(v)
        return "{:.3g}".format(v)
    return "{:.{}f}".format(v, digits)


def _ratio(v):
    if v is None:
        return "-"
    return "{:,.0f}x".format(v) if v >= 100 else "{:.2f}x".format(v)


def _fmt_brief(row):
    parts = []
    if row.get("pps"):
        parts.append("%s pkt/s" % _num(row["pps"]))
    if row.get("ips"):
        parts.append("%s img/s" % _num(row["ips"]))
    if row.get("mbps"):
        parts.append("%s MB/s" % _num(row["mbps"]))
    parts.append("RSS %s MiB" % _num(row["rss_mib"]))
    if row.get("x_bare"):
        parts.append("%s bare" % _ratio(row["x_bare"]))
    return ", ".join(parts)


COLUMNS = [("measurement", "name"), ("input", "input"), ("packets", "packets"),
           ("packets/s", "pps"), ("packets/CPU-s", "ppcs"), ("MB/s", "mbps"), ("images/s", "ips"),
           ("in-process s", "seconds"), ("process wall s", "wall"), ("process CPU s", "cpu"),
           ("peak RSS MiB", "rss_mib"), ("x bare loop", "x_bare"), ("x 1.1.1", "x_111"),
           ("x 1.1.1 (CPU)", "x_111_cpu")]


def table_rows(suite):
    cols = list(COLUMNS)
    if any(r.get("instr_per_packet") for r in suite.rows):
        cols.insert(10, ("instr/packet", "instr_per_packet"))
    lines = []
    for r in suite.rows:
        cells = []
        for _, key in cols:
            v = r.get(key)
            if key in ("name", "input"):
                cells.append(v or "")
            elif key in ("x_bare", "x_111", "x_bare_cpu", "x_111_cpu"):
                cells.append(_ratio(v))
            elif key in ("seconds", "wall", "cpu"):
                cells.append("-" if v is None else "%.3f" % v)
            elif key == "rss_mib":
                cells.append("-" if v is None else "%.0f" % v)
            elif key == "packets":
                cells.append("-" if v is None else "{:,}".format(v))
            else:
                cells.append(_num(v))
        lines.append(cells)
    return [c for c, _ in cols], lines


def print_table(suite):
    head, lines = table_rows(suite)
    widths = [max(len(head[i]), *(len(l[i]) for l in lines)) for i in range(len(head))]
    fmt = "  ".join("%%-%ds" % w if i < 2 else "%%%ds" % w for i, w in enumerate(widths))
    print()
    print(fmt % tuple(head))
    print(fmt % tuple("-" * w for w in widths))
    for l in lines:
        print(fmt % tuple(l))
    print()
    for what, value, verdict in suite.targets:
        print("  %-4s  %-75s %s" % (verdict, what, value))
    for n in suite.notes:
        print("  note:", n)


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d cores, %s, Python %s" % (cpu, os.cpu_count() or 0, platform.platform(),
                                            platform.python_version())


def write_markdown(suite, path, elapsed):
    head, lines = table_rows(suite)
    out = ["# heifip benchmark results", "",
           "`python benchmarks/run.py%s` -- %s; %d repeats, medians; %s; total %.0f s." % (
               " --quick" if suite.quick else "", time.strftime("%Y-%m-%d %H:%M"),
               suite.repeats, suite.perf_note, elapsed), "",
           "Machine: %s.  1-minute load average at start / end: %s (other jobs on the machine "
           "perturb the figures, the thread scaling most)." % (
               machine(), " / ".join("%.2f" % x for x in getattr(suite, "load", []))), "",
           "| " + " | ".join(head) + " |",
           "|" + "|".join("---" if i < 2 else "---:" for i in range(len(head))) + "|"]
    for l in lines:
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in l) + " |")
    out += ["", "## Targets (issue 5)", "", "| target | measured | verdict |", "|---|---:|---|"]
    for what, value, verdict in suite.targets:
        out.append("| %s | %s | %s |" % (what.strip(), value, "**%s**" % verdict))
    imp = getattr(suite, "imports", None)
    if imp:
        out += ["", import_text(imp)]
    if suite.notes:
        out += [""] + ["Note: " + n for n in suite.notes]
    out += ["", "Columns: packets/s, MB/s (captured bytes, or raw pixel bytes for PNG rows) and "
            "images/s are timed inside the process over the measured section only; *process* "
            "wall/CPU/peak RSS are of the whole child process (interpreter start and imports "
            "included), from wait4 (benchmarks/measure.c).  x bare loop: packets/s over the bare libpcap loop on the "
            "same input; x 1.1.1: packets/s over heifip 1.1.1's on its small-file subset "
            "(only the `(1.1.1's files)` row is the same-files comparison).", ""]
    with open(path, "w") as fh:
        fh.write("\n".join(out))


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--child"]:
        child_main(argv[1])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller inputs, 3 repeats, < ~60 s")
    ap.add_argument("--repeats", type=int, help="runs per measurement (default 5, quick 3)")
    ap.add_argument("--no-oracle", action="store_true", help="skip heifip 1.1.1")
    ap.add_argument("--only", help="only the extract rows whose name contains this")
    ap.add_argument("--results", default=os.path.join(HERE, "results.md"),
                    help="markdown output (default benchmarks/results.md)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    build_c()
    ensure_inputs(args.quick)
    suite = Suite(args).run()
    elapsed = time.perf_counter() - t0
    print_table(suite)
    write_markdown(suite, args.results, elapsed)
    print("\nwrote %s (%.0f s)" % (os.path.relpath(args.results), elapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
