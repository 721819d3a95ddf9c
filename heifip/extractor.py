"""``heifip.extractor.FIPExtractor``: heifip 1.1.1's API on the C core.

Same methods, argument order and arrays as 1.1.1 (reference-semantics.md §4); the deliberate
differences are listed in docs/compat.md.  Python here only binds arguments, applies 1.1.1's
de-duplication set (§2.8) and raises warnings; reading, dissecting, preprocessing and rendering run
in C with the GIL released, so one extractor can be used from many threads.
"""
import errno
import operator
import os
import warnings

import numpy as np

from heifip import _core
from heifip.errors import CaptureDamageWarning
from heifip.exceptions import FIPWrongParameterException
from heifip.images import NetworkTrafficImage, bind_image_arguments, packet_bytes, render_arguments
from heifip.images.flow import FlowImage
from heifip.images.flow_tiled_auto import FlowImageTiledAuto
from heifip.images.flow_tiled_fixed import FlowImageTiledFixed
from heifip.images.markovchain import MarkovTransitionMatrixFlow, MarkovTransitionMatrixPacket
from heifip.images.packet import PacketImage
from heifip.layers import PacketProcessor, PacketProcessorType, preprocess_mode

IMAGE_TYPES = (PacketImage, FlowImage, FlowImageTiledFixed, FlowImageTiledAuto,
               MarkovTransitionMatrixFlow, MarkovTransitionMatrixPacket)

ANONYMIZE_MODES = {
    "random": _core.ANONYMIZE_RANDOM,          # 1.1.1: fresh random addresses per packet (seeded)
    "consistent": _core.ANONYMIZE_CONSISTENT,  # keyed pseudonyms, one per address for a whole run
    "zero": _core.ANONYMIZE_ZERO,              # every replaced address byte is 0x00
    "keep": _core.ANONYMIZE_KEEP,              # original addresses
}

#: Records 1.1.1 reads per file (``sniff(offline=file, count=64)``, quirk P7).
HEIFIP_PACKET_LIMIT = 64


def anonymize_mode(anonymize):
    try:
        return ANONYMIZE_MODES[anonymize]
    except (KeyError, TypeError):
        raise ValueError(f"anonymize must be one of {', '.join(map(repr, ANONYMIZE_MODES))}, "
                         f"not {anonymize!r}") from None


def checked_seed(seed):
    """A seed in [0, 2**64); None draws one from the operating system (1.1.1's unrepeatable
    behaviour, on request)."""
    if seed is None:
        import secrets
        return secrets.randbits(64)
    seed = operator.index(seed)
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"seed must be in [0, 2**64), not {seed}")
    return seed


def linktype_of(packet):
    """LINKTYPE_* of a scapy packet, from the class of its first layer (reference-semantics.md
    §4.6); raw frames without a link type are taken as Ethernet."""
    name = type(packet).__name__
    known = {"Ether": 1, "Dot3": 1, "IP": 228, "IPv6": 229, "CookedLinux": 113,
             "CookedLinuxV2": 276, "Loopback": 0}
    if name in known:
        return known[name]
    try:  # other scapy link layers: scapy's own table
        from scapy.config import conf
        return conf.l2types.layer2num[type(packet)]
    except Exception:
        raise TypeError(f"cannot tell the link type of a {name} packet; "
                        f"pass (bytes, linktype) tuples") from None


def frame_of(packet):
    """(bytes, linktype) for one element of create_image_from_packet's input."""
    if isinstance(packet, tuple) and len(packet) == 2:
        return packet_bytes(packet[0]), operator.index(packet[1])
    if isinstance(packet, (bytes, bytearray, memoryview)):
        return bytes(packet), 1
    inner = getattr(packet, "packet", None)  # a 1.1.1 FIPPacket
    scapy_packet = inner if inner is not None else packet
    return bytes(scapy_packet), linktype_of(scapy_packet)


