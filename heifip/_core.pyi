"""Type stubs of heifip._core, the C binding (csrc/module.c)."""
from os import PathLike
from typing import Optional, Sequence, Tuple, Union

import numpy as np

StrPath = Union[str, bytes, PathLike]

PREPROCESS_NONE: int
PREPROCESS_HEADER: int
ANONYMIZE_RANDOM: int
ANONYMIZE_CONSISTENT: int
ANONYMIZE_ZERO: int
ANONYMIZE_KEEP: int
IMAGE_PACKET: int
IMAGE_FLOW: int
IMAGE_FLOW_TILED_FIXED: int
IMAGE_FLOW_TILED_AUTO: int
IMAGE_MARKOV_PACKET: int
IMAGE_MARKOV_FLOW: int
PNG_DEFAULT_LEVEL: int
PNG_DEFAULT_FILTER: int

class PacketList(Sequence[bytes]):
    """Per-packet byte strings of one source."""
    damage: Optional[Tuple[int, int, str]]
    has_keys: bool
    def __len__(self) -> int: ...
    def __getitem__(self, i: int) -> bytes: ...  # type: ignore[override]
    def key(self, i: int) -> bytes: ...
    def record_index(self, i: int) -> int: ...
    def select(self, indices: Sequence[int]) -> "PacketList": ...

def read_file(path: StrPath, mode: int = ..., anonymize: int = ..., seed: int = ...,
              limit: int = ..., collect_keys: bool = ...) -> PacketList: ...
def read_memory(data: bytes, mode: int = ..., anonymize: int = ..., seed: int = ...,
                limit: int = ..., collect_keys: bool = ...) -> PacketList: ...
def process_frames(frames: Sequence[Tuple[bytes, int]], mode: int = ..., anonymize: int = ...,
                   seed: int = ..., collect_keys: bool = ...) -> PacketList: ...
def render(packets: PacketList, kind: int, dim: int = ..., fill: int = ..., auto_dim: bool = ...,
           append: bool = ..., cols: int = ..., min_dim: int = ..., max_dim: int = ...,
           min_packets: int = ..., max_packets: int = ...) -> list[np.ndarray]: ...
def render_packets(packets: Sequence[bytes], kind: int, dim: int = ..., fill: int = ...,
                   auto_dim: bool = ..., append: bool = ..., cols: int = ...) -> np.ndarray: ...
Damage4 = Tuple[int, int, str, int]  # record_index, byte_offset, reason, packets read

def extract_file(path: StrPath, mode: int, anonymize: int, seed: int, limit: int, kind: int,
                 dim: int = ..., fill: int = ..., auto_dim: bool = ..., append: bool = ...,
                 cols: int = ..., min_dim: int = ..., max_dim: int = ..., min_packets: int = ...,
                 max_packets: int = ...) -> Tuple[list[np.ndarray], Optional[Damage4]]: ...
def extract_files(paths: Sequence[StrPath], mode: int, anonymize: int, seed: int, limit: int,
                  kind: int, dim: int = ..., fill: int = ..., auto_dim: bool = ...,
                  append: bool = ..., cols: int = ..., min_dim: int = ..., max_dim: int = ...,
                  min_packets: int = ..., max_packets: int = ..., threads: int = ...
                  ) -> list[Union[Tuple[list[np.ndarray], Optional[Damage4]], BaseException]]: ...
def write_file_images(items: Sequence[Tuple[StrPath, StrPath]], mode: int, anonymize: int,
                      seed: int, limit: int, kind: int, dim: int = ..., fill: int = ...,
                      auto_dim: bool = ..., append: bool = ..., cols: int = ..., min_dim: int = ...,
                      max_dim: int = ..., min_packets: int = ..., max_packets: int = ...,
                      numbered: bool = ..., level: int = ..., filter: int = ...,
                      cancel: Optional[Cancel] = ...
                      ) -> list[Union[Tuple[int, int, Optional[Damage4]], BaseException, None]]: ...
class Cancel:
    def set(self) -> None: ...
    def is_set(self) -> bool: ...
def write_pngs(items: Sequence[Tuple[StrPath, np.ndarray]], level: int = ..., filter: int = ...,
               threads: int = ...) -> list[Optional[BaseException]]: ...
def encode_png(image: np.ndarray, level: int = ..., filter: int = ...) -> bytes: ...
def write_png(path: StrPath, image: np.ndarray, level: int = ..., filter: int = ...) -> None: ...
def probe(path: StrPath) -> str: ...
def check_filter(expression: str) -> None: ...


class FlowInfo:
    """One completed flow, filled by the C core (base of heifip.sessions.FlowMeta)."""
    source: object
    family: int
    protocol: int
    sport: int
    dport: int
    first_timestamp_ns: int
    last_timestamp_ns: int
    packets: int
    bytes: int
    kept_packets: int
    first_record: int
    last_record: int
    index: int
    _src: bytes
    _dst: bytes
    end: str
    def __init__(self, source: object, values: tuple) -> None: ...

class FlowReader:
    damage: Optional[Tuple[int, int, str]]
    def __init__(self, path: StrPath, mode: int = ..., anonymize: int = ..., seed: int = ...,
                 split: int = ..., idle_timeout_ns: int = ..., active_timeout_ns: int = ...,
                 max_packets: int = ..., min_packets: int = ..., bytes_per_packet: int = ...,
                 max_memory_bytes: int = ..., keep_non_ip: bool = ..., bpf: Optional[str] = ...,
                 limit: int = ..., source: object = ..., meta_type: type = ...,
                 kind: int = ..., dim: int = ..., fill: int = ..., auto_dim: bool = ...,
                 append: bool = ..., cols: int = ..., min_dim: int = ...,
                 max_dim: int = ...) -> None: ...
    def __iter__(self) -> "FlowReader": ...
    # (PacketList, meta) per flow; with kind != 0, (array, meta) per image of each flow
    def __next__(self) -> Tuple[Union[PacketList, np.ndarray], FlowInfo]: ...

SPLIT_SESSION: int
SPLIT_FLOW: int
SPLIT_FILE: int
DEFAULT_IDLE_TIMEOUT_NS: int
DEFAULT_ACTIVE_TIMEOUT_NS: int
DEFAULT_MAX_MEMORY_BYTES: int
