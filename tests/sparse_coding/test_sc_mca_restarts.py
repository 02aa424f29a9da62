"""MCA's ``n_init``: restarts kept by the final free energy (no ground truth used)."""

import numpy as np
import pytest

from workbench._rng import spawn
from workbench.sparse_coding import MCA, make_bars


def _data():
    return make_bars(3, 120, pi=0.2, sigma=0.5, amplitude=5.0, kind="mca", random_state=3).Y


def test_mca_n_init_one_is_plain_run():
    Y = _data()
    a = MCA(6, 3, 2, n_iter=6, random_state=0).fit(Y)
    b = MCA(6, 3, 2, n_iter=6, random_state=0, n_init=1).fit(Y)
    np.testing.assert_allclose(a.components_, b.components_, rtol=0, atol=0)
    np.testing.assert_allclose(b.init_free_energies_, b.free_energy_[-1:])


def test_mca_n_init_keeps_best_restart():
    Y = _data()
    m = MCA(6, 3, 2, n_iter=6, random_state=0, n_init=3).fit(Y)
    # restart 0 is the plain run with the given seed, restart k the k-th spawned child
    seeds = [0] + list(spawn(0, 2))
    runs = [MCA(6, 3, 2, n_iter=6, random_state=s).fit(Y) for s in seeds]
    F = np.array([r.free_energy_[-1] for r in runs])
    np.testing.assert_allclose(m.init_free_energies_, F, rtol=1e-12)
    best = runs[int(np.argmax(F))]
    np.testing.assert_allclose(m.components_, best.components_, rtol=1e-12)
    assert m.free_energy_[-1] == F.max()
    assert m.n_init == 3 and m.random_state == 0


@pytest.mark.parametrize("bad", [0, -1])
def test_mca_n_init_bad(bad):
    with pytest.raises(ValueError, match="n_init must be"):
        MCA(6, 3, 2, n_iter=2, n_init=bad).fit(_data())
    with pytest.raises(TypeError, match="n_init"):
        MCA(6, 3, 2, n_iter=2, n_init=1.5).fit(_data())