class FIPExtractor:
    """heifip 1.1.1's extractor.

    Keyword arguments (ours; every method shares them):
      anonymize: "random" (default, 1.1.1's fresh random addresses per packet, reproducible from
        `seed`), "consistent" (keyed pseudonyms: one address, one pseudonym across the run),
        "zero" (address bytes 0x00) or "keep" (original addresses).
      seed: key of "random" and "consistent" (fixed default 0, so runs are reproducible;
        None draws a fresh seed, for 1.1.1's different-on-every-run behaviour).
      packet_limit: records create_image_from_file reads per file; 64 as 1.1.1 (P7);
        0 or None reads the whole file.
    """

    def __init__(self, anonymize="random", seed=0, packet_limit=HEIFIP_PACKET_LIMIT):
        self.anonymize = anonymize
        self._anonymize = anonymize_mode(anonymize)
        self.seed = checked_seed(seed)
        self.packet_limit = 0 if packet_limit is None else operator.index(packet_limit)
        if self.packet_limit < 0:
            raise ValueError(f"packet_limit must be >= 0 or None, not {packet_limit}")
        self.processor = PacketProcessor()
        self.images_created = []
        self._plans = {}   # _plan: call arguments -> what the C core is given

    # -- reading -------------------------------------------------------------------------------

    def _read_file(self, input_file, preprocessing_type):
        mode = preprocess_mode(preprocessing_type)
        path = os.fspath(input_file)
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        seen = self.processor.hash_dict
        packets = _core.read_file(path, mode, self._anonymize, self.seed, self.packet_limit,
                                  bool(seen))
        if packets.damage is not None:
            _warn_damage(path, packets.damage, stacklevel=4, count=len(packets))
        if seen:
            # 1.1.1's read_packets_file drops packets already in hash_dict but never adds (§2.8)
            packets = packets.select([i for i in range(len(packets)) if packets.key(i) not in seen])
        return packets

    def _read_packets(self, packets, preprocessing_type):
        mode = preprocess_mode(preprocessing_type)
        frames = [frame_of(p) for p in packets]
        processed = _core.process_frames(frames, mode, self._anonymize, self.seed, True)
        # 1.1.1's read_packets_packet: keep a packet only if its key is new, and remember it (P19)
        seen = self.processor.hash_dict
        kept = []
        for i in range(len(processed)):
            key = processed.key(i)
            if key not in seen:
                seen.add(key)
                kept.append(i)
        return processed.select(kept)

    def packets_from_file(self, input_file, preprocessing_type=PacketProcessorType.NONE):
        """The per-packet byte strings 1.1.1 builds its images from (``raw(fip.packet)``)."""
        return list(self._read_file(input_file, preprocessing_type))

    # -- 1.1.1 API -----------------------------------------------------------------------------

    def verify(self, image, min_image_dim: int, max_image_dim: int, remove_duplicates: bool):
        if image.shape[0] < min_image_dim or image.shape[1] < min_image_dim:
            return False
        if max_image_dim != 0 and (max_image_dim < image.shape[0] or max_image_dim < image.shape[1]):
            return False
        return True  # remove_duplicates has no effect, as in 1.1.1 (P20)

    def create_image_from_file(self, input_file, preprocessing_type=PacketProcessorType.NONE,
                               image_type=PacketImage, min_image_dim=0, max_image_dim=0,
                               min_packets_per_flow=0, max_packets_per_flow=0,
                               remove_duplicates=False, *args, **image_arguments):
        plan = self._plan(preprocessing_type, image_type, args, image_arguments,
                          (min_image_dim, max_image_dim, min_packets_per_flow, max_packets_per_flow))
        if plan is None or self.processor.hash_dict:
            # de-duplication against hash_dict, or limits that raise: 1.1.1's order of steps
            packets = self._read_file(input_file, preprocessing_type)
            return self._create_matrix(packets, image_type, self._bind(image_type, args,
                                                                       image_arguments),
                                       min_image_dim, max_image_dim, min_packets_per_flow,
                                       max_packets_per_flow)
        # One C call: read + render, GIL released, only the packets/bytes the image can use kept
        # (a directory is IsADirectoryError from C, as os.path.isdir made it before).
        mode, image = plan
        images, damage = _core.extract_file(input_file, mode, self._anonymize, self.seed,
                                            self.packet_limit, *image)
        if damage is not None:
            _warn_damage(os.fspath(input_file), damage, stacklevel=3)
        return images

    def create_images_from_files(self, input_files, preprocessing_type=PacketProcessorType.NONE,
                                 image_type=PacketImage, min_image_dim=0, max_image_dim=0,
                                 min_packets_per_flow=0, max_packets_per_flow=0,
                                 remove_duplicates=False, *args, threads=1, errors="raise",
                                 **image_arguments):
        """create_image_from_file for many files in one C call (ours, not in 1.1.1).

        Returns one list of arrays per file, in the order of `input_files`, each equal to what
        ``create_image_from_file(file, ...)`` returns.  All files are read and rendered with the
        GIL released, on `threads` C worker threads (1 = the calling thread); the results do not
        depend on `threads`.  Damage warnings are issued per file, in order, after the work.

        errors: "raise" (default) -- every file is processed, then the exception of the first
        failing file (in list order) is raised, as the loop of create_image_from_file calls would
        have raised it; "return" -- a failing file's exception object takes its place in the
        result list.  With a non-empty ``processor.hash_dict`` (de-duplication, §2.8) the files
        are processed one by one, in order, as by the loop.
        """
        if errors not in ("raise", "return"):
            raise ValueError(f"errors must be 'raise' or 'return', not {errors!r}")
        threads = operator.index(threads)
        if threads < 1:
            raise ValueError(f"threads must be >= 1, not {threads}")
        plan = self._plan(preprocessing_type, image_type, args, image_arguments,
                          (min_image_dim, max_image_dim, min_packets_per_flow, max_packets_per_flow))
        files = list(input_files)
        if plan is None or self.processor.hash_dict:
            results = []
            for f in files:
                try:
                    results.append(self.create_image_from_file(
                        f, preprocessing_type, image_type, min_image_dim, max_image_dim,
                        min_packets_per_flow, max_packets_per_flow, remove_duplicates, *args,
                        **image_arguments))
                except Exception as exc:
                    if errors == "raise":
                        raise
                    results.append(exc)
            return results
        mode, image = plan
        outcomes = _core.extract_files(files, mode, self._anonymize, self.seed, self.packet_limit,
                                       *image, threads)
        results = []
        for f, outcome in zip(files, outcomes):
            if isinstance(outcome, BaseException):
                if errors == "raise":
                    raise outcome
                results.append(outcome)
                continue
            images, damage = outcome
            if damage is not None:
                _warn_damage(os.fspath(f), damage, stacklevel=3)
            results.append(images)
        return results

    def _write_image_files(self, items, preprocessing_type, image_type, args, limits, numbered,
                           png, cancel):
        """fip's conversion (heifip/cli.py): for (capture, output prefix) items, the images
        create_image_from_file gives, each written as save_image writes it (job.h:
        hf_job_write_files), in one C call.  Per item (images, packets read), the exception, or
        None when `cancel` (a _core.Cancel) stopped the call first; damage warnings as
        create_image_from_file issues them.  Not for de-duplication (fip's extractor has an
        empty hash_dict) nor for limits that fail only after reading (fip's option types
        exclude them): ValueError."""
        plan = self._plan(preprocessing_type, image_type, args, {}, limits)
        if plan is None or self.processor.hash_dict:
            raise ValueError(f"no one-call conversion for the limits {limits} or with hash_dict")
        mode, image = plan
        outcomes = _core.write_file_images(items, mode, self._anonymize, self.seed,
                                           self.packet_limit, *image, numbered, *png, cancel)
        results = []
        for (path, _), outcome in zip(items, outcomes):
            if isinstance(outcome, tuple):
                images, packets, damage = outcome
                if damage is not None:
                    _warn_damage(os.fspath(path), damage, stacklevel=3)
                outcome = (images, packets)
            results.append(outcome)
        return results

    #: The name the heiFIP README uses.
    create_image = create_image_from_file

    def create_image_from_packet(self, packets, preprocessing_type=PacketProcessorType.NONE,
                                 image_type=PacketImage, min_image_dim=0, max_image_dim=0,
                                 min_packets_per_flow=0, max_packets_per_flow=0,
                                 remove_duplicates=False, *args, **image_arguments):
        bound = self._bind(image_type, args, image_arguments)
        processed = self._read_packets(packets, preprocessing_type)
        return self._create_matrix(processed, image_type, bound, min_image_dim, max_image_dim,
                                   min_packets_per_flow, max_packets_per_flow)

    def save_image(self, img, output_dir):
        """Write ``img`` to ``f"{output_dir}_processed.png"`` (8-bit grey), creating folders.
        Float arrays (Markov probabilities) are saved as uint8(trunc(255 * p)); the file appears
        atomically (temporary file + rename)."""
        path = f"{output_dir}_processed.png"
        os.makedirs(os.path.dirname(os.path.realpath(path)), exist_ok=True)
        save_png(img, path)

    def save_images(self, images, output_dirs, threads=1, errors="raise"):
        """save_image for many images in one C call (ours): image i goes to
        ``f"{output_dirs[i]}_processed.png"`` (folders created first).  Encoding and writing run
        with the GIL released on `threads` C threads.  errors: as save_pngs."""
        paths = [f"{d}_processed.png" for d in output_dirs]
        if len(paths) != len(images):
            raise ValueError(f"{len(images)} images but {len(paths)} output paths")
        for folder in {os.path.dirname(os.path.realpath(p)) for p in paths}:
            os.makedirs(folder, exist_ok=True)
        return save_pngs(list(zip(paths, images)), threads=threads, errors=errors)

    def convert(self, img, target_type_min, target_type_max, target_type):
        imin = img.min()
        imax = img.max()
        a = (target_type_max - target_type_min) / (imax - imin)
        b = target_type_max - a * imax
        return (a * img + b).astype(target_type)

    # -- internals -----------------------------------------------------------------------------

    def _plan(self, preprocessing_type, image_type, args, image_arguments, limits):
        """(mode, (kind, dim, fill, auto_dim, append, cols, min_dim, max_dim, min_packets,
        max_packets)) for the one-call path, or None when a limit cannot be converted (the
        caller then takes 1.1.1's order: read first, then fail on the limits).  Made once per
        distinct call -- the values and their types, so that 16, 16.0 and True never share a
        plan -- and remembered: on 64-packet files, binding and checking the arguments cost a
        tenth of the whole C work.  Errors are raised every time (never remembered)."""
        try:
            key = (preprocessing_type, image_type, args, *limits, type(preprocessing_type),
                   *map(type, args), *map(type, limits))
            if image_arguments:
                key += (*image_arguments.items(), *map(type, image_arguments.values()))
            plan = self._plans.get(key)
        except TypeError:   # unhashable arguments: plan every time
            key = plan = None
        if plan is not None:
            return plan or None
        bound = self._bind(image_type, args, image_arguments)
        image = (image_type._kind, bound.get("dim", 0), bound.get("fill", 0),
                 bound.get("auto_dim", False), bound.get("append", False), bound.get("cols", 0))
        fast = _fast_limits(*limits)
        plan = (preprocess_mode(preprocessing_type), image + fast) if fast is not None else False
        if key is not None:
            if len(self._plans) >= 64:
                self._plans.clear()
            self._plans[key] = plan
        return plan or None

    @staticmethod
    def _bind(image_type, args, image_arguments):
        if not (isinstance(image_type, type) and image_type in IMAGE_TYPES):
            raise FIPWrongParameterException(
                f"image_type must be one of {', '.join(t.__name__ for t in IMAGE_TYPES)}, "
                f"not {image_type!r}")
        return bind_image_arguments(image_type, args, image_arguments)

    @staticmethod
    def _create_matrix(packets, image_type, bound, min_image_dim, max_image_dim,
                       min_packets_per_flow, max_packets_per_flow):
        limits = {name: operator.index(value) for name, value in (
            ("min_dim", min_image_dim), ("max_dim", max_image_dim),
            ("min_packets", min_packets_per_flow), ("max_packets", max_packets_per_flow))}
        if limits["max_packets"] < 0:
            raise ValueError(f"max_packets_per_flow must be >= 0, not {max_packets_per_flow}")
        return _core.render(packets, image_type._kind, **render_arguments(bound), **limits)


