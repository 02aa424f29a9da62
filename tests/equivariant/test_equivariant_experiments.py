"""Sweep file, sweep targets, demo section and the water toy (PySCF parts are slow)."""

from pathlib import Path

import numpy as np
import pytest

from workbench.equivariant import TensorProduct, random_rotation, wigner_D
from workbench.equivariant.experiments import (sparsity_mask, teacher_student_point,
                                               tp_sparsity_point)

ROOT = Path(__file__).resolve().parents[2]


def test_sweep_file_loads_and_one_point_runs():
    sweep_mod = pytest.importorskip("workbench.sweep")
    sweep = sweep_mod.load(ROOT / "sims" / "sphnet_sparsity.toml")
    points = sweep.points()
    assert len(points) == 3 * 4 * 3
    params = dict(points[0].params)
    params.update(n_steps=40, random_steps=16, adaptive_steps=8)
    out = teacher_student_point(**params)
    assert 0.0 <= out["recall"] <= 1.0 and np.isfinite(out["test_mse"])


def test_water_sweep_file_loads():
    sweep_mod = pytest.importorskip("workbench.sweep")
    sweep = sweep_mod.load(ROOT / "sims" / "sphnet_water.toml")
    points = sweep.points()
    assert len(points) == 4 * 32
    pairs = {(p.params["data_seed"], p.params["random_state"]) for p in points}
    assert pairs == {(s, s + off) for s in range(16) for off in (0, 100)}
    assert {p.params["target"] for p in points} == {"delta"}
    assert {p.params["method"] for p in points} == {"three_phase", "adaptive_only",
                                                    "random_fixed", "dense"}


def test_tp_sparsity_point_and_masks():
    out = tp_sparsity_point(l_max=2, mul=4, batch=16, sparsity=0.5, repeat=1)
    assert out["n_paths"] == 15 and out["kept_paths"] == 7
    assert 0 < out["flops_fraction"] < 1
    tp = TensorProduct("4x0e+4x1e+4x2e", "4x0e+4x1e+4x2e", "4x0e+4x1e+4x2e")
    cheap = sparsity_mask(tp, 0.7, "cheapest")
    costly = sparsity_mask(tp, 0.7, "costliest")
    assert tp.flops(cheap) < tp.flops(costly)
    with pytest.raises(ValueError, match="kind must be one of"):
        sparsity_mask(tp, 0.7, "learned")


@pytest.mark.slow
def test_demo_section_runs(tmp_path):
    from workbench.equivariant._demo import demo_section

    section = demo_section(tmp_path, quick=True)
    assert (tmp_path / section.figures[0]).exists()
    assert section.rows[0].ours < 1e-12
    assert section.rows[1].ours == 1.0


def test_water_toy_bad_method():
    from workbench.equivariant._water import water_hamiltonian_toy

    with pytest.raises(ValueError, match="method must be one of"):
        water_hamiltonian_toy(method="sparse")
    with pytest.raises(ValueError, match="random_scope must be one of"):
        water_hamiltonian_toy(random_scope="batch")
    with pytest.raises(ValueError, match="min_quota must be"):
        water_hamiltonian_toy(min_quota=0)
    with pytest.raises(ValueError, match="node_layers must be"):
        water_hamiltonian_toy(node_layers=-1)
    with pytest.raises(TypeError, match="fixed_restart"):
        water_hamiltonian_toy(fixed_restart="yes")
    with pytest.raises(ValueError, match="loss must be one of"):
        water_hamiltonian_toy(loss="mae")
    with pytest.raises(ValueError, match="target must be one of"):
        water_hamiltonian_toy(target="residual")


def test_water_toy_loss_adds_the_mean_absolute_error():
    """SPHNet's MAE + MSE loss on synthetic symmetric "Fock" matrices (no PySCF run): the
    first recorded loss exceeds the MSE-only run's by the initial MAE, which lies in
    (0, sqrt(MSE)]; both runs train."""
    pytest.importorskip("pyscf")
    from workbench.equivariant._water import _WATER, water_hamiltonian_toy

    rng = np.random.default_rng(3)
    coords = _WATER[None] + 0.04 * rng.standard_normal((6, 3, 3))
    a = 0.1 * rng.standard_normal((6, 24, 24))
    data = {"coords": coords, "fock": a + np.swapaxes(a, 1, 2)}
    kw = dict(n_train=4, n_test=2, n_steps=8, random_steps=2, adaptive_steps=2, lmax=2,
              channels=4, pair_layers=1, warmup_steps=2, data=data, random_state=0)
    mse = water_hamiltonian_toy(loss="mse", target="fock", **kw).loss_history
    both = water_hamiltonian_toy(loss="mae+mse", target="fock", **kw).loss_history
    mae0 = both[0] - mse[0]
    assert 0.0 < mae0 <= np.sqrt(mse[0])
    assert mse[-1] < mse[0] and both[-1] < both[0]


