"""Branch traces: the in-memory :class:`Trace`, the CBP2016 BT9 reader/writer, the compact format.

BT9 (CBP2016, Samsung): a text file (usually gzip) with a header of ``key: value`` lines, a
``BT9_NODES`` table (one line per static branch: id, virtual address, physical address, opcode,
size, ``class: TYPE+MODE+COND``), a ``BT9_EDGES`` table (id, source node, destination node,
``T``/``N``, virtual target, physical target, ``inst_cnt`` = non-branch instructions executed
after the branch until the next one), then ``BT9_EDGE_SEQUENCE``: one edge id per dynamic
branch, terminated by ``EOF``. The first edge leaves the dummy node 0 and is not a branch.

The compact format is a ``.npz`` file of five arrays (``pc`` uint64, ``target`` uint64, ``taken``
uint8, ``kind`` uint8, ``ninsn`` uint32) plus ``total_instructions`` and ``name``.
"""

from __future__ import annotations

import gzip
import io
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench._validation import error

__all__ = [
    "Trace", "TraceFormatError", "read_bt9", "write_bt9", "load_trace", "save_trace",
    "KIND_JMP", "KIND_CALL", "KIND_RET", "KIND_INDIRECT", "KIND_COND", "kind_from_class",
    "class_from_kind", "trace_dir",
]

#: branch kind code: bits 0-1 type (0 jump, 1 call, 2 return), bit 2 indirect, bit 3 conditional
KIND_JMP, KIND_CALL, KIND_RET = 0, 1, 2
KIND_INDIRECT = 4
KIND_COND = 8
_TYPES = {"JMP": KIND_JMP, "CALL": KIND_CALL, "RET": KIND_RET}
_TYPE_NAMES = {v: k for k, v in _TYPES.items()}
_ADDR_MASK = (1 << 62) - 1


class TraceFormatError(ValueError):
    """A trace file is truncated or corrupt; the message names the file and the byte offset."""


def kind_from_class(text: str) -> int:
    """Kind code of a BT9 class string such as ``"JMP+DIR+CND"``.

    >>> kind_from_class("JMP+DIR+CND"), kind_from_class("RET+IND+UCD")
    (8, 6)
    """
    parts = text.strip().split("+")
    if len(parts) != 3 or parts[0] not in _TYPES or parts[1] not in ("DIR", "IND") \
            or parts[2] not in ("CND", "UCD"):
        raise ValueError(f"branch class must be TYPE+MODE+COND (e.g. JMP+DIR+CND); got {text!r}")
    return _TYPES[parts[0]] | (KIND_INDIRECT if parts[1] == "IND" else 0) \
        | (KIND_COND if parts[2] == "CND" else 0)


def class_from_kind(kind: int) -> str:
    """Inverse of :func:`kind_from_class`."""
    return (f"{_TYPE_NAMES[kind & 3]}+{'IND' if kind & KIND_INDIRECT else 'DIR'}+"
            f"{'CND' if kind & KIND_COND else 'UCD'}")


def _check_fits(value: np.ndarray, dtype: Any, name: str) -> None:
    """Reject values that a cast to the unsigned ``dtype`` would wrap or truncate."""
    kind = value.dtype.kind
    if kind not in "biuf":
        raise error(name, f"an array of integers (stored as {np.dtype(dtype).name})",
                    f"dtype {value.dtype}", kind=TypeError, raw=True)
    if value.size == 0 or kind == "b":
        return
    if kind == "f" and not (np.all(np.isfinite(value)) and np.all(value == np.round(value))):
        raise error(name, "integer values", "non-integral or non-finite floats", raw=True)
    hi = np.iinfo(dtype).max
    lo_v, hi_v = value.min(), value.max()
    if lo_v < 0 or (kind == "f" and hi_v > float(hi)) or (kind != "f" and int(hi_v) > hi):
        raise error(name, f"values in [0, {hi}] (the {np.dtype(dtype).name} range)",
                    f"range [{lo_v}, {hi_v}]", raw=True)