def _fast_limits(min_image_dim, max_image_dim, min_packets_per_flow, max_packets_per_flow):
    """The four limits as ints for the one-call path, or None when converting them raises (then
    the caller takes 1.1.1's order: read first, then fail on the limits)."""
    try:
        limits = (operator.index(min_image_dim), operator.index(max_image_dim),
                  operator.index(min_packets_per_flow), operator.index(max_packets_per_flow))
    except TypeError:
        return None
    if limits[3] < 0 or min(limits) < -2 ** 63 or max(limits) >= 2 ** 63:
        return None
    return limits


def _warn_damage(path, damage, stacklevel, count=None):
    """CaptureDamageWarning for `damage` = (record, offset, reason[, packets read])."""
    record, reason = damage[0], damage[2]
    if count is None:
        count = damage[3]
    warnings.warn(CaptureDamageWarning(
        f"{path}: record {record}: {reason}; using the {count} packet(s) before it"),
        stacklevel=stacklevel)


def as_gray8(img):
    """The uint8 2-D array save_image writes: uint8 as is, floats as trunc(255 * p) clipped to
    0..255 (NaN -> 0), other integers that fit in 0..255 as is."""
    array = np.asarray(img)
    if array.ndim != 2:
        raise ValueError(f"can only save 2-D images, got shape {array.shape}")
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind == "f":
        return np.nan_to_num(np.clip(np.trunc(array * 255.0), 0, 255)).astype(np.uint8)
    if array.dtype.kind in "biu":
        if array.size and (array.min() < 0 or array.max() > 255):
            raise ValueError("integer image values must be within 0..255 to be saved as 8-bit")
        return array.astype(np.uint8)
    raise TypeError(f"cannot save an image of dtype {array.dtype}")