def test_water_toy_delta_target_learns_f_minus_f_init():
    """``target="delta"`` trains on F - F_init and scores F: with F_init = 0 it is the
    ``"fock"`` run; adding one matrix to both F and F_init changes nothing; without
    ``fock_init`` it is refused."""
    pytest.importorskip("pyscf")
    from workbench.equivariant._water import _WATER, water_hamiltonian_toy

    rng = np.random.default_rng(4)
    coords = _WATER[None] + 0.04 * rng.standard_normal((6, 3, 3))
    a = 0.1 * rng.standard_normal((6, 24, 24))
    fock = a + np.swapaxes(a, 1, 2)
    b = rng.standard_normal((6, 24, 24))
    shift = b + np.swapaxes(b, 1, 2)
    kw = dict(n_train=4, n_test=2, n_steps=6, random_steps=2, adaptive_steps=2, lmax=2,
              channels=4, pair_layers=1, warmup_steps=2, random_state=0)
    plain = water_hamiltonian_toy(target="fock", data={"coords": coords, "fock": fock}, **kw)
    zero = water_hamiltonian_toy(target="delta", data={"coords": coords, "fock": fock,
                                                       "fock_init": 0 * fock}, **kw)
    np.testing.assert_array_equal(zero.loss_history, plain.loss_history)
    assert zero.test_mae == plain.test_mae
    moved = water_hamiltonian_toy(target="delta", data={"coords": coords,
                                                        "fock": fock + shift,
                                                        "fock_init": shift}, **kw)
    np.testing.assert_allclose(moved.loss_history, plain.loss_history, rtol=1e-9)
    np.testing.assert_allclose([moved.test_mae, moved.train_mae],
                               [plain.test_mae, plain.train_mae], rtol=1e-9)
    shifted_plain = water_hamiltonian_toy(target="fock", data={"coords": coords,
                                                               "fock": fock + shift}, **kw)
    assert abs(shifted_plain.test_mae - plain.test_mae) > 1e-3
    with pytest.raises(ValueError, match="fock_init"):
        water_hamiltonian_toy(target="delta", data={"coords": coords, "fock": fock}, **kw)
    with pytest.raises(ValueError, match="fock_init"):
        water_hamiltonian_toy(target="delta", data={"coords": coords, "fock": fock,
                                                    "fock_init": fock[:, :3]}, **kw)



def test_water_toy_refuses_malformed_data_and_unknown_basis():
    """Data that does not fit the basis, or is not finite, and an unknown basis name are
    refused with an error naming the parameter (not a KeyError or an index error)."""
    pytest.importorskip("pyscf")
    from workbench.equivariant._water import _WATER, water_fock_dataset, water_hamiltonian_toy

    coords = np.repeat(_WATER[None], 6, axis=0)
    fock = np.zeros((6, 24, 24))
    kw = dict(n_train=4, n_test=2, n_steps=2, target="fock")
    with pytest.raises(TypeError, match="data must be a dict"):
        water_hamiltonian_toy(data=[coords, fock], **kw)
    with pytest.raises(ValueError, match='data must be a dict with "coords" and "fock"'):
        water_hamiltonian_toy(data={"coords": coords}, **kw)
    with pytest.raises(ValueError, match=r'"coords" of shape \(n, 3, 3\)'):
        water_hamiltonian_toy(data={"coords": coords[:, :2], "fock": fock}, **kw)
    with pytest.raises(ValueError, match=r"\(n, 7, 7\).*sto-3g.*got shape \(6, 24, 24\)"):
        water_hamiltonian_toy(data={"coords": coords, "fock": fock}, basis="sto-3g", **kw)
    bad = fock.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        water_hamiltonian_toy(data={"coords": coords, "fock": bad}, **kw)
    with pytest.raises(ValueError, match="finite"):
        water_hamiltonian_toy(data={"coords": coords, "fock": fock, "fock_init": bad},
                              **dict(kw, target="delta"))
    with pytest.raises(ValueError, match="basis must be a basis-set name.*'no-such-basis'"):
        water_hamiltonian_toy(data={"coords": coords, "fock": fock}, basis="no-such-basis",
                              **kw)
    with pytest.raises(ValueError, match="basis must be"):
        water_fock_dataset(2, basis="no-such-basis", cache=False)
    with pytest.raises(TypeError, match="basis must be"):
        water_fock_dataset(2, basis=3, cache=False)

