"""Sweep declarations: points, stable ids, and one-line errors naming the field."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from workbench.sweep import Sweep, SweepSpecError, load, point_id

ROOT = Path(__file__).resolve().parents[3]
TARGET = "workbench.sweep.examples:noisy_quadratic"


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(textwrap.dedent(body))
    return path


def test_points_cross_grid_zip_random_and_seeds():
    sweep = Sweep(name="s", target=TARGET, fixed={"scale": 2.0},
                  grid={"x": [0.0, 1.0, 2.0]}, zip={"a": [1, 2], "b": ["p", "q"]},
                  random={"n_draws": 2, "noise": {"dist": "loguniform", "low": 1e-3,
                                                  "high": 1e-1}},
                  seeds={"count": 2, "base": 5, "param": "random_state"})
    points = sweep.points()
    assert len(points) == 3 * 2 * 2 * 2
    assert len({p.point_id for p in points}) == len(points)
    assert {(p.params["a"], p.params["b"]) for p in points} == {(1, "p"), (2, "q")}
    assert all(1e-3 <= p.params["noise"] <= 1e-1 and p.params["scale"] == 2.0 for p in points)
    # deterministic: the same declaration gives the same points and ids
    again = Sweep(**{k: getattr(sweep, k) for k in ("name", "target", "fixed", "grid", "zip",
                                                     "random", "seeds")})
    assert [p.point_id for p in again.points()] == [p.point_id for p in points]
    assert [p.params for p in again.points()] == [p.params for p in points]


def test_point_id_is_canonical():
    assert point_id(TARGET, {"x": 1.0, "y": 2}) == point_id(TARGET, {"y": 2, "x": 1.0})
    assert point_id(TARGET, {"x": 1.0}) != point_id(TARGET, {"x": 1})
    assert point_id(TARGET, {"x": 1.0}) != point_id("other.mod:f", {"x": 1.0})


def test_explicit_seed_values():
    sweep = Sweep(name="s", target=TARGET, grid={"x": [1.0]},
                  seeds={"values": [3, 4], "param": "random_state"})
    assert [p.params["random_state"] for p in sweep.points()] == [3, 4]


def test_load_toml(tmp_path):
    path = _write(tmp_path, f"""
        [sweep]
        name = "ok"
        target = "{TARGET}"
        [grid]
        x = [1.0, 2.0]
        [seeds]
        count = 3
    """)
    sweep = load(path)
    assert len(sweep.points()) == 6 and sweep.source == str(path)
    assert len(load(ROOT / "sims" / "toy_pi.toml").points()) == 32


@pytest.mark.parametrize("body, field", [
    ('[sweep]\nname = "x"\ntarget = "no_such_module:f"\n', "sweep.target"),
    ('[sweep]\nname = "x"\ntarget = "workbench.sweep.examples:nope"\n', "sweep.target"),
    ('[sweep]\nname = "x"\ntarget = "nocolon"\n', "sweep.target"),
    ('[sweep]\nname = "x"\n', "sweep.target"),
    ('[sweep]\ntarget = "%s"\n' % TARGET, "sweep.name"),
    ('[sweep]\nname = "x"\ntarget = "%s"\n[grid]\nx = 3\n' % TARGET, "grid.x"),
    ('[sweep]\nname = "x"\ntarget = "%s"\n[grid]\nx = []\n' % TARGET, "grid.x"),
    ('[sweep]\nname = "x"\ntarget = "%s"\n[zip]\na = [1, 2]\nb = [1]\n' % TARGET, "zip"),
    ('[sweep]\nname = "x"\ntarget = "%s"\n[random]\nn_draws = 2\nr = { dist = "normal", low = 0, high = 1 }\n' % TARGET, "random.r.dist"),
    ('[sweep]\nname = "x"\ntarget = "%s"\n[random]\nr = { dist = "uniform", low = 0, high = 1 }\n' % TARGET, "random.n_draws"),
    ('[sweep]\nname = "x"\ntarget = "%s"\n[random]\nn_draws = 1\nr = { dist = "uniform", low = 0 }\n' % TARGET, "random.r.high"),
    ('[sweep]\nname = "x"\ntarget = "%s"\n[seeds]\ncount = 0\n' % TARGET, "seeds.count"),
    ('[sweep]\nname = "x"\ntarget = "%s"\n[seeds]\ncount = 2\nvalues = [1]\n' % TARGET, "seeds"),
    ('[sweep]\nname = "x"\ntarget = "%s"\n[executor]\nkind = "mpi"\n' % TARGET, "executor.kind"),
    ('[sweep]\nname = "x"\ntarget = "%s"\n[executor]\nworkers = 2\n' % TARGET, "executor.workers"),
    ('[sweep]\nname = "x"\ntarget = "%s"\n[fixed]\nx = 1\n[grid]\nx = [1, 2]\n' % TARGET, "x"),
    ('[sweep]\nname = "x"\ntarget = "%s"\n[axes]\nx = [1]\n' % TARGET, "axes"),
])
def test_bad_sweep_files_name_the_field(tmp_path, body, field):
    path = _write(tmp_path, body)
    with pytest.raises(SweepSpecError) as info:
        load(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: field '{field}' must "), message


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(SweepSpecError, match="not valid TOML"):
        load(_write(tmp_path, "[sweep\nname ="))
    with pytest.raises(SweepSpecError, match="sweep file not found"):
        load(tmp_path / "absent.toml")


def test_cli_reports_bad_sweep_in_one_line(tmp_path):
    path = _write(tmp_path, '[sweep]\nname = "x"\ntarget = "no_such_module:f"\n')
    out = subprocess.run([sys.executable, "-m", "workbench", "sweep", "run", str(path)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "field 'sweep.target'" in lines[0], out.stderr
