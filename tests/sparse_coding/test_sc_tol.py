"""The ``tol`` convergence stop of the ET-EM driver (``n_iter_``, ``converged_``)."""

import numpy as np
import pytest

from workbench.sparse_coding import BSC, GSC, MCA, TSC, make_bars, match_components


@pytest.fixture(scope="module")
def tiny_bars():
    return make_bars(3, 300, pi=0.2, sigma=0.5, amplitude=4.0, random_state=0)


def test_stop_triggers_and_tol0_runs_all(tiny_bars):
    Y = tiny_bars.Y
    stop = BSC(6, 4, 3, 60, tol=1e-6, random_state=0).fit(Y)
    full = BSC(6, 4, 3, 60, tol=0, random_state=0).fit(Y)
    # tol = 0: the fixed-iteration behaviour
    assert full.n_iter_ == 60 and not full.converged_
    assert len(full.free_energy_) == 61 and len(full.temperature_) == 60
    # the stop fired after annealing ended, before n_iter
    e = stop.end_of_annealing_
    assert e == full.end_of_annealing_ == 48
    assert stop.converged_ and e + 3 <= stop.n_iter_ < 60
    n = stop.n_iter_
    assert len(stop.free_energy_) == n + 1 and len(stop.temperature_) == n
    assert len(stop.n_used_) == n and len(stop.iteration_seconds_) == n
    # the last 3 updates each changed F by <= tol |F|, the one before (if after annealing) not
    F = stop.free_energy_
    rel = np.abs(np.diff(F)) / np.abs(F[1:])
    assert np.all(rel[-3:] <= 1e-6)
    if n - 4 >= e:
        assert rel[-4] > 1e-6
    # same trajectory as the full run up to the stop (the schedule depends on n_iter only)
    np.testing.assert_allclose(F, full.free_energy_[:n + 1], rtol=1e-13)
    np.testing.assert_allclose(stop.temperature_, full.temperature_[:n], rtol=0)
    # the final entry is the free energy of the returned parameters
    np.testing.assert_allclose(stop.score(Y), F[-1], rtol=1e-12)
    # converged: the same fields as running on
    r = match_components(stop.components_, full.components_)
    assert r["cosine"].min() > 0.999
    assert abs(stop.pi_ - full.pi_) < 1e-3 and abs(stop.sigma_ - full.sigma_) < 1e-3


def test_stop_never_during_annealing(tiny_bars):
    Y = tiny_bars.Y
    # tol = 1 accepts every change, so the stop fires at the earliest allowed iteration:
    # 3 updates made at T = 1 after the end of annealing.
    m = BSC(6, 4, 3, 40, tol=1.0, random_state=0).fit(Y)
    assert m.end_of_annealing_ == 32 and m.n_iter_ == 35 and m.converged_
    assert m.temperature_[31] > 1.0 and np.all(m.temperature_[32:] == 1.0)
    # annealing over the whole run: no stop at all
    whole = BSC(6, 4, 3, 12, tol=1.0, anneal={"T": [(0.0, 3.0), (1.0, 1.0)]},
                random_state=0).fit(Y)
    assert whole.end_of_annealing_ == 12 and whole.n_iter_ == 12 and not whole.converged_
    # no annealing: counting starts with the first update
    flat = BSC(6, 4, 3, 12, tol=1.0, anneal=False, random_state=0).fit(Y)
    assert flat.end_of_annealing_ == 0 and flat.n_iter_ == 3 and flat.converged_


@pytest.mark.parametrize("model", [TSC, GSC, MCA])
def test_stop_other_models(model, tiny_bars):
    m = model(6, 3, 2, 10, tol=1.0, anneal=False, random_state=0).fit(tiny_bars.Y)
    assert m.n_iter_ == 3 and m.converged_ and len(m.free_energy_) == 4
    m0 = model(6, 3, 2, 5, tol=None, anneal=False, random_state=0).fit(tiny_bars.Y)
    assert m0.n_iter_ == 5 and not m0.converged_
    np.testing.assert_allclose(m.free_energy_, m0.free_energy_[:4], rtol=1e-13)


def test_bad_tol(tiny_bars):
    with pytest.raises(ValueError, match="tol must be >= 0"):
        BSC(6, 4, 3, 5, tol=-1e-3).fit(tiny_bars.Y)
    with pytest.raises(ValueError, match="tol must be finite"):
        BSC(6, 4, 3, 5, tol=float("nan")).fit(tiny_bars.Y)
    with pytest.raises(TypeError, match="tol must be a real number or None"):
        BSC(6, 4, 3, 5, tol="1e-6").fit(tiny_bars.Y)