def _shell_rotation(shells, nao, R):
    U = np.zeros((nao, nao))
    for _, l, a0 in shells:
        U[a0:a0 + 2 * l + 1, a0:a0 + 2 * l + 1] = wigner_D(l, R, convention="standard")
    return U


@pytest.mark.slow
@pytest.mark.parametrize("basis", ["def2-svp", "cc-pvtz"])
def test_pyscf_fock_rotates_with_per_shell_wigner_D(basis):
    pytest.importorskip("pyscf")
    from workbench.equivariant._water import _WATER, _fock, pyscf_shells

    shells, perm = pyscf_shells(basis)
    R = random_rotation(3)
    geom = _WATER + 0.03 * np.random.default_rng(0).standard_normal((3, 3))
    F, F0 = _fock(geom, basis, perm)
    Fr, F0r = _fock(geom @ R.T, basis, perm)
    U = _shell_rotation(shells, F.shape[0], R)
    np.testing.assert_allclose(Fr, U @ F @ U.T, atol=1e-9)
    # the MINAO initial-guess Fock (the F - F_init target's baseline) rotates the same way
    np.testing.assert_allclose(F0r, U @ F0 @ U.T, atol=1e-9)
    assert 1e-3 < np.mean(np.abs(F - F0)) < 0.2 * np.mean(np.abs(F))


@pytest.mark.slow
def test_water_toy_model_is_equivariant_and_learns(tmp_path):
    pytest.importorskip("pyscf")
    from workbench.equivariant._water import (_Model, _node_features, pyscf_shells,
                                              water_fock_dataset, water_hamiltonian_toy)

    data = water_fock_dataset(12, random_state=5, cache_dir=tmp_path)
    assert data["fock"].shape == (12, 24, 24)
    res = water_hamiltonian_toy(method="three_phase", n_train=9, n_test=3, n_steps=40,
                                random_steps=10, adaptive_steps=10, data=data)
    assert res.loss_history[-1] < res.loss_history[0]
    assert res.loss_history.size == 40 + 10 + 10   # the fixed phase trains n_steps
    # two pair layers of an off-diagonal product (l3 <= 3, 50 paths) and a diagonal one
    # (l3 <= 4, 65); per-degree quotas
    assert res.n_paths == 2 * (50 + 65) and res.kept_paths == 2 * (15 + 19)
    assert 0 < res.flops_fraction < 0.5
    # the model's prediction rotates like the Fock matrix
    shells, _ = pyscf_shells("def2-svp")
    from workbench._rng import spawn

    model = _Model(shells, 4, 0.0, "dense", spawn(1, 4), channels=4, pair_layers=2,
                   node_layers=1)
    for key in ("R0", "R2", "nR0"):
        model.params[key][:] = np.random.default_rng(0).standard_normal(
            model.params[key].shape)
    R = random_rotation(8)
    coords = data["coords"][:2]
    preds = []
    for c in (coords, coords @ R.T):
        h, _ = _node_features(c, 4)
        inputs, n = model.pair_inputs(h, c)
        masks = [np.ones(tp.n_paths, bool) for tp in model.tps]
        feats = model.features(inputs, masks, [None] * len(masks))
        preds.append(model.predict(feats, n, 24))
    U = _shell_rotation(shells, 24, R)
    np.testing.assert_allclose(preds[1], U @ preds[0] @ U.T, atol=1e-10)


