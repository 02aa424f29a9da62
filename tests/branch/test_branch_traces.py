"""BT9 reader/writer, compact format, bad-input errors."""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from workbench.branch import (Trace, TraceFormatError, load_trace, read_bt9, save_trace,
                              trace_dir, write_bt9)


def _cbp(name):
    path = trace_dir() / f"{name}.bt9.trace.gz"
    if not path.exists():
        pytest.skip(f"CBP2016 trace {path} not found (set WORKBENCH_TRACE_DIR to the directory "
                    "of the BT9 traces)")
    return path


def test_read_small_cbp_trace_matches_header():
    path = _cbp("SHORT_MOBILE-27")
    t = read_bt9(path)
    assert t.total_instructions == 220814
    # header: 4005 branches including the dummy first edge
    assert t.n_branches == 4004
    assert t.n_conditional == 3701
    # every dynamic branch attributes itself + its following instructions
    assert abs(int(t.ninsn.sum()) - t.total_instructions) < 10
    # node table: the bne at 0x10150 was taken 2800 times and not taken 400 times
    sel = t.pc == 0x10150
    assert int(t.taken[sel].sum()) == 2800 and int((1 - t.taken[sel]).sum()) == 400


@pytest.mark.parametrize("name", ["SHORT_MOBILE-27",
                                  pytest.param("SHORT_MOBILE-25", marks=pytest.mark.slow)])
def test_bt9_and_npz_round_trip(tmp_path, name):
    t = read_bt9(_cbp(name))
    back = read_bt9(write_bt9(t, tmp_path / "x.bt9.trace.gz"))
    assert back.equals(t)
    plain = read_bt9(write_bt9(t, tmp_path / "x.bt9.trace"))
    assert plain.equals(t)
    z = load_trace(save_trace(t, tmp_path / "x.npz"))
    assert z.equals(t) and z.name == t.name
    assert load_trace(tmp_path / "x.bt9.trace.gz").equals(t)


def _small_bt9(tmp_path, name="s.bt9.trace"):
    rng = np.random.default_rng(0)
    n = 50
    t = Trace(np.full(n, 0x1000, np.uint64), np.full(n, 0x2000, np.uint64),
              rng.integers(0, 2, n).astype(np.uint8), np.full(n, 8, np.uint8),
              np.full(n, 3, np.uint32), 150, "s")
    return write_bt9(t, tmp_path / name), t


def test_truncated_gzip_names_offset(tmp_path):
    path, _ = _small_bt9(tmp_path, "s.bt9.trace.gz")
    data = path.read_bytes()
    cut = tmp_path / "cut.bt9.trace.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(TraceFormatError, match=r"truncated gzip stream.*byte offset \d+"):
        read_bt9(cut)


def test_missing_eof_marker(tmp_path):
    path, _ = _small_bt9(tmp_path)
    text = path.read_bytes().replace(b"EOF\n", b"")
    path.write_bytes(text)
    with pytest.raises(TraceFormatError, match="without the EOF marker.*byte offset"):
        read_bt9(path)


def test_corrupt_sequence_byte_and_unknown_edge(tmp_path):
    path, _ = _small_bt9(tmp_path)
    raw = path.read_bytes()
    at = raw.index(b"BT9_EDGE_SEQUENCE\n0\n") + len(b"BT9_EDGE_SEQUENCE\n0\n")
    bad = raw[:at] + b"1x\n" + raw[at:]
    path.write_bytes(bad)
    with pytest.raises(TraceFormatError, match=f"unexpected byte.*byte offset {at + 1} "):
        read_bt9(path)
    path.write_bytes(raw[:at] + b"999\n" + raw[at:])
    with pytest.raises(TraceFormatError, match="unknown edge 999"):
        read_bt9(path)


def test_not_a_trace_and_missing_file(tmp_path):
    junk = tmp_path / "junk.bt9.trace"
    junk.write_text("hello\n")
    with pytest.raises(TraceFormatError, match="not a BT9 trace"):
        read_bt9(junk)
    with pytest.raises(FileNotFoundError):
        load_trace(tmp_path / "nope.npz")
    bad_npz = tmp_path / "b.npz"
    np.savez(bad_npz, pc=np.zeros(2, np.uint64))
    with pytest.raises(TraceFormatError, match="lacks arrays"):
        load_trace(bad_npz)
    trunc = tmp_path / "t.npz"
    _, t = _small_bt9(tmp_path)
    save_trace(t, trunc)
    trunc.write_bytes(trunc.read_bytes()[:100])
    with pytest.raises(TraceFormatError, match="corrupt or truncated"):
        load_trace(trunc)


def test_trace_validation():
    with pytest.raises(ValueError, match="Trace.taken must be a 1-D array of length 2"):
        Trace(np.zeros(2), np.zeros(2), np.zeros(3), np.zeros(2), np.ones(2), 2)
    with pytest.raises(ValueError, match="Trace.taken must be 0 or 1"):
        Trace(np.zeros(2), np.zeros(2), np.array([0, 2]), np.zeros(2), np.ones(2), 2)
    with pytest.raises(ValueError, match="path must be a file name ending in .npz"):
        save_trace(Trace(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), np.ones(1), 1),
                   "x.txt")


def test_trace_dir_from_environment(monkeypatch, tmp_path):
    from workbench import config_context

    with config_context(trace_dir=str(tmp_path)):
        assert trace_dir() == tmp_path
    with config_context(trace_dir="../shared/data/cbp2016"):
        assert trace_dir().is_absolute()
