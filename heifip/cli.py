"""The ``fip`` command line: heifip 1.1.1's commands and flags on argparse (no click).

``fip extract <command> -r IN -w OUT [options]`` turns every capture under IN into images under OUT,
as heifip 1.1.1's ``fip`` does (reference-semantics.md §5), minus its failures (§7.1 P28-P34):

* all six commands work: ``flow-tiled-auto`` honours ``--auto-dim`` (P32), both Markov commands save
  8-bit PNGs (P30) and ``markov-packet`` makes per-packet matrices (P33);
* per-packet commands keep every image under a unique name instead of the last one (P28);
* captures are recognised by content (pcap, pcapng, gzip-compressed), not by a ``*.pcap`` name (P34);
* output paths are relative to the input folder (P29: 1.1.1 removes every occurrence of the input
  string); a single file given as ``-r`` is converted too (1.1.1 yields nothing);
* a failing file is reported and the run goes on; the exit status says whether everything was
  converted; nothing hangs (P31) and Ctrl-C stops cleanly.

Python stays thin here (docs/style.md §7): this module parses arguments, walks folders, schedules
files on threads and reports.  Reading, rendering and PNG writing of a chunk of files is one C
call (``FIPExtractor._write_image_files``; sessions: ``heifip.extract`` and ``heifip.save_png``)
that releases the GIL, so ``-t N`` runs N chunks at once.  Every image is written to a temporary
name and renamed (by the writer), so an interrupted run never leaves a half-written PNG.  The user
documentation is docs/cli.md.

Exit status: 0 every input converted, 1 some inputs failed (listed on stderr), 2 usage error,
130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# Result states of one input file.
CONVERTED = "converted"
COMPLETE = "complete"        # outputs of an earlier run found, skipped (no --overwrite)
NOT_CAPTURE = "not-capture"  # found by the folder walk, content is no capture: skipped
FAILED = "failed"
CANCELLED = "cancelled"      # not started or not finished because of Ctrl-C

OUTPUT_SUFFIX = "_processed.png"  # 1.1.1's save_image suffix (P28)
INDEX_FORMAT = "{:05d}"           # per-packet image index in output names


# --------------------------------------------------------------------------------------------
# Argument table
# --------------------------------------------------------------------------------------------

def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _int64(text):
    value = int(text)
    if not -2 ** 63 <= value < 2 ** 63:
        raise argparse.ArgumentTypeError(f"must be a 64-bit integer, got {value}")
    return value


def _non_negative_int(text):
    value = _int64(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


_positive_int.__name__ = "positive integer"
_non_negative_int.__name__ = "non-negative integer"
_int64.__name__ = "64-bit integer"


def _seed(text):
    value = int(text)
    if not 0 <= value < 2 ** 64:
        raise argparse.ArgumentTypeError(f"must be in 0 .. 2**64-1, got {value}")
    return value


_seed.__name__ = "seed"


def _png_level(text):
    value = int(text)
    if not 0 <= value <= 12:
        raise argparse.ArgumentTypeError(f"must be in 0 .. 12, got {value}")
    return value


_png_level.__name__ = "PNG level"

# --png-filter names -> heifip.save_png's filter argument (png.h: 0..4 one PNG filter type for
# every row, -1 adaptive)
PNG_FILTERS = {"none": 0, "sub": 1, "up": 2, "average": 3, "paeth": 4, "adaptive": -1}


def _opt(*flags, **kwargs):
    return (flags, kwargs)


# Options of every extract command, in 1.1.1's order (cli.py:33-125), then our additions.
_EXTRACT_OPTIONS = [
    _opt("-w", "--write", dest="output_dir", required=True, metavar="PATH",
         help="output folder; the input tree is mirrored below it"),
    _opt("-r", "--read", dest="input_dir", required=True, metavar="PATH",
         help="a capture file, or a folder walked recursively (captures recognised by content)"),
    _opt("-t", "--threads", dest="num_threads", type=_positive_int, default=4, metavar="N",
         help="files converted in parallel (default: 4)"),
    _opt("--preprocess", dest="preprocessing_type", type=str.upper, choices=("NONE", "HEADER"),
         default="NONE", help="NONE, or HEADER to replace headers by heifip's reduced layers "
         "(case-insensitive; default: NONE)"),
    _opt("--min-im-dim", "--min_im_dim", dest="min_image_dim", type=_int64, default=0, metavar="N",
         help="drop images with a side shorter than N, 0 = no minimum (default: 0)"),
    _opt("--max-im-dim", "--max_im_dim", dest="max_image_dim", type=_int64, default=0, metavar="N",
         help="drop images with a side longer than N, 0 = no maximum (default: 0)"),
    _opt("--remove-duplicates", dest="remove_duplicates", action="store_true",
         help="accepted for compatibility; has no effect, as in heifip 1.1.1"),
]

# 1.1.1's "flow options" are offered by every command (also those that ignore them, P34).
_FLOW_OPTIONS = [
    _opt("--min-packets", dest="min_packets_per_flow", type=_int64, default=0, metavar="N",
         help="flows with fewer packets make no image, 0 = no minimum (default: 0)"),
    _opt("--max-packets", dest="max_packets_per_flow", type=_non_negative_int, default=0,
         metavar="N",
         help="use at most the first N packets of a flow, 0 = all (default: 0)"),
]

# Flow selection (beyond 1.1.1): sessions inside one capture, and a BPF filter.  --split file is
# 1.1.1's one file = one flow; the other modes go through heifip.extract (heifip/sessions.py).
_SELECTION_OPTIONS = [
    _opt("--split", dest="split", type=str.lower, choices=("file", "session", "flow"),
         default="file", help="file: one flow per capture file, as heifip 1.1.1 (default); "
         "session: one per bidirectional 5-tuple connection; flow: one per direction"),
    _opt("--filter", dest="bpf", default=None, metavar="BPF",
         help="libpcap filter applied before flows are assembled, e.g. 'tcp port 443' "
         "(with --split file it selects the packets of the file's one flow)"),
    _opt("--idle-timeout", dest="idle_timeout", type=float, default=300.0, metavar="SECONDS",
         help="a session with no packet for this long (capture time) ends; 0 = never "
         "(default: 300)"),
    _opt("--active-timeout", dest="active_timeout", type=float, default=1800.0, metavar="SECONDS",
         help="a session longer than this (capture time) is cut; 0 = never (default: 1800)"),
]

# Our additions, valid for every command.
_RUN_OPTIONS = [
    _opt("--anonymize", dest="anonymize", type=str.lower,
         choices=("random", "consistent", "zero", "keep"), default="random",
         help="addresses written into the images: random per packet as 1.1.1 (default), "
         "consistent pseudonyms, zero, or keep the originals"),
    _opt("--seed", dest="seed", type=_seed, default=0, metavar="N",
         help="key of the random and consistent address choices; the same seed gives the same "
         "images (default: 0)"),
    _opt("--packet-limit", dest="packet_limit", type=_non_negative_int, default=64, metavar="N",
         help="records read per file, 0 = whole file (default: 64, heifip 1.1.1's fixed cap)"),
    _opt("--png-level", dest="png_level", type=_png_level, default=1, metavar="N",
         help="PNG compression level, 0 (stored) .. 12 (smallest, slowest) (default: 1)"),
    _opt("--png-filter", dest="png_filter", type=str.lower, choices=tuple(PNG_FILTERS),
         default="none", help="PNG row filter: one type for every row, or adaptive (chosen per "
         "row, as Pillow does; slower, and larger on packet bytes) (default: none)"),
    _opt("--overwrite", dest="overwrite", action="store_true",
         help="convert again files whose images exist from an earlier run (default: skip them)"),
    _opt("-q", "--quiet", dest="quiet", action="store_true",
         help="no banners, progress bar, skip notes or summary; failures are still listed"),
]

_DIM = _opt("--dim", dest="dim", type=int, default=8, metavar="N",
            help="image (or tile) side (default: 8)")
_FILL = _opt("--fill", dest="fill", type=int, default=0, metavar="N",
             help="byte value filling the rest of an image (wraps modulo 256; default: 0)")
_AUTO_DIM = _opt("--auto-dim", dest="auto_dim", action="store_true",
                 help="choose the image side from the packet length(s)")
_APPEND = _opt("--append", dest="append", action="store_true",
               help="append all packets into one square image instead of one row per packet")
_COLS = _opt("--cols", dest="cols", type=int, default=4, metavar="N",
             help="tiles per row (default: 4)")

# command -> (image class name, image option table, positional image arguments, per packet, help)
# The positional arguments are 1.1.1's (reference-semantics.md §4.1); per-packet commands make one
# image per packet, flow commands one per file.
COMMANDS = {
    "packet": ("PacketImage", [_DIM, _FILL, _AUTO_DIM], ("dim", "fill", "auto_dim"), True,
               "one image per packet"),
    "flow": ("FlowImage", [_DIM, _FILL, _APPEND], ("dim", "fill", "append"), False,
             "one image per file, one row per packet (or all appended)"),
    "flow-tiled-fixed": ("FlowImageTiledFixed", [_DIM, _FILL, _COLS], ("dim", "fill", "cols"), False,
                         "one image per file: packet tiles in a cols x cols grid"),
    "flow-tiled-auto": ("FlowImageTiledAuto", [_DIM, _FILL, _AUTO_DIM], ("dim", "fill", "auto_dim"),
                        False, "one image per file: packet tiles, grid sized by the packet count"),
    "markov-flow": ("MarkovTransitionMatrixFlow", [_COLS], ("cols",), False,
                    "one Markov transition matrix image per file (tiles of packets)"),
    "markov-packet": ("MarkovTransitionMatrixPacket", [], (), True,
                      "one Markov transition matrix image per packet"),
}


def _version():
    import heifip
    return getattr(heifip, "__version__", "unknown")


def build_parser(prog="fip"):
    """The argparse parser of ``fip`` (exposed for docs and tests)."""
    parser = argparse.ArgumentParser(
        prog=prog, description="heifip: network captures to images for deep learning.")
    parser.add_argument("--version", action="version", version=f"fip, version {_version()}")
    top = parser.add_subparsers(dest="group", metavar="{extract}")
    extract = top.add_parser("extract", help="convert captures into images",
                             description="Convert captures into images.")
    commands = extract.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    for name, (_cls, image_options, _args, per_packet, text) in COMMANDS.items():
        sub = commands.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        for group_title, table in (("options", _EXTRACT_OPTIONS + _FLOW_OPTIONS),
                                   ("image options", image_options),
                                   ("flow selection", _SELECTION_OPTIONS),
                                   ("run options", _RUN_OPTIONS)):
            if not table:
                continue
            group = sub if group_title == "options" else sub.add_argument_group(group_title)
            for flags, kwargs in table:
                group.add_argument(*flags, **kwargs)
        sub.set_defaults(command=name)
    return parser, extract


# --------------------------------------------------------------------------------------------
# Jobs: one input file -> its images
# --------------------------------------------------------------------------------------------

class _Settings:
    """Everything a worker needs, fixed before the first file starts (shared, read-only)."""

    def __init__(self, ns, extractor, image_class):
        cls_name, _opts, arg_names, per_packet, _text = COMMANDS[ns.command]
        self.extractor = extractor
        self.per_packet = per_packet
        self.overwrite = ns.overwrite
        self.args = (ns.preprocessing_type, image_class, ns.min_image_dim, ns.max_image_dim,
                     ns.min_packets_per_flow, ns.max_packets_per_flow, ns.remove_duplicates)
        self.image_args = tuple(getattr(ns, name) for name in arg_names)
        self.image_kwargs = dict(zip(arg_names, self.image_args))
        self.png = (ns.png_level, PNG_FILTERS[ns.png_filter])   # save_png's level, filter
        self.threads = ns.num_threads
        self.packet_limit = ns.packet_limit
        from heifip import _core
        self.cancel = _core.Cancel()   # Ctrl-C: set by the main thread, read by workers and C
        # sessions: everything heifip.extract needs besides the path
        self.sessions = None
        if ns.split != "file" or ns.bpf:
            self.sessions = dict(
                image=image_class, split=ns.split, preprocessing=ns.preprocessing_type,
                min_image_dim=ns.min_image_dim, max_image_dim=ns.max_image_dim,
                min_packets=ns.min_packets_per_flow, max_packets=ns.max_packets_per_flow,
                bpf=ns.bpf, idle_timeout=ns.idle_timeout or None,
                active_timeout=ns.active_timeout or None, anonymize=ns.anonymize,
                seed=ns.seed, limit=ns.packet_limit if ns.split == "file" else 0,
                **self.image_kwargs)


class _Job:
    __slots__ = ("index", "path", "prefix", "explicit")

    def __init__(self, index, path, prefix, explicit):
        self.index = index          # position in the walk order
        self.path = path            # input file
        self.prefix = prefix        # output name without _processed.png (1.1.1's save_image prefix)
        self.explicit = explicit    # named by -r itself: must be a capture


class _Result:
    __slots__ = ("state", "images", "packets", "reason")

    def __init__(self, state, images=0, packets=0, reason=""):
        self.state = state
        self.images = images
        self.packets = packets
        self.reason = reason


def _is_complete(job, settings):
    """Whether an earlier run completed `job`.

    A file's images are written last to first, each atomically (job.h: hf_job_write_files), so
    its first image exists only once all of them do: ``<prefix>_00000_processed.png``, or for
    flow commands their single ``<prefix>_processed.png`` (the numbered form when a file yields
    several flow images).  Sessions (_convert_sessions): the manifest, written last.
    """
    prefix = job.prefix
    if settings.sessions is not None:
        return os.path.isfile(prefix + MANIFEST_SUFFIX)
    first = f"{prefix}_{INDEX_FORMAT.format(0)}{OUTPUT_SUFFIX}"
    if settings.per_packet:
        return os.path.isfile(first)
    return os.path.isfile(prefix + OUTPUT_SUFFIX) or os.path.isfile(first)


MANIFEST_SUFFIX = "_flows.tsv"
MANIFEST_COLUMNS = ("image", "flow", "protocol", "src", "sport", "dst", "dport", "packets",
                    "bytes", "first_timestamp_ns", "last_timestamp_ns", "end")


def _convert_sessions(job, settings):
    """--split session|flow (or --filter): one image per flow (or per packet of each flow),
    written as the flows complete, named ``<prefix>_<flow name>[_<k>]_processed.png`` -- the flow
    name (heifip.sessions.FlowMeta.name) holds the first record index and the endpoints, which are
    pseudonyms unless --anonymize keep.  A manifest ``<prefix>_flows.tsv`` (one line per image
    with the flow's metadata) is written last, atomically: it marks the file complete."""
    import heifip
    lines, packets, counts = [], 0, {}
    for image, meta in heifip.extract(job.path, **settings.sessions):
        if settings.cancel.is_set():
            return _Result(CANCELLED)
        k = counts.get(meta.index, 0)
        counts[meta.index] = k + 1
        if k == 0:
            packets += meta.packets
        name = f"{job.prefix}_{meta.name}"
        if settings.per_packet:
            name += "_" + INDEX_FORMAT.format(k)
        name += OUTPUT_SUFFIX
        if not lines:
            os.makedirs(os.path.dirname(job.prefix) or ".", exist_ok=True)
        heifip.save_png(image, name, *settings.png)
        lines.append("\t".join(str(v) for v in (
            os.path.basename(name), meta.index, meta.protocol_name, meta.src, meta.sport, meta.dst,
            meta.dport, meta.packets, meta.bytes, meta.first_timestamp_ns, meta.last_timestamp_ns,
            meta.end)))
    if lines or not os.path.exists(job.prefix + MANIFEST_SUFFIX):
        os.makedirs(os.path.dirname(job.prefix) or ".", exist_ok=True)
        temporary = f"{job.prefix}{MANIFEST_SUFFIX}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            f.write("\t".join(MANIFEST_COLUMNS) + "\n")
            f.writelines(line + "\n" for line in lines)
        os.replace(temporary, job.prefix + MANIFEST_SUFFIX)
    return _Result(CONVERTED, images=len(lines), packets=packets)


# Files per worker task (a chunk, see _chunks): one task costs ~40 us of ThreadPoolExecutor
# dispatch and GIL hand-overs, 4 % of a 1 ms file; 16 files make it a few tenths of a percent.
CHUNK_FILES = 16


def _chunks(jobs, settings):
    """The worker tasks of a run: consecutive jobs, up to CHUNK_FILES of them, shrinking towards
    the end (a quarter of what is left per thread) so that the threads finish together.  Whole
    files (--packet-limit 0) and sessions go one per task: their size is unknown."""
    if settings.sessions is not None or settings.packet_limit == 0:
        for job in jobs:
            yield [job]
        return
    start = 0
    while start < len(jobs):
        size = max(1, min(CHUNK_FILES, (len(jobs) - start) // (4 * settings.threads)))
        yield jobs[start:start + size]
        start += size


def _convert_files(jobs, settings):
    """Convert a chunk of files (on a worker thread): [(job, _Result)] in order.  The files
    that need converting go to _write_images (or _convert_sessions, one per chunk)."""
    import heifip
    results = {}
    todo = []
    for job in jobs:
        if settings.cancel.is_set():
            results[job.index] = _Result(CANCELLED)
            continue
        try:
            if not settings.overwrite and _is_complete(job, settings):
                results[job.index] = _Result(COMPLETE)
            elif not job.explicit and not heifip.is_capture(job.path):
                results[job.index] = _Result(NOT_CAPTURE, reason="not a capture")
            elif settings.sessions is not None:
                results[job.index] = _convert_sessions(job, settings)
            else:
                todo.append(job)
        except Exception as exc:  # every failure of one file is reported, never fatal for the run
            results[job.index] = _Result(FAILED, reason=_describe(exc))
    if todo:
        _write_images(todo, settings, results)
    return [(job, results[job.index]) for job in jobs]


def _write_images(jobs, settings, results):
    """Images of `jobs` (--split file) into their files, in one C call
    (FIPExtractor._write_image_files: read, render, convert as save_image does, encode, write
    each image atomically, a file's first image last); a _Result per job into `results`."""
    try:
        outcomes = settings.extractor._write_image_files(
            [(job.path, job.prefix) for job in jobs], settings.args[0], settings.args[1],
            settings.image_args, settings.args[2:6], settings.per_packet, settings.png,
            settings.cancel)
    except Exception as exc:   # arguments no file can be converted with
        outcomes = [exc] * len(jobs)
    for job, outcome in zip(jobs, outcomes):
        if outcome is None:
            results[job.index] = _Result(CANCELLED)
        elif isinstance(outcome, BaseException):
            results[job.index] = _Result(FAILED, reason=_describe(outcome))
        else:
            images, packets = outcome
            results[job.index] = _Result(CONVERTED, images=images, packets=packets)


def _describe(exc):
    text = str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror + (f": {exc.filename}" if exc.filename else "")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _walk(root, output_dir, errors):
    """Files below `root`, sorted per folder, not following symbolic links to folders (as
    os.walk in 1.1.1).  The output folder is pruned when it lies inside the input folder, so a
    rerun does not walk its own images.  Unlistable folders are appended to `errors`."""
    output_real = os.path.realpath(output_dir)

    def onerror(exc):
        errors.append((exc.filename or root, _describe(exc)))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
        dirnames[:] = sorted(d for d in dirnames
                             if os.path.realpath(os.path.join(dirpath, d)) != output_real)
        for name in sorted(filenames):
            yield os.path.join(dirpath, name)


def _plan(input_path, output_dir, errors):
    """The jobs of a run: the file itself, or every file of the folder tree."""
    if os.path.isdir(input_path):
        jobs = []
        for path in _walk(input_path, output_dir, errors):
            rel = os.path.relpath(path, input_path)
            jobs.append(_Job(len(jobs), path, os.path.join(output_dir, rel), False))
        return jobs
    return [_Job(0, input_path, os.path.join(output_dir, os.path.basename(input_path)), True)]


# --------------------------------------------------------------------------------------------
# Reporting: progress bar (stderr, only on a terminal), notes, summary
# --------------------------------------------------------------------------------------------

def _format_duration(seconds):
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class _Reporter:
    """Writes everything fip prints on stderr; only the main thread calls it."""

    def __init__(self, stream, total, quiet):
        self.stream = stream
        self.total = total
        self.quiet = quiet
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        self.bar = tty and not quiet
        self.start = time.monotonic()
        self.last_draw = 0.0
        self.drawn = False
        self.done = 0
        self.images = 0
        self.packets = 0
        self.warnings = []       # filled from any thread (list.append is atomic)
        self.warning_count = 0

    # warnings.showwarning replacement: worker threads call it; the main thread prints.
    def showwarning(self, message, category, filename, lineno, file=None, line=None):
        self.warnings.append(f"{category.__name__}: {message}")

    def _clear(self):
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.drawn = False

    def note(self, text, always=False):
        if self.quiet and not always:
            return
        self._clear()
        self.stream.write(f"fip: {text}\n")
        self.stream.flush()

    def flush_warnings(self):
        while self.warnings:
            self.warning_count += 1
            self.note("warning: " + self.warnings.pop(0))

    def advance(self, result):
        self.done += 1
        self.images += result.images
        self.packets += result.packets

    def draw(self, force=False):
        if not self.bar:
            return
        now = time.monotonic()
        if not force and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        if self.done and self.done < self.total:
            eta = "ETA " + _format_duration((self.total - self.done) / rate)
        elif self.done >= self.total:
            eta = "done"
        else:
            eta = "ETA ?"
        text = (f"{self.done}/{self.total} files  {self.packets} packets  {self.images} images  "
                f"{rate:.1f} files/s  {eta}")
        try:
            width = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            width = 0
        if width < 20:   # unknown or unset (a fresh pty reports 0 columns)
            width = 80
        bar_width = max(0, min(30, width - len(text) - 4))
        if bar_width >= 5 and self.total:
            filled = bar_width * self.done // self.total
            text = "[" + "#" * filled + "-" * (bar_width - filled) + "] " + text
        self.stream.write("\r" + text[:max(width - 1, 1)] + "\x1b[K")
        self.stream.flush()
        self.drawn = True

    def finish(self):
        self.draw(force=True)
        self._clear()
        self.stream.flush()


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------

def _run(ns, stdout, stderr):
    from heifip.extractor import FIPExtractor

    cls_name = COMMANDS[ns.command][0]
    image_class = _image_class(cls_name)

    if not ns.quiet:
        stdout.write("Starting FlowImageProcessor CLI\nExtract FlowImageProcessor CLI\n")
        stdout.flush()

    if not os.path.exists(ns.input_dir):
        stderr.write(f"fip: error: -r/--read: no such file or folder: {ns.input_dir}\n")
        return EXIT_USAGE

    walk_errors = []
    jobs = _plan(ns.input_dir, ns.output_dir, walk_errors)
    extractor = FIPExtractor(anonymize=ns.anonymize, seed=ns.seed, packet_limit=ns.packet_limit)
    settings = _Settings(ns, extractor, image_class)
    reporter = _Reporter(stderr, len(jobs), ns.quiet)
    results = {}
    interrupted = False

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = reporter.showwarning
        executor = ThreadPoolExecutor(max_workers=ns.num_threads, thread_name_prefix="fip")
        pending = set()   # futures of the chunks submitted and not yet reported
        try:
            queue = _chunks(jobs, settings)
            window = 4 * ns.num_threads   # bounded look-ahead: memory does not grow with the tree
            exhausted = False
            while True:
                while not exhausted and len(pending) < window:
                    chunk = next(queue, None)
                    if chunk is None:
                        exhausted = True
                        break
                    pending.add(executor.submit(_convert_files, chunk, settings))
                if not pending:
                    break
                finished, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                for future in finished:
                    pending.discard(future)
                    for job, result in future.result():
                        results[job.index] = result
                        reporter.advance(result)
                        if result.state == NOT_CAPTURE:
                            reporter.note(f"skipped {job.path}: {result.reason}")
                reporter.flush_warnings()
                reporter.draw()
        except KeyboardInterrupt:
            interrupted = True
            settings.cancel.set()
            reporter.note("interrupted: finishing the files being converted", always=True)
            try:
                executor.shutdown(wait=True, cancel_futures=True)
            except KeyboardInterrupt:   # a second Ctrl-C: leave now (every write is atomic)
                stderr.write("fip: interrupted\n")
                stderr.flush()
                os._exit(EXIT_INTERRUPTED)
            for future in pending:
                if future.done() and not future.cancelled():
                    results.update((job.index, result) for job, result in future.result())
        finally:
            executor.shutdown(wait=True)
            reporter.flush_warnings()
            reporter.finish()

    return _summarise(jobs, results, walk_errors, reporter, interrupted, stderr)


def _summarise(jobs, results, walk_errors, reporter, interrupted, stderr):
    counts = {CONVERTED: 0, COMPLETE: 0, NOT_CAPTURE: 0, FAILED: 0, CANCELLED: 0}
    images = 0
    failures = list(walk_errors)
    for job in jobs:
        result = results.get(job.index)
        state = result.state if result else CANCELLED
        counts[state] += 1
        if result:
            images += result.images
        if state == FAILED:
            failures.append((job.path, result.reason))
    elapsed = time.monotonic() - reporter.start
    parts = [f"{counts[CONVERTED]} converted ({_plural(images, 'image', 'images')})"]
    if counts[COMPLETE]:
        parts.append(f"{counts[COMPLETE]} already complete")
    if counts[NOT_CAPTURE]:
        parts.append(_plural(counts[NOT_CAPTURE], "not a capture", "not captures"))
    if reporter.warning_count:
        parts.append(_plural(reporter.warning_count, "warning", "warnings"))
    parts.append(f"{len(failures)} failed")
    if counts[CANCELLED] or interrupted:
        parts.append(f"{counts[CANCELLED]} not done (interrupted)")
    noun = "file" if len(jobs) == 1 else "files"
    reporter.note(f"{len(jobs)} {noun} in {elapsed:.1f} s: " + ", ".join(parts),
                  always=bool(failures) or interrupted)
    if failures:
        stderr.write(f"fip: {len(failures)} input{'s' if len(failures) != 1 else ''} failed:\n")
        for path, reason in failures:
            stderr.write(f"  {path}: {reason}\n")
        stderr.flush()
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failures else EXIT_OK


def _plural(count, one, many):
    return f"{count} {one if count == 1 else many}"


def _image_class(name):
    if name.startswith("Markov"):
        from heifip.images import markovchain as module
    elif name == "PacketImage":
        from heifip.images import packet as module
    elif name == "FlowImage":
        from heifip.images import flow as module
    elif name == "FlowImageTiledFixed":
        from heifip.images import flow_tiled_fixed as module
    else:
        from heifip.images import flow_tiled_auto as module
    return getattr(module, name)


def main(argv=None, prog=None):
    """Entry point of the ``fip`` console script and ``python -m heifip``; returns the exit status."""
    if prog is None:
        prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "fip"
        if prog in ("__main__.py", "-c", ""):
            prog = "fip"
    parser, extract = build_parser(prog)
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        ns = parser.parse_args(args)
    except SystemExit as exc:   # --help, --version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if ns.group is None:   # bare `fip` / `fip extract`: help, status 0 (as click 8.1 in 1.1.1)
        parser.print_help()
        return EXIT_OK
    if ns.command is None:
        extract.print_help()
        return EXIT_OK
    if ns.bpf is not None or ns.idle_timeout < 0 or ns.active_timeout < 0:
        problem = None
        if ns.idle_timeout < 0 or ns.active_timeout < 0:
            problem = "timeouts must not be negative"
        else:
            from heifip import _core
            from heifip.errors import FilterError
            try:
                _core.check_filter(ns.bpf)
            except FilterError as exc:
                problem = f"--filter: {exc}"
        if problem:
            extract.print_usage(sys.stderr)
            sys.stderr.write(f"{prog} extract: error: {problem}\n")
            return EXIT_USAGE
    try:
        return _run(ns, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        sys.stderr.write("\nfip: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