@pytest.mark.parametrize("pair_layers, node_layers", [(1, 0), (2, 0), (1, 2)])
def test_water_model_gradients_match_finite_differences(pair_layers, node_layers):
    pytest.importorskip("pyscf")
    from workbench._rng import spawn
    from workbench.equivariant._water import _WATER, _Model, _node_features, pyscf_shells

    shells, _ = pyscf_shells("def2-svp")
    rng = np.random.default_rng(0)
    coords = _WATER[None] + 0.05 * rng.standard_normal((3, 3, 3))
    model = _Model(shells, 2, 0.5, "three_phase", spawn(1, 4), channels=4,
                   pair_layers=pair_layers, node_layers=node_layers)
    radial = [f"R{j}" for j in range(0, 2 * pair_layers, 2)]
    radial += [f"nR{t}" for t in range(node_layers)]
    for key in radial:
        model.params[key][:] = 0.1 * rng.standard_normal(model.params[key].shape)
    h, _ = _node_features(coords, 2)
    inputs, n = model.pair_inputs(h, coords)
    masks = [g.random_mask() for g in model.gates]
    coefs = [g.coef(m) for g, m in zip(model.gates, masks)]
    G = rng.standard_normal((n, 24, 24))

    def loss():
        return float(np.sum(G * model.predict(model.features(inputs, masks, coefs), n, 24)))

    grads = model.backward(model.features(inputs, masks, coefs), n, G, masks, coefs)
    keys = ["L01_1", "L02_2", "L12_0", "L11_2", "R0", "w0", "w1", "V_OOd_3_3"]
    if pair_layers == 2:
        keys += ["L21_1", "L32_2", "R2", "w2", "w3"]
    for t in range(node_layers):
        keys += [f"nw{t}", f"nR{t}", f"M{t}_1", f"M{t}_2"]
    if node_layers:
        keys += ["E_0", "E_2"]
    for key in keys:
        P = model.params[key]
        idx = np.unravel_index(int(np.argmax(np.abs(grads[key]))), P.shape)
        h0 = P[idx]
        P[idx] = h0 + 1e-6
        up = loss()
        P[idx] = h0 - 1e-6
        down = loss()
        P[idx] = h0
        np.testing.assert_allclose(grads[key][idx], (up - down) / 2e-6, rtol=1e-6, atol=1e-9)
    # dL/dcoef of the gated paths, checked through one kept path of each diagonal product
    for j in range(1, 2 * pair_layers, 2):
        p = int(np.flatnonzero(masks[j])[0])
        c0 = coefs[j][p]
        coefs[j][p] = c0 + 1e-6
        up = loss()
        coefs[j][p] = c0 - 1e-6
        down = loss()
        coefs[j][p] = c0
        np.testing.assert_allclose(grads[f"coef{j}"][p], (up - down) / 2e-6, rtol=1e-6)


#: The benchmark's data seeds (each run with initialisation seed = data seed).
_WATER_SEEDS = (0, 1, 2, 3)


@pytest.fixture(scope="module")
def water_runs():
    """Test H MAE on the toy's defaults (F - F_init target, MAE + MSE loss, lr 0.05, 20 + 12
    steps, Adam restart, 1200 steps) of the three-phase gate, a random mask and the dense
    model on data seeds 0 - 3, run in two processes (~15 min on 2 cores)."""
    pytest.importorskip("pyscf")
    from concurrent.futures import ProcessPoolExecutor

    from workbench.equivariant.experiments import water_point

    methods = ("three_phase", "random_fixed", "dense")
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = {(m, s): pool.submit(water_point, method=m, random_state=s)
                   for s in _WATER_SEEDS for m in methods}
        return {m: np.array([futures[(m, s)].result()["test_mae"] for s in _WATER_SEEDS])
                for m in methods}


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_water_toy_three_phase_within_1p2x_of_dense(water_runs):
    """Issue target, judged on the mean over data seeds (one run's error moves by up to ~15 %
    with the initialisation alone). Measured on seeds 0 - 3: 1.07x / 1.03x / 1.23x / 1.24x,
    mean 1.14x; over 32 runs (data seeds 0 - 15, two initialisations each) the mean is 1.15x
    (SE 0.015), 8 runs are above 1.2x and the largest is 1.29x (see water_hamiltonian_toy),
    hence the per-run bound 1.35x."""
    ratios = water_runs["three_phase"] / water_runs["dense"]
    assert ratios.mean() <= 1.2
    assert ratios.max() <= 1.35
    assert ratios[_WATER_SEEDS.index(1)] <= 1.2      # the earlier single-seed check (1.03x)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_water_toy_three_phase_no_worse_than_random_mask(water_runs):
    """The learned selection is no better than chance in this toy, and no worse: three-phase
    / random mask over 32 runs averages 0.99x (0.85x - 1.16x per run); on seeds 0 - 3
    0.99x / 0.97x / 0.85x / 1.03x."""
    ratios = water_runs["three_phase"] / water_runs["random_fixed"]
    assert 0.85 <= ratios.mean() <= 1.1
    assert 0.8 <= ratios[_WATER_SEEDS.index(1)] <= 1.2   # the earlier single-seed check


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_water_toy_random_mask_pays_a_similar_capacity_penalty(water_runs):
    """A random mask with per-degree quotas: 1.17x of dense on average over 32 runs (SE
    0.016, largest 1.44x); on seeds 0 - 3 1.08x / 1.06x / 1.44x / 1.20x, mean 1.197x. It loses
    accuracy too, so the penalty is the pruned product's capacity, not the gate."""
    ratios = water_runs["random_fixed"] / water_runs["dense"]
    assert 1.0 <= ratios.mean() <= 1.2
    assert ratios[_WATER_SEEDS.index(1)] <= 1.2      # the earlier single-seed check (1.06x)