@dataclass(frozen=True, repr=False, eq=False)
class Trace:
    """A dynamic branch trace as structure-of-arrays.

    Attributes
    ----------
    pc, target : ndarray of uint64, shape (n,)
        Branch address and taken-target address of each dynamic branch.
    taken : ndarray of uint8, shape (n,)
        1 if the branch was taken.
    kind : ndarray of uint8, shape (n,)
        Kind code (see ``KIND_*``); ``kind & KIND_COND`` marks conditional branches.
    ninsn : ndarray of uint32, shape (n,)
        Instructions attributed to the branch: itself plus the non-branch instructions that
        follow it until the next branch.
    total_instructions : int
        Instruction count of the run (the BT9 header's ``total_instruction_count``); MPKI is
        1000 * mispredictions / total_instructions, as in the CBP2016 driver.
    name : str
    """

    pc: np.ndarray
    target: np.ndarray
    taken: np.ndarray
    kind: np.ndarray
    ninsn: np.ndarray
    total_instructions: int
    name: str = "trace"

    def __post_init__(self) -> None:
        n = len(self.pc)
        for field, dtype in (("pc", np.uint64), ("target", np.uint64), ("taken", np.uint8),
                             ("kind", np.uint8), ("ninsn", np.uint32)):
            value = getattr(self, field)
            if not isinstance(value, np.ndarray) or value.ndim != 1 or len(value) != n:
                raise error(f"Trace.{field}", f"a 1-D array of length {n} (as pc)",
                            value)
            if value.dtype != dtype:
                _check_fits(value, dtype, f"Trace.{field}")
            object.__setattr__(self, field, np.ascontiguousarray(value, dtype=dtype))
        if self.taken.size and self.taken.max() > 1:
            raise error("Trace.taken", "0 or 1 everywhere", f"max {self.taken.max()}",
                        raw=True)
        total = self.total_instructions
        if isinstance(total, (bool, np.bool_)) or not isinstance(total, (int, np.integer)) \
                or int(total) < 0:
            raise error("Trace.total_instructions", "a non-negative int", total)
        object.__setattr__(self, "total_instructions", int(total))

    @property
    def n_branches(self) -> int:
        return int(self.pc.shape[0])

    @property
    def conditional(self) -> np.ndarray:
        """Boolean mask of conditional branches."""
        return (self.kind & KIND_COND) != 0

    @property
    def n_conditional(self) -> int:
        return int(np.count_nonzero(self.conditional))

    def __len__(self) -> int:
        return self.n_branches

    def __repr__(self) -> str:
        return (f"Trace(name={self.name!r}, branches={self.n_branches}, "
                f"conditional={self.n_conditional}, instructions={self.total_instructions})")

    def slice(self, start: int, stop: int) -> "Trace":
        """Sub-trace of branches ``start:stop``; instructions re-counted from ``ninsn``."""
        sl = slice(start, stop)
        ninsn = self.ninsn[sl]
        return Trace(self.pc[sl], self.target[sl], self.taken[sl], self.kind[sl], ninsn,
                     int(ninsn.sum(dtype=np.int64)), f"{self.name}[{start}:{stop}]")

    def kernel_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(pc int64, target int64, taken uint8, cond uint8) for the Numba kernels."""
        pc = (self.pc & np.uint64(_ADDR_MASK)).astype(np.int64)
        target = (self.target & np.uint64(_ADDR_MASK)).astype(np.int64)
        cond = ((self.kind & KIND_COND) != 0).astype(np.uint8)
        return pc, target, np.ascontiguousarray(self.taken), cond

    def equals(self, other: "Trace") -> bool:
        """Same arrays and instruction count (the name is ignored)."""
        return (self.total_instructions == other.total_instructions
                and all(np.array_equal(getattr(self, f), getattr(other, f))
                        for f in ("pc", "target", "taken", "kind", "ninsn")))


# ---------------------------------------------------------------------------------------------
# BT9 reading
# ---------------------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic != b"\x1f\x8b":
        return path.read_bytes()
    chunks = []
    with open(path, "rb") as raw:
        decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
        consumed = 0
        while True:
            block = raw.read(1 << 20)
            if not block:
                break
            try:
                chunks.append(decomp.decompress(block))
            except zlib.error as exc:
                raise TraceFormatError(
                    f"{path}: corrupt gzip data near compressed byte offset {consumed} ({exc})"
                ) from None
            consumed += len(block)
            while decomp.eof and decomp.unused_data:  # concatenated gzip members
                rest = decomp.unused_data
                decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
                chunks.append(decomp.decompress(rest))
        if not decomp.eof:
            produced = sum(len(c) for c in chunks)
            raise TraceFormatError(
                f"{path}: truncated gzip stream: compressed data ends at byte offset {consumed}"
                f" after {produced} decompressed bytes")
    return b"".join(chunks)


def _text_lines(data: bytes, start: int, stop: int):
    """Yield ``(file offset, decoded line)`` for each line of ``data[start:stop]``."""
    offset = start
    for raw in data[start:stop].split(b"\n"):
        yield offset, raw.decode("ascii", "replace")
        offset += len(raw) + 1


def _records(path: Path, data: bytes, start: int, stop: int, tag: str):
    """``(offset, line)`` of the ``tag`` records of one table section; blank and ``#`` lines
    and the section's own header line are skipped, anything else is an unknown record."""
    first = True
    for offset, line in _text_lines(data, start, stop):
        if first:   # the section label (BT9_NODES / BT9_EDGES)
            first = False
            continue
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.split(None, 1)[0] != tag:
            raise _bad(path, offset, f"unknown record {text[:60]!r} in the {tag} table "
                                     f"(expected {tag} lines, '#' comments or blank lines)")
        yield offset, line


