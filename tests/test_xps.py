"""XPS analysis: line-shape normalisation, Shirley background against a textbook iteration, and
recovery of simulated truths (other than the pipeline's) through writer -> reader -> fit."""

import json
import math

import numpy as np
import pytest
from scipy.integrate import quad

from qdanalysis import xps
from qdanalysis.io.vamas import read_vamas, write_vamas
from qdanalysis.simulate import xps as sim


@pytest.mark.parametrize("shape", [xps.gl_product, xps.gl_sum])
@pytest.mark.parametrize("mixing", [0.0, 0.3, 0.7, 1.0])
def test_lineshapes_integrate_to_area(shape, mixing):
    # Centred at 0 so quad's infinite-range transform samples the peak.
    area = sum(quad(lambda x: shape(x, 2.5, 0.0, 1.3, mixing), lo, hi, limit=200)[0]
               for lo, hi in ((-np.inf, -5), (-5, 5), (5, np.inf)))
    assert area == pytest.approx(2.5, rel=1e-6)
    assert shape(100.0, 2.5, 100.0, 1.3, mixing) > shape(100.65, 2.5, 100.0, 1.3, mixing)


def test_gaussian_limit_has_nominal_fwhm():
    peak = xps.gl_product(0.0, 1.0, 0.0, 1.3, 0.0)
    assert xps.gl_product(0.65, 1.0, 0.0, 1.3, 0.0) == pytest.approx(peak / 2)


def textbook_shirley(x, y, n_average=5, iterations=50):
    """Plain Proctor-Sherwood iteration (Sherwood's form): B = I_lo + (I_hi - I_lo) Q/(P + Q), where
    Q and P are the areas of (y - B) below and above E. Written independently of qdanalysis."""
    order = np.argsort(x)
    x, y = x[order], y[order]
    i_lo, i_hi = y[:n_average].mean(), y[-n_average:].mean()
    b = np.full_like(y, i_lo)
    for _ in range(iterations):
        net = y - b
        q = np.array([np.trapezoid(net[: i + 1], x[: i + 1]) for i in range(len(x))])
        p = q[-1] - q
        b = i_lo + (i_hi - i_lo) * q / (p + q)
    return b


def test_shirley_matches_textbook_iteration():
    x = np.linspace(440.0, 457.0, 341)
    states = [sim.StateTruth("a", 444.6, 1.1, 20000.0), sim.StateTruth("b", 446.0, 1.3, 5000.0)]
    rate, _ = sim.region_rate(x, "In 3d", states, baseline_cps=4000.0, shirley_step=0.2)
    ours = xps.shirley_background(x, rate)
    np.testing.assert_allclose(ours, textbook_shirley(x, rate), rtol=0, atol=1e-6 * rate.max())


def test_shirley_recovers_a_known_step_and_handles_large_steps():
    """Gaussian lines (no tails beyond the window): the data's Shirley equals the simulated one, also
    for a Zn 2p-like step where the plain iteration does not converge."""
    x = np.linspace(1015.0, 1050.0, 351)
    states = [sim.StateTruth("Zn", 1022.0, 1.6, 60000.0)]
    rate, truth = sim.region_rate(x, "Zn 2p", states, baseline_cps=8000.0, shirley_step=0.4, lineshape="SGL",
                                  mixing=0.0)
    np.testing.assert_allclose(xps.shirley_background(x, rate, n_average=1), truth, rtol=1e-6)


def test_halide_and_state_defaults():
    assert [xps.halide_in(t) for t in ("ZnCl2", "OAm-Br", "ZnI2", "OAm-I", "BPO+OAm-Br", "BPO", "OAm", "none")] == \
        ["Cl", "Br", "I", "I", "Br", None, None, None]
    assert xps.chemical_states("In 3d", "ZnI2") == ("InP", "InX")
    assert xps.chemical_states("Cd 3d", "BPO") == ("CdO", "CdSe")
    with pytest.raises(ValueError, match="unknown xps settings"):
        xps.settings_with_defaults({"refrence_ev": 285.0})


def _sample_file(tmp_path, cation_states, charge_shift, seed):
    """A VAMAS file with C 1s and In 3d simulated from the given truths."""
    rng = np.random.default_rng(seed)
    regions = {"C 1s": sim.states_from_fractions("C 1s", [("C-C", 284.8, 1.2, 0.8), ("C-O", 286.4, 1.4, 0.2)]),
               "In 3d": [sim.StateTruth(*state) for state in cation_states]}
    blocks = [sim.simulate_block("T", sim.PLANS[r], s, charge_shift_ev=charge_shift, rng=rng)
              for r, s in regions.items()]
    path = tmp_path / "T.vms"
    write_vamas(path, blocks, experiment_id="T")
    experiment = read_vamas(path)
    return {b.label: (b.binding_energy_ev, b.counts_per_second, b.cps_uncertainty) for b in experiment.blocks}