#: dtypes the C writer takes as they are (uint8; floats converted there exactly as as_gray8 does).
_C_GRAY8_DTYPES = frozenset((np.dtype(np.uint8), np.dtype(np.float64), np.dtype(np.float32)))


def save_png(img, path, level=None, filter=None):
    """Write ``img`` as an 8-bit greyscale PNG to exactly ``path``, atomically."""
    if not (type(img) is np.ndarray and img.ndim == 2 and img.dtype in _C_GRAY8_DTYPES):
        img = as_gray8(img)
    _core.write_png(os.fspath(path), img,
                    _core.PNG_DEFAULT_LEVEL if level is None else operator.index(level),
                    _core.PNG_DEFAULT_FILTER if filter is None else operator.index(filter))


def save_pngs(items, level=None, filter=None, threads=1, errors="raise"):
    """save_png for many ``(path, image)`` pairs in one C call (ours): conversion, encoding and
    the atomic writes run with the GIL released on `threads` C threads; the files do not depend
    on `threads`.  Returns a list with, per item in order, None (written) or -- with
    errors="return" -- the exception save_png would have raised.  errors="raise" (default):
    every item is attempted, then the first failure (in list order) is raised."""
    if errors not in ("raise", "return"):
        raise ValueError(f"errors must be 'raise' or 'return', not {errors!r}")
    threads = operator.index(threads)
    if threads < 1:
        raise ValueError(f"threads must be >= 1, not {threads}")
    pairs = []
    for item in items:
        path, img = item
        if not (type(img) is np.ndarray and img.ndim == 2 and img.dtype in _C_GRAY8_DTYPES):
            img = as_gray8(img)
        pairs.append((os.fspath(path), img))
    statuses = _core.write_pngs(
        pairs, _core.PNG_DEFAULT_LEVEL if level is None else operator.index(level),
        _core.PNG_DEFAULT_FILTER if filter is None else operator.index(filter), threads)
    if errors == "raise":
        for status in statuses:
            if status is not None:
                raise status
    return statuses


__all__ = ["FIPExtractor", "NetworkTrafficImage", "save_png", "save_pngs"]
