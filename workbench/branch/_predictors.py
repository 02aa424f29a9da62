"""Predictor registry: configuration from a storage budget, exact storage accounting, kernels.

Every predictor is described by a :class:`PredictorSpec` with

* ``configure(budget_bits, **overrides) -> dict``: the configuration used for a budget (the
  CBP2016 8 KB / 64 KB tracks have hand-picked presets following the published designs; other
  budgets are scaled), with user overrides applied;
* ``storage(cfg) -> (table_bits, register_bits)``: every bit of predictor state, split into
  tables and history/registers;
* ``run(arrays, cfg) -> pred``: the Numba kernel.

Budget rule (CBP2016): ``table_bits + register_bits <= budget_bits + 2048`` -- the championship
allows 2048 extra bits for histories -- and ``table_bits <= budget_bits``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from workbench._validation import error

__all__ = ["PREDICTORS", "PredictorSpec", "parse_budget", "HISTORY_ALLOWANCE_BITS",
           "configure", "storage_bits"]

HISTORY_ALLOWANCE_BITS = 2048
KB = 8 * 1024


def parse_budget(budget: Any, name: str = "budget") -> int:
    """Budget in bits from ``"8KB"``, ``"64KB"``, ``"2KB"``, ``"512B"`` or an int of bits.

    >>> parse_budget("8KB"), parse_budget(1000)
    (65536, 1000)
    """
    if isinstance(budget, (bool, np.bool_)):
        raise error(name, "a size such as '8KB' or an int number of bits", budget,
                    kind=TypeError)
    if isinstance(budget, (int, np.integer)):
        if budget <= 0:
            raise error(name, "a positive number of bits", budget)
        return int(budget)
    if isinstance(budget, str):
        text = budget.strip().upper()
        for suffix, scale in (("KB", KB), ("B", 8), ("BITS", 1)):
            if text.endswith(suffix):
                number = text[: -len(suffix)].strip()
                try:
                    value = float(number)
                except ValueError:
                    break
                if value > 0 and math.isfinite(value * scale):
                    return int(round(value * scale))
    raise error(name, "a size such as '8KB', '64KB', '512B' or a positive int of bits", budget,
                kind=TypeError if not isinstance(budget, str) else ValueError)


@dataclass(frozen=True)
class PredictorSpec:
    name: str
    description: str
    configure: Callable[..., dict]
    storage: Callable[[dict], tuple[int, int]]
    run: Callable[[tuple, dict], np.ndarray]


def _log2_floor(x: float) -> int:
    return int(math.floor(math.log2(x))) if x >= 1 else 0


def _apply(cfg: dict, overrides: dict, name: str) -> dict:
    for key, value in overrides.items():
        if key not in cfg:
            raise error(f"{name} option", f"one of {sorted(cfg)}", key)
        cfg[key] = value
    return cfg


# ---------------------------------------------------------------- bimodal


def _bimodal_cfg(budget_bits: int, **over: Any) -> dict:
    return _apply({"log_size": max(1, _log2_floor(budget_bits / 2)), "shift": 2, "init": 2},
                  over, "bimodal")


def _bimodal_storage(c: dict) -> tuple[int, int]:
    return (1 << c["log_size"]) * 2, 0


def _bimodal_run(a: tuple, c: dict) -> np.ndarray:
    from ._kernels import _bimodal

    pc, _, taken, cond = a
    return _bimodal(pc, taken, cond, int(c["log_size"]), int(c["shift"]), int(c["init"]))


# ---------------------------------------------------------------- gshare


def _gshare_cfg(budget_bits: int, **over: Any) -> dict:
    n = max(1, _log2_floor((budget_bits) / 2))
    return _apply({"log_size": n, "hist_len": n, "shift": 2, "init": 2}, over, "gshare")


def _gshare_storage(c: dict) -> tuple[int, int]:
    return (1 << c["log_size"]) * 2, c["hist_len"]


def _gshare_run(a: tuple, c: dict) -> np.ndarray:
    from ._kernels import _gshare

    pc, _, taken, cond = a
    return _gshare(pc, taken, cond, int(c["log_size"]), int(c["hist_len"]), int(c["shift"]),
                   int(c["init"]))


# ---------------------------------------------------------------- gselect / cachegrind


def _gselect_cfg(budget_bits: int, **over: Any) -> dict:
    n = max(2, _log2_floor(budget_bits / 2))
    return _apply({"pc_bits": n - n // 2, "hist_bits": n // 2, "shift": 2, "init": 2}, over,
                  "gselect")


def _cachegrind_cfg(budget_bits: int, **over: Any) -> dict:
    # valgrind 3.x cachegrind/cg_branchpred.c: N_HIST_BITS = N_IADD_BITS = 7,
    # N_IADDR_LO_ZERO_BITS = 0 on x86/amd64 (2 on arm64), counters auto-zeroed. Fixed size
    # (4 KB of counters), independent of the budget.
    return _apply({"pc_bits": 7, "hist_bits": 7, "shift": 0, "init": 0}, over, "cachegrind")


def _gselect_storage(c: dict) -> tuple[int, int]:
    return (1 << (c["pc_bits"] + c["hist_bits"])) * 2, c["hist_bits"]


def _gselect_run(a: tuple, c: dict) -> np.ndarray:
    from ._kernels import _gselect

    pc, _, taken, cond = a
    return _gselect(pc, taken, cond, int(c["pc_bits"]), int(c["hist_bits"]), int(c["shift"]),
                    int(c["init"]))


# ---------------------------------------------------------------- tournament


def _tournament_cfg(budget_bits: int, **over: Any) -> dict:
    m = max(1, _log2_floor(budget_bits) - 3)  # gshare 2^(m+1), bimodal 2^m, chooser 2^m
    return _apply({"log_global": m + 1, "hist_len": m + 1, "log_local": m, "log_chooser": m,
                   "shift": 2}, over, "tournament")


def _tournament_storage(c: dict) -> tuple[int, int]:
    return 2 * ((1 << c["log_global"]) + (1 << c["log_local"]) + (1 << c["log_chooser"])), \
        c["hist_len"]


def _tournament_run(a: tuple, c: dict) -> np.ndarray:
    from ._kernels import _tournament

    pc, _, taken, cond = a
    return _tournament(pc, taken, cond, int(c["log_global"]), int(c["hist_len"]),
                       int(c["log_local"]), int(c["log_chooser"]), int(c["shift"]))


# ---------------------------------------------------------------- perceptron


def _perceptron_cfg(budget_bits: int, **over: Any) -> dict:
    h = int(over.get("hist_len", 32 if budget_bits <= 8 * KB * 4 else 62))
    wb = int(over.get("weight_bits", 8))
    n = max(1, (budget_bits - h) // ((h + 1) * wb))
    return _apply({"n_perceptrons": n, "hist_len": h, "weight_bits": wb,
                   "theta": int(math.floor(1.93 * h + 14)), "shift": 2}, over, "perceptron")


def _perceptron_storage(c: dict) -> tuple[int, int]:
    return c["n_perceptrons"] * (c["hist_len"] + 1) * c["weight_bits"], c["hist_len"]


def _perceptron_run(a: tuple, c: dict) -> np.ndarray:
    from ._kernels import _perceptron

    pc, _, taken, cond = a
    return _perceptron(pc, taken, cond, int(c["n_perceptrons"]), int(c["hist_len"]),
                       int(c["weight_bits"]), int(c["theta"]), int(c["shift"]))


# ---------------------------------------------------------------- hashed perceptron

_HP_LENGTHS = (0, 3, 4, 6, 8, 10, 14, 19, 26, 36, 49, 67, 91, 125, 170, 232)


def _hashed_cfg(budget_bits: int, **over: Any) -> dict:
    n_tables = len(over.get("lengths", _HP_LENGTHS))
    wb = int(over.get("weight_bits", 8))
    log_table = max(1, _log2_floor(budget_bits / (n_tables * wb)))
    return _apply({"lengths": tuple(_HP_LENGTHS), "log_table": log_table, "weight_bits": wb,
                   "theta0": 10, "speed": 18, "shift": 2}, over, "hashed_perceptron")


def _hashed_storage(c: dict) -> tuple[int, int]:
    tables = len(c["lengths"]) * (1 << c["log_table"]) * c["weight_bits"]
    # global history (longest length), one folded register per table, theta (8 b), tc (6 b)
    regs = max(c["lengths"]) + len(c["lengths"]) * c["log_table"] + 8 + 6
    return tables, regs


def _hashed_run(a: tuple, c: dict) -> np.ndarray:
    from ._kernels import _hashed_perceptron

    pc, _, taken, cond = a
    return _hashed_perceptron(pc, taken, cond, np.asarray(c["lengths"], np.int64),
                              int(c["log_table"]), int(c["weight_bits"]), int(c["theta0"]),
                              int(c["speed"]), int(c["shift"]))


# ---------------------------------------------------------------- TAGE / TAGE-SC-L


def _geometric(n: int, lo: int, hi: int) -> tuple[int, ...]:
    if n == 1:
        return (lo,)
    out = []
    for k in range(n):
        v = int(round(lo * (hi / lo) ** (k / (n - 1))))
        out.append(max(v, out[-1] + 1) if out else v)
    return tuple(out)


_TAGE_PRESETS = {
    # 8 KB: 2^12 2-bit base + 8 tagged tables of 2^9 entries (3-bit ctr, 2-bit u, 7..10-bit tags)
    8 * KB: dict(log_base=12, log_tables=(9,) * 8, tag_bits=(7, 7, 8, 8, 9, 9, 10, 10),
                 hist_lens=_geometric(8, 4, 160)),
    # 64 KB: 2^13 base + 15 tagged tables of 2^11 entries, 8..15-bit tags, histories 5..800
    64 * KB: dict(log_base=13, log_tables=(11,) * 15,
                  tag_bits=(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15),
                  hist_lens=_geometric(15, 5, 800)),
}

_TSCL_PRESETS = {
    8 * KB: dict(log_base=11, log_tables=(9,) * 7, tag_bits=(7, 7, 8, 8, 9, 9, 10),
                 hist_lens=_geometric(7, 4, 200), loop_log=4, sc_lengths=(4, 10, 20),
                 sc_log=8, sc_bias_log=8, local_log=6, local_hist_len=11,
                 sc_local_lengths=(4, 11)),
    64 * KB: dict(log_base=13, log_tables=(11,) * 13,
                  tag_bits=(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14),
                  hist_lens=_geometric(13, 6, 1000), loop_log=6, sc_lengths=(8, 16, 32, 64),
                  sc_log=10, sc_bias_log=10, local_log=8, local_hist_len=16,
                  sc_local_lengths=(6, 11, 16)),
}

_TAGE_COMMON = dict(u_bits=2, u_reset_period=1 << 18, path_bits=16, shift=2, seed=12345)
_LOOP_COMMON = dict(loop_iter_bits=10, loop_conf_max=7)
_SC_COMMON = dict(sc_ctr_bits=6)


def _tage_like_cfg(presets: dict, budget_bits: int, over: dict, name: str, extra: dict) -> dict:
    key = 8 * KB if budget_bits < 64 * KB else 64 * KB
    cfg = dict(presets[key])
    cfg.update(_TAGE_COMMON)
    cfg.update(extra)
    if budget_bits != key:  # scale every table by a power of two towards the budget
        spec = _TAGE_SPEC if name == "tage" else _TSCL_SPEC_FN()
        step = 0
        while True:
            trial = _shift_sizes(cfg, step + 1)
            if sum(spec.storage(trial)) > budget_bits + HISTORY_ALLOWANCE_BITS \
                    or spec.storage(trial)[0] > budget_bits or step > 6:
                break
            step += 1
        while step > -8:
            trial = _shift_sizes(cfg, step)
            if sum(spec.storage(trial)) <= budget_bits + HISTORY_ALLOWANCE_BITS \
                    and spec.storage(trial)[0] <= budget_bits:
                break
            step -= 1
        cfg = _shift_sizes(cfg, step)
    return _apply(cfg, over, name)


def _shift_sizes(cfg: dict, step: int) -> dict:
    out = dict(cfg)
    out["log_base"] = max(2, cfg["log_base"] + step)
    out["log_tables"] = tuple(max(2, v + step) for v in cfg["log_tables"])
    for key in ("sc_log", "sc_bias_log", "local_log"):
        if key in cfg:
            out[key] = max(3, cfg[key] + step)
    return out


def _tage_table_bits(c: dict) -> int:
    bits = (1 << c["log_base"]) * 2
    for lg, tb in zip(c["log_tables"], c["tag_bits"]):
        bits += (1 << lg) * (3 + c["u_bits"] + tb)
    return bits


def _tage_reg_bits(c: dict, sc_lengths: tuple = ()) -> int:
    longest = max(tuple(c["hist_lens"]) + tuple(sc_lengths))
    folds = sum(lg + 2 * tb - 1 for lg, tb in zip(c["log_tables"], c["tag_bits"]))
    # global history, folded registers, path history, use-alt (4 b), u-reset tick (log2 period)
    return longest + folds + c["path_bits"] + 4 + int(math.log2(c["u_reset_period"])) + 1


def _tage_cfg(budget_bits: int, **over: Any) -> dict:
    return _tage_like_cfg(_TAGE_PRESETS, budget_bits, over, "tage", {})


def _tage_storage(c: dict) -> tuple[int, int]:
    return _tage_table_bits(c), _tage_reg_bits(c)


_EMPTY = np.zeros(0, np.int64)


def _tage_kernel_args(c: dict) -> tuple:
    return (int(c["log_base"]), np.asarray(c["hist_lens"], np.int64),
            np.asarray(c["log_tables"], np.int64), np.asarray(c["tag_bits"], np.int64),
            int(c["u_bits"]), int(c["u_reset_period"]), int(c["path_bits"]), int(c["shift"]),
            int(c["seed"]))


def _tage_run(a: tuple, c: dict) -> np.ndarray:
    from ._kernels import _tage_scl

    pc, target, taken, cond = a
    return _tage_scl(pc, target, taken, cond, *_tage_kernel_args(c),
                     False, 2, 10, 7, False, _EMPTY, 3, 6, 3, 3, 1, _EMPTY)


def _tscl_cfg(budget_bits: int, **over: Any) -> dict:
    extra = dict(_LOOP_COMMON)
    extra.update(_SC_COMMON)
    return _tage_like_cfg(_TSCL_PRESETS, budget_bits, over, "tage_sc_l", extra)


def _tscl_storage(c: dict) -> tuple[int, int]:
    tables = _tage_table_bits(c)
    # loop entry: 10-bit tag, past and current iteration counts, 3-bit confidence, 3-bit age,
    # direction bit
    loop_entry = 10 + 2 * c["loop_iter_bits"] + 3 + 3 + 1
    tables += (1 << c["loop_log"]) * loop_entry
    sc = 2 * (1 << c["sc_bias_log"]) * c["sc_ctr_bits"]
    sc += len(c["sc_lengths"]) * (1 << c["sc_log"]) * c["sc_ctr_bits"]
    sc += len(c["sc_local_lengths"]) * (1 << c["sc_log"]) * c["sc_ctr_bits"]
    sc += (1 << c["local_log"]) * c["local_hist_len"]
    tables += sc
    regs = _tage_reg_bits(c, tuple(c["sc_lengths"]))
    regs += len(c["sc_lengths"]) * c["sc_log"] + 7 + 2 * 7 + 8 + 6  # folds, with-loop,
    return tables, regs  # two SC choosers, SC threshold and its counter


def _tscl_run(a: tuple, c: dict) -> np.ndarray:
    from ._kernels import _tage_scl

    pc, target, taken, cond = a
    return _tage_scl(pc, target, taken, cond, *_tage_kernel_args(c),
                     True, int(c["loop_log"]), int(c["loop_iter_bits"]),
                     int(c["loop_conf_max"]), True, np.asarray(c["sc_lengths"], np.int64),
                     int(c["sc_log"]), int(c["sc_ctr_bits"]), int(c["sc_bias_log"]),
                     int(c["local_log"]), int(c["local_hist_len"]),
                     np.asarray(c["sc_local_lengths"], np.int64))


_TAGE_SPEC = PredictorSpec("tage", "TAGE (Seznec & Michaud 2006)", _tage_cfg, _tage_storage,
                           _tage_run)


def _TSCL_SPEC_FN() -> PredictorSpec:
    return PREDICTORS["tage_sc_l"]


PREDICTORS: dict[str, PredictorSpec] = {
    "bimodal": PredictorSpec("bimodal", "2-bit counters indexed by PC (Smith 1981)",
                             _bimodal_cfg, _bimodal_storage, _bimodal_run),
    "gshare": PredictorSpec("gshare", "2-bit counters indexed by PC xor global history "
                            "(McFarling 1993)", _gshare_cfg, _gshare_storage, _gshare_run),
    "gselect": PredictorSpec("gselect", "2-bit counters indexed by global history "
                             "concatenated with PC bits (Pan, So & Rahmeh 1992)", _gselect_cfg,
                             _gselect_storage, _gselect_run),
    "cachegrind": PredictorSpec("cachegrind", "valgrind's cachegrind/callgrind --branch-sim "
                                "predictor: 16K 2-bit counters, 7 history bits above 7 PC bits",
                                _cachegrind_cfg, _gselect_storage, _gselect_run),
    "tournament": PredictorSpec("tournament", "gshare + bimodal + per-PC chooser "
                                "(McFarling 1993)", _tournament_cfg, _tournament_storage,
                                _tournament_run),
    "perceptron": PredictorSpec("perceptron", "global-history perceptron (Jimenez & Lin 2001)",
                                _perceptron_cfg, _perceptron_storage, _perceptron_run),
    "hashed_perceptron": PredictorSpec("hashed_perceptron", "16-table hashed perceptron, "
                                       "geometric histories (Tarjan & Skadron 2005)",
                                       _hashed_cfg, _hashed_storage, _hashed_run),
    "tage": _TAGE_SPEC,
    "tage_sc_l": PredictorSpec("tage_sc_l", "TAGE + loop predictor + statistical corrector "
                               "(after Seznec, CBP2016)", _tscl_cfg, _tscl_storage, _tscl_run),
}


def configure(predictor: str, budget: Any = "8KB", **overrides: Any) -> tuple[dict, int]:
    """Configuration and budget in bits of ``predictor`` at ``budget`` (validated)."""
    from workbench._validation import check_options

    if not isinstance(predictor, str):
        raise error("predictor", "a predictor name (str)", predictor, kind=TypeError)
    check_options(predictor, PREDICTORS, "predictor")
    bits = parse_budget(budget)
    spec = PREDICTORS[predictor]
    cfg = spec.configure(bits, **overrides)
    try:
        _check_cfg(predictor, cfg)
    except ValueError as exc:
        named = str(exc).split(" must ", 1)[0]
        if any(key in named for key in overrides):
            raise
        # a parameter derived from the budget is out of range: the budget is what to change
        raise error("budget", f"a size that {predictor} can scale its tables to (the derived "
                    f"configuration fails: {exc})", f"{budget!r} = {bits} bits",
                    raw=True) from None
    tables, regs = spec.storage(cfg)
    if tables > bits or tables + regs > bits + HISTORY_ALLOWANCE_BITS:
        raise error("budget", f"at least the {tables + regs} bits ({tables} table + {regs} "
                    f"history/register bits, with {HISTORY_ALLOWANCE_BITS} history bits "
                    f"allowed on top) that {predictor} needs with {overrides or 'its defaults'}",
                    f"{budget!r} = {bits} bits", raw=True)
    return cfg, bits


def _check_cfg(predictor: str, cfg: dict) -> None:
    for key, value in cfg.items():
        if isinstance(value, tuple):
            if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                       and v >= 0 for v in value):
                raise error(key, "a tuple of non-negative ints", value)
        elif isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise error(key, "an int", value, kind=TypeError)
        elif value < 0:
            raise error(key, "non-negative", value)
    for key in ("log_size", "log_global", "log_local", "log_chooser", "log_table", "log_base"):
        if key in cfg and not 1 <= cfg[key] <= 30:
            raise error(key, "in [1, 30]", cfg[key])
    if "init" in cfg and not 0 <= cfg["init"] <= 3:
        raise error("init", "a 2-bit counter value in [0, 3]", cfg["init"])
    if "pc_bits" in cfg and not (1 <= cfg["pc_bits"] and 1 <= cfg["hist_bits"]
                                 and cfg["pc_bits"] + cfg["hist_bits"] <= 30):
        raise error("pc_bits + hist_bits", "in [2, 30] with each >= 1",
                    (cfg["pc_bits"], cfg["hist_bits"]))
    if "hist_len" in cfg and not (1 <= cfg["hist_len"] <= 62 or predictor == "perceptron"):
        raise error("hist_len", "in [1, 62]", cfg["hist_len"])
    if "weight_bits" in cfg and not 2 <= cfg["weight_bits"] <= 16:
        raise error("weight_bits", "in [2, 16]", cfg["weight_bits"])
    if "tag_bits" in cfg:
        n = len(cfg["hist_lens"])
        if len(cfg["tag_bits"]) != n or len(cfg["log_tables"]) != n or n == 0:
            raise error("hist_lens, tag_bits and log_tables", "non-empty and of equal length",
                        f"{len(cfg['hist_lens'])}, {len(cfg['tag_bits'])}, "
                        f"{len(cfg['log_tables'])}", raw=True)
        if any(not 2 <= t <= 30 for t in cfg["tag_bits"]):
            raise error("tag_bits", "in [2, 30] each", cfg["tag_bits"])
        if any(not 1 <= h <= 4000 for h in cfg["hist_lens"]):
            raise error("hist_lens", "in [1, 4000] each", cfg["hist_lens"])
    if predictor == "perceptron" and not 1 <= cfg["hist_len"] <= 1024:
        raise error("hist_len", "in [1, 1024]", cfg["hist_len"])
    if predictor == "perceptron" and not 1 <= cfg["n_perceptrons"] <= 1 << 30:
        raise error("n_perceptrons", "in [1, 2**30]", cfg["n_perceptrons"])


def storage_bits(predictor: str, cfg: dict) -> tuple[int, int]:
    """(table bits, history/register bits) of ``predictor`` with configuration ``cfg``."""
    return PREDICTORS[predictor].storage(cfg)