def _within(value, truth, sigma, k=3.0):
    return abs(value - truth) <= k * sigma


def test_recovers_weak_component_positions_and_fractions(tmp_path):
    # Other truths than the pipeline's: InP-like line at 443.9 eV, a 5 % state 1.3 eV higher.
    truths = [("main", 443.9, 1.0, 19000.0), ("weak", 445.2, 1.2, 1000.0)]
    spectra = _sample_file(tmp_path, truths, charge_shift=0.73, seed=7)
    settings = xps.settings_with_defaults({"c1s_states": 2, "states": {"T": {"In 3d": ["main", "weak"]}}})
    fit = xps.fit_sample("T", spectra, "none", settings)
    assert _within(fit.charge.shift_ev, -0.73, fit.charge.fitted_stderr)
    region = fit.regions["In 3d"]
    total_err = [math.hypot(s.center_stderr, fit.charge.fitted_stderr) for s in region.states]
    for state, (name, center, fwhm, area), err in zip(region.states, truths, total_err):
        assert state.name == name
        assert _within(state.center_ev, center, err), (state, err)
        assert _within(state.fwhm_ev, fwhm, state.fwhm_stderr), state
        assert _within(state.area_fraction, area / 20000.0, state.area_fraction_stderr), state
    weak = region.state("weak")
    assert 0.03 < weak.area_fraction < 0.07 and weak.area_fraction_stderr < 0.01
    assert region.model_checks[-1].f_test_p < 1e-6  # the weak state is justified
    assert 0.7 < region.redchi < 1.4
    centroid = (19000 * 443.9 + 1000 * 445.2) / 20000
    assert _within(region.centroid_ev, centroid, math.hypot(region.centroid_stderr, fit.charge.fitted_stderr))


def test_minor_line_follows_constraints(tmp_path):
    spectra = _sample_file(tmp_path, [("InP", 444.2, 1.1, 20000.0)], charge_shift=0.3, seed=3)
    settings = xps.settings_with_defaults({"c1s_states": 2, "lineshape": "GL", "background": "shirley"})
    region = xps.fit_sample("T", spectra, "none", settings).regions["In 3d"]
    (state,) = region.states
    x, component = region.binding_energy_ev, region.components["InP"]
    split = x > state.center_ev + 3.77
    major = np.trapezoid(component[~split], x[~split])
    minor = np.trapezoid(component[split], x[split])
    assert minor / major == pytest.approx(2 / 3, rel=0.02)
    assert x[split][np.argmax(component[split])] == pytest.approx(state.center_ev + 7.54, abs=0.05)


def test_unneeded_second_state_is_flagged(tmp_path):
    spectra = _sample_file(tmp_path, [("InP", 444.6, 1.1, 20000.0)], charge_shift=0.5, seed=11)
    settings = xps.settings_with_defaults({"c1s_states": 2, "states": {"T": {"In 3d": ["a", "b"]}}})
    region = xps.fit_sample("T", spectra, "none", settings).regions["In 3d"]
    check = region.model_checks[-1]
    assert check.n_states == 2 and check.f_test_p > 1e-3
    assert region.model_checks[1].bic > region.model_checks[0].bic - 10


def test_simulate_is_deterministic_and_complete(tmp_path):
    rows_a, truth_a = sim.simulate(tmp_path / "a", np.random.default_rng(5))
    rows_b, truth_b = sim.simulate(tmp_path / "b", np.random.default_rng(5))
    assert rows_a == rows_b and json.dumps(truth_a) == json.dumps(truth_b)
    for row in rows_a:
        assert (tmp_path / "a" / row["file"]).read_bytes() == (tmp_path / "b" / row["file"]).read_bytes()
    assert len(rows_a) == 14
    labels = read_vamas(tmp_path / "a" / "xps" / "InP_MS_ZnBr2.vms").labels
    assert labels == ("C 1s", "In 3d", "Zn 2p", "Br 3d")
    assert read_vamas(tmp_path / "a" / "xps" / "CdSe_ZnS_pristine.vms").labels == ("C 1s", "Cd 3d", "Zn 2p")
    assert truth_a["InP_MS_ZnI2"]["regions"]["In 3d"][1]["area_fraction"] == pytest.approx(0.04)