def _bad(path: Path, offset: int, what: str) -> TraceFormatError:
    return TraceFormatError(f"{path}: {what} at byte offset {offset} (decompressed text)")


def read_bt9(path: str | os.PathLike, *, name: str | None = None) -> Trace:
    """Read a CBP2016 BT9 trace (plain text or gzip).

    Parameters
    ----------
    path : str or path-like
        ``*.bt9.trace.gz`` or plain text.
    name : str, optional
        Trace name (default: the file name without ``.bt9.trace.gz``).

    Returns
    -------
    Trace

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    TraceFormatError
        Truncated gzip data, a missing section or ``EOF`` marker, a malformed, duplicated or
        unknown record in the node/edge tables (negative instruction counts included), or an
        edge id out of range; the message gives the byte offset.
    """
    from ._kernels import _parse_edge_sequence

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"trace file not found: {path}")
    data = _read_bytes(path)
    if not data.startswith(b"BT9_SPA_TRACE_FORMAT"):
        raise _bad(path, 0, "missing BT9_SPA_TRACE_FORMAT magic line (not a BT9 trace)")
    seq_key = b"\nBT9_EDGE_SEQUENCE"
    seq_at = data.find(seq_key)
    nodes_at = data.find(b"\nBT9_NODES")
    edges_at = data.find(b"\nBT9_EDGES")
    for label, at in (("BT9_NODES", nodes_at), ("BT9_EDGES", edges_at),
                      ("BT9_EDGE_SEQUENCE", seq_at)):
        if at < 0:
            raise _bad(path, len(data), f"section {label} not found (file truncated?)")
    header: dict[str, str] = {}
    for line in data[:nodes_at].decode("ascii", "replace").splitlines()[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            header[key.strip()] = value.split("#", 1)[0].strip()
    total = header.get("total_instruction_count")
    if total is None or not total.isdigit():
        raise _bad(path, 0, "header lacks a numeric total_instruction_count")

    node_addr: dict[int, int] = {}
    node_kind: dict[int, int] = {}
    for line_offset, line in _records(path, data, nodes_at + 1, edges_at, "NODE"):
        fields = line.split()
        try:
            nid = int(fields[1])
            addr = int(fields[2], 0)
        except (IndexError, ValueError):
            raise _bad(path, line_offset, f"malformed NODE line {line[:60]!r}") from None
        if nid in node_addr:
            raise _bad(path, line_offset, f"duplicate NODE id {nid}")
        if "class:" in line:
            try:
                node_kind[nid] = kind_from_class(line.split("class:", 1)[1].split()[0])
            except (ValueError, IndexError):
                raise _bad(path, line_offset, f"malformed branch class in {line[:80]!r}") \
                    from None
        node_addr[nid] = addr
    edges = []
    edge_at: dict[int, int] = {}
    for line_offset, line in _records(path, data, edges_at + 1, seq_at, "EDGE"):
        fields = line.split()
        try:
            eid, src, dst = int(fields[1]), int(fields[2]), int(fields[3])
            tk = fields[4]
            tgt = int(fields[5], 0)
            icnt = int(fields[7])
            if tk not in ("T", "N") or src not in node_addr or dst not in node_addr \
                    or eid < 0 or icnt < 0:
                raise ValueError
        except (IndexError, ValueError):
            raise _bad(path, line_offset, f"malformed EDGE line {line[:70]!r}") from None
        if eid in edge_at:
            raise _bad(path, line_offset, f"duplicate EDGE id {eid}")
        edge_at[eid] = line_offset
        edges.append((eid, src, tk == "T", tgt, icnt))
    for eid, at in edge_at.items():
        if eid >= len(edges):   # ids are 0 .. n-1 (CBP2016 writes them in order)
            raise _bad(path, at, f"EDGE id {eid} out of range: the table has {len(edges)} edges")
    n_edges = len(edges)
    e_valid = np.zeros(n_edges, bool)
    e_pc = np.zeros(n_edges, np.uint64)
    e_target = np.zeros(n_edges, np.uint64)
    e_taken = np.zeros(n_edges, np.uint8)
    e_kind = np.zeros(n_edges, np.uint8)
    e_real = np.zeros(n_edges, bool)
    e_icnt = np.zeros(n_edges, np.int64)
    for eid, src, tk, tgt, icnt in edges:
        e_valid[eid] = True
        e_pc[eid] = node_addr[src] & ((1 << 64) - 1)
        e_target[eid] = tgt & ((1 << 64) - 1)
        e_taken[eid] = tk
        e_real[eid] = src in node_kind
        e_kind[eid] = node_kind.get(src, 0)
        e_icnt[eid] = icnt

    buf = np.frombuffer(data, dtype=np.uint8)
    start = seq_at + len(seq_key)
    capacity = int(np.count_nonzero(buf[start:] == 10)) + 1
    ids = np.empty(capacity, np.int64)
    count, status, where = _parse_edge_sequence(buf, start, ids)
    if status == 1:
        raise _bad(path, int(where), "edge sequence ends without the EOF marker (truncated file)")
    if status in (2, 3):
        raise _bad(path, int(where), "unexpected byte in the edge sequence")
    ids = ids[:count]
    if count and (ids.max() >= n_edges or not e_valid[ids].all()):
        bad = int(np.flatnonzero((ids >= n_edges) | ~e_valid[np.minimum(ids, n_edges - 1)])[0])
        raise _bad(path, start, f"edge sequence entry {bad} refers to unknown edge "
                                f"{int(ids[bad])} (the table has {n_edges} edges)")
    keep = e_real[ids]
    ids = ids[keep]
    trace_name = name if name is not None else path.name.split(".bt9")[0]
    return Trace(e_pc[ids], e_target[ids], e_taken[ids], e_kind[ids],
                 (e_icnt[ids] + 1).astype(np.uint32), int(total), trace_name)


# ---------------------------------------------------------------------------------------------
# BT9 writing
# ---------------------------------------------------------------------------------------------


def write_bt9(trace: Trace, path: str | os.PathLike) -> Path:
    """Write ``trace`` as BT9 text (gzip when the name ends in ``.gz``).

    Nodes are the distinct (pc, kind) pairs, edges the distinct (node, taken, target, following
    instruction count) tuples; physical addresses are written as ``-`` (unknown).
    Reading the file back with :func:`read_bt9` returns the same arrays.
    """
    if not isinstance(trace, Trace):
        raise error("trace", "a Trace", trace, kind=TypeError)
    path = Path(path)
    n = trace.n_branches
    node_key = np.stack([trace.pc, trace.kind.astype(np.uint64)], axis=1)
    nodes, node_of = np.unique(node_key, axis=0, return_inverse=True)
    node_of = node_of.reshape(-1) + 1  # node 0 is the dummy start node
    icnt = trace.ninsn.astype(np.int64) - 1
    if n and icnt.min() < 0:
        raise error("trace.ninsn", ">= 1 everywhere (the branch itself counts)",
                    f"minimum {trace.ninsn.min()}", raw=True)
    edge_key = np.stack([node_of.astype(np.uint64), trace.taken.astype(np.uint64),
                         trace.target, icnt.astype(np.uint64)], axis=1)
    edges, edge_of = np.unique(edge_key, axis=0, return_inverse=True)
    edge_of = edge_of.reshape(-1) + 1  # edge 0 is the dummy edge from node 0
    n_nodes = len(nodes) + 2
    end_node = n_nodes - 1
    dst = np.empty(n, np.int64)
    dst[:-1] = node_of[1:] if n else dst[:-1]
    if n:
        dst[-1] = end_node
    edge_dst = np.full(len(edges), end_node, np.int64)
    edge_dst[edge_of - 1] = dst  # any destination of that edge (informative only)
    out = io.StringIO()
    out.write("BT9_SPA_TRACE_FORMAT\nbt9_minor_version: 0\nhas_physical_address: 0\n")
    out.write(f"total_instruction_count: {trace.total_instructions}\n")
    out.write(f"branch_instruction_count: {n}\n")
    out.write(f"# written by workbench.branch from trace {trace.name!r}\n")
    out.write("BT9_NODES\n#NODE id virtual_address physical_address opcode size\n")
    out.write("NODE 0 0 - 0 0\n")
    for j, (pc, kind) in enumerate(nodes, start=1):
        out.write(f"NODE {j} {int(pc):#x} - 0 4 class: {class_from_kind(int(kind))}\n")
    out.write(f"NODE {end_node} 0xffffffffffffffff - 0 0\n")
    out.write("BT9_EDGES\n#EDGE id src_id dest_id taken br_virt_target br_phy_target inst_cnt\n")
    first = int(node_of[0]) if n else end_node
    out.write(f"EDGE 0 0 {first} N 0 - 0 traverse_cnt: 1\n")
    counts = np.bincount(edge_of, minlength=len(edges) + 1)
    for j, (src, tk, tgt, ic) in enumerate(edges, start=1):
        out.write(f"EDGE {j} {int(src)} {int(edge_dst[j - 1])} {'T' if tk else 'N'} "
                  f"{int(tgt):#x} - {int(ic)} traverse_cnt: {int(counts[j])}\n")
    out.write("BT9_EDGE_SEQUENCE\n0\n")
    text = out.getvalue().encode("ascii")
    body = ("\n".join(map(str, edge_of.tolist())) + ("\n" if n else "")).encode("ascii")
    tail = b"EOF\n"
    if path.suffix == ".gz":
        fh_ctx = gzip.open(path, "wb", compresslevel=3)
    else:
        fh_ctx = open(path, "wb")
    with fh_ctx as fh:
        fh.write(text)
        fh.write(body)
        fh.write(tail)
    return path


# ---------------------------------------------------------------------------------------------
# Compact format and dispatch on file type
# ---------------------------------------------------------------------------------------------


def save_trace(trace: Trace, path: str | os.PathLike) -> Path:
    """Save ``trace`` in the compact ``.npz`` format (compressed)."""
    if not isinstance(trace, Trace):
        raise error("trace", "a Trace", trace, kind=TypeError)
    path = Path(path)
    if path.suffix != ".npz":
        raise error("path", "a file name ending in .npz", str(path))
    np.savez_compressed(path, pc=trace.pc, target=trace.target, taken=trace.taken,
                        kind=trace.kind, ninsn=trace.ninsn,
                        total_instructions=np.int64(trace.total_instructions),
                        name=np.array(trace.name), format_version=np.int64(1))
    return path


def _load_npz(path: Path) -> Trace:
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = {"pc", "target", "taken", "kind", "ninsn", "total_instructions"} \
                - set(z.files)
            if missing:
                raise TraceFormatError(f"{path}: compact trace lacks arrays {sorted(missing)}")
            return Trace(z["pc"], z["target"], z["taken"], z["kind"], z["ninsn"],
                         int(z["total_instructions"]),
                         str(z["name"]) if "name" in z.files else path.stem)
    except TraceFormatError:
        raise
    except (OSError, ValueError, EOFError, zlib.error, KeyError, zipfile.BadZipFile) as exc:
        raise TraceFormatError(f"{path}: corrupt or truncated .npz trace ({exc})") from None


def load_trace(path: str | os.PathLike) -> Trace:
    """Load a trace: ``.npz`` (compact format) or BT9 (plain or gzip), by content.

    Relative paths that do not exist are also looked up in the trace directory
    (:func:`trace_dir`).
    """
    if isinstance(path, Trace):
        return path
    if not isinstance(path, (str, os.PathLike)):
        raise error("trace", "a Trace or a path to a trace file", path, kind=TypeError)
    p = Path(path)
    if not p.exists() and not p.is_absolute():
        alt = trace_dir() / p
        if alt.exists():
            p = alt
        else:
            for suffix in (".bt9.trace.gz", ".npz"):
                if (trace_dir() / (p.name + suffix)).exists():
                    p = trace_dir() / (p.name + suffix)
                    break
    if not p.is_file():
        raise FileNotFoundError(f"trace file not found: {path}")
    with open(p, "rb") as fh:
        magic = fh.read(4)
    if magic[:2] == b"PK":
        return _load_npz(p)
    return read_bt9(p)


def trace_dir() -> Path:
    """Directory of the CBP2016 traces: ``get_config()["trace_dir"]`` (env
    ``WORKBENCH_TRACE_DIR``); a relative path is taken relative to the repository root."""
    from workbench import get_config

    raw = Path(get_config()["trace_dir"])
    if raw.is_absolute():
        return raw
    repo_root = Path(__file__).resolve().parents[2]
    candidate = (repo_root / raw).resolve()
    if candidate.exists():
        return candidate
    return (Path.cwd() / raw).resolve()

