"""TRPL analysis: reconvolution fits recover simulated lifetimes within their reported uncertainty.

Truths here are deliberately NOT the shipped ones (qdanalysis.simulate.trpl.TRUTHS), and the
simulator computes its histograms on an 8x finer grid with an analytic IRF, independently of the fit
model, so agreement is not circular.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qdanalysis.errors import AnalysisError
from qdanalysis.simulate import trpl as sim
from qdanalysis.trpl import (
    analyse_decay,
    deviance_moments,
    fit_decay,
    lifetime_statistics,
    periodic_exponential_kernel,
    poisson_deviance,
    prepare_irf,
    quantities_from_summary,
    reconvolution_model,
    runs_test,
    unresolved_lifetimes,
)

PERIOD_NS = 500.0
TIME_NS = sim.time_axis(1000, 0.5)  # 1000 channels x 0.5 ns = one 2 MHz period
IRF_KW = {"fwhm_ns": 1.5, "tail_ns": 0.3}  # 3 channels wide


def measured_pair(rng, tau_ns, fractions, peak_counts=1e4, offset_ns=0.15, background=3.0):
    irf = sim.simulate_irf(TIME_NS, rng, peak_counts=2e4, **IRF_KW)
    decay = sim.simulate_decay(TIME_NS, tau_ns, fractions, rng, peak_counts=peak_counts,
                               background=background, period_ns=PERIOD_NS,
                               irf_center_ns=sim.IRF_CENTER_NS + offset_ns, **IRF_KW)
    return decay, irf


def test_lifetime_statistics_definitions():
    stats = lifetime_statistics([10.0, 40.0], [3.0, 1.0])
    assert stats["amplitude_fractions"] == pytest.approx([0.75, 0.25])
    assert stats["intensity_fractions"] == pytest.approx([30 / 70, 40 / 70])
    assert stats["tau_avg_amp_ns"] == pytest.approx(70 / 4)
    assert stats["tau_avg_int_ns"] == pytest.approx((300 + 1600) / 70)


def test_shipped_truths_reproduce_the_published_pairs():
    """tau2_for solves the Table S1 definitions: (tau1 %, tau_avg) = (50.1, 47.4) and (79.2, 37.1)."""
    for sample, (a1, tau_avg) in {"InP_MS_pristine": (0.501, 47.4), "InP_MS_ZnBr2": (0.792, 37.1)}.items():
        tau1 = sim.TRUTHS[sample].tau1_ns
        tau2 = sim.tau2_for(tau1, a1, tau_avg)
        assert tau2 > 1.5 * tau1
        stats = lifetime_statistics([tau1, tau2], [a1, 1 - a1])
        assert stats["tau_avg_int_ns"] == pytest.approx(tau_avg, rel=1e-12)


@pytest.mark.parametrize("kind", ["bandlimited", "triangle"])
def test_kernel_derivative_matches_finite_difference(kind):
    kernel, derivative = periodic_exponential_kernel(17.0, 0.5, 1000, derivative=True, kind=kind)
    step = 1e-4
    numeric = (periodic_exponential_kernel(17.0 + step, 0.5, 1000, kind=kind)
               - periodic_exponential_kernel(17.0 - step, 0.5, 1000, kind=kind)) / (2 * step)
    assert np.allclose(derivative, numeric, rtol=1e-6, atol=1e-7 * np.abs(numeric).max())
    # integral of exp(-t/tau) over one period, with wrap-around, is tau (in channels: tau/dt)
    assert kernel.sum() == pytest.approx(17.0 / 0.5, rel=1e-9)


def test_triangle_kernel_closed_form():
    """Periodic sum of K_0 = tau (dt - tau (1 - e^-x))/dt, K_m = tau^2 (1 - e^-x)^2 e^-(m-1)x / dt."""
    tau, dt, n = 7.0, 0.5, 200
    x = dt / tau
    lags = np.arange(4 * n)
    direct = np.where(lags == 0, tau * (dt - tau * (1 - np.exp(-x))) / dt,
                      tau**2 * (1 - np.exp(-x)) ** 2 * np.exp(-(lags - 1) * x) / dt) / dt
    periodic = direct.reshape(4, n).sum(axis=0)  # wrap-around of 4 periods (e^-4Nx ~ 1e-25)
    assert np.allclose(periodic_exponential_kernel(tau, dt, n, kind="triangle"), periodic, rtol=1e-12)


def _fine_irf(time_ns, **kw):
    dt = time_ns[1] - time_ns[0]
    fine = time_ns[0] + (np.arange(time_ns.size * 8) + 0.5) * dt / 8
    return sim.instrument_response(fine, **kw).reshape(time_ns.size, 8).mean(axis=1)


@pytest.mark.parametrize("n_channels, dt, irf_kw", [(1000, 0.5, IRF_KW), (2000, 0.25, {})])
def test_model_matches_independent_simulator(n_channels, dt, irf_kw):
    """Noise-free: the band-limited kernel reproduces the oversampled simulator to ~1e-4 of the peak.

    The simulator integrates each decay law exactly over its fine bins (no half-step offset at the
    onset), so truth and model are compared as they are, with afterpulsing switched off (the fit does
    not model it). The triangle kernel is off by percents on the rise.
    """
    time_ns = sim.time_axis(n_channels, dt)
    irf = _fine_irf(time_ns, **irf_kw)
    for taus, fractions in (([12.0, 70.0], [0.7, 0.3]), ([2.0], [1.0])):
        expected = sim.expected_decay(time_ns, taus, fractions, period_ns=PERIOD_NS, background=0.0,
                                      afterpulse_probability=0.0, **irf_kw)
        errors = {}
        for kernel in ("bandlimited", "triangle"):
            model = reconvolution_model(time_ns, irf, taus, fractions, period_ns=PERIOD_NS, kernel=kernel)
            model *= expected.sum() / model.sum()
            errors[kernel] = np.abs(model - expected).max() / expected.max()
        assert errors["bandlimited"] < 3e-4, errors
        assert errors["triangle"] > 5e-3, errors


def test_noise_free_fit_is_unbiased():
    """Fitting the exact expected histogram returns the true lifetimes (old triangle kernel: -0.13 ns).

    Afterpulsing is off: the fit does not model it (its effect is measured in benchmarks/RECOVERY.md).
    """
    expected = sim.expected_decay(TIME_NS, [15.0, 60.0], [0.6, 0.4], period_ns=PERIOD_NS, peak_counts=1e5,
                                  background=20.0, irf_center_ns=sim.IRF_CENTER_NS + 0.15,
                                  afterpulse_probability=0.0, **IRF_KW)
    irf = 2e4 * _fine_irf(TIME_NS, **IRF_KW)
    irf = irf / irf.max() * 2e4 + 2.0
    fit = fit_decay(TIME_NS, expected, irf, period_ns=PERIOD_NS)
    assert fit.tau_ns == pytest.approx([15.0, 60.0], abs=0.005)
    assert fit.amplitude_fractions[0] == pytest.approx(0.6, abs=5e-5)
    assert fit.irf_shift_ns == pytest.approx(0.15, abs=0.005)
    assert "1 start" in fit.message and fit.n_evaluations < 20


def test_lifetimes_unbiased_over_repeated_simulations():
    """Mean of repeated high-count fits within 3 standard errors of the truth (was -0.13 ns ~ 3 sd)."""
    rng = np.random.default_rng(77)
    tau = np.array([15.0, 60.0])
    estimates = []
    for _ in range(16):
        decay, irf = measured_pair(rng, tau, [0.6, 0.4], peak_counts=1e5, background=20.0)
        estimates.append(fit_decay(TIME_NS, decay, irf, period_ns=PERIOD_NS).tau_ns)
    estimates = np.array(estimates)
    standard_error = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    assert np.all(np.abs(estimates.mean(axis=0) - tau) < 3 * standard_error), (estimates.mean(0), standard_error)


def test_recovery_within_reported_uncertainty():
    rng = np.random.default_rng(11)
    tau, fractions = [12.0, 70.0], [0.7, 0.3]
    decay, irf = measured_pair(rng, tau, fractions, peak_counts=2e4)
    fit = fit_decay(TIME_NS, decay, irf, period_ns=PERIOD_NS)
    assert fit.success and fit.covariance_valid
    for got, err, true in zip(fit.tau_ns, fit.tau_err_ns, tau, strict=False):
        assert abs(got - true) < 4 * err, (got, err, true)
    truth = lifetime_statistics(tau, fractions)
    assert abs(fit.amplitude_fractions[0] - 0.7) < 4 * fit.amplitude_fractions_err[0]
    assert abs(fit.tau_avg_int_ns - truth["tau_avg_int_ns"]) < 4 * fit.tau_avg_int_err_ns
    assert abs(fit.irf_shift_ns - 0.15) < 0.1
    assert 0.8 < fit.deviance_per_dof < 1.3
    assert fit.weighted_residuals.shape == decay.shape and fit.model.shape == decay.shape


def test_uncertainty_coverage_over_repeated_simulations():
    """~68 % of |tau - truth| < 1 sigma and ~95 % < 2 sigma; 40 repeats, so generous bounds."""
    rng = np.random.default_rng(2024)
    tau, fractions = [15.0, 60.0], [0.6, 0.4]
    pulls = []
    for _ in range(40):
        decay, irf = measured_pair(rng, tau, fractions, peak_counts=5e3)
        fit = fit_decay(TIME_NS, decay, irf, period_ns=PERIOD_NS)
        pulls.append([(g - t) / e for g, e, t in zip(fit.tau_ns, fit.tau_err_ns, tau, strict=False)]
                     + [(fit.amplitude_fractions[0] - 0.6) / fit.amplitude_fractions_err[0]])
    pulls = np.abs(np.array(pulls))
    within1 = (pulls < 1).mean(axis=0)
    within2 = (pulls < 2).mean(axis=0)
    assert np.all(within1 > 0.45) and np.all(within1 < 0.9), within1
    assert np.all(within2 > 0.8), within2


def test_poisson_mle_less_biased_than_neyman_at_low_counts():
    rng = np.random.default_rng(5)
    tau_true = 30.0
    estimates = {"poisson": [], "neyman": []}
    for _ in range(30):
        decay, irf = measured_pair(rng, [tau_true], [1.0], peak_counts=40.0, background=0.5)
        for objective in estimates:
            fit = fit_decay(TIME_NS, decay, irf, n_exponentials=1, objective=objective, period_ns=PERIOD_NS)
            estimates[objective].append(fit.tau_ns[0])
    bias = {k: np.mean(v) - tau_true for k, v in estimates.items()}
    spread = {k: np.std(v, ddof=1) / np.sqrt(len(v)) for k, v in estimates.items()}
    assert abs(bias["poisson"]) < abs(bias["neyman"]), bias
    assert abs(bias["poisson"]) < 3 * spread["poisson"] + 0.2, (bias, spread)


def test_tail_fit_option_runs_and_is_close_for_long_lifetimes():
    rng = np.random.default_rng(3)
    decay, _ = measured_pair(rng, [20.0, 80.0], [0.5, 0.5], peak_counts=2e4)
    fit = fit_decay(TIME_NS, decay, method="tail", tail_start_ns=sim.IRF_CENTER_NS + 5)
    assert fit.method == "tail"
    assert fit.tau_ns[1] == pytest.approx(80.0, rel=0.1)
    assert fit.amplitude_fractions[0] != pytest.approx(0.5, abs=1e-6)  # not the start value


def test_bootstrap_errors_agree_with_fisher():
    rng = np.random.default_rng(8)
    decay, irf = measured_pair(rng, [25.0], [1.0], peak_counts=5e3)
    fisher = fit_decay(TIME_NS, decay, irf, n_exponentials=1, period_ns=PERIOD_NS)
    boot = fit_decay(TIME_NS, decay, irf, n_exponentials=1, period_ns=PERIOD_NS, bootstrap=25,
                     rng=np.random.default_rng(1))
    assert boot.uncertainty_method.startswith("parametric bootstrap")
    assert boot.tau_err_ns[0] == pytest.approx(fisher.tau_err_ns[0], rel=0.5)


def test_deviance_is_zero_at_the_data_and_positive_elsewhere():
    counts = np.array([0.0, 1.0, 5.0, 100.0])
    assert np.allclose(poisson_deviance(counts, np.maximum(counts, 1e-300)), 0.0)
    assert np.all(poisson_deviance(counts, counts + 1.0) > 0)


def test_quantities_names_and_units():
    rng = np.random.default_rng(4)
    decay, irf = measured_pair(rng, [15.0, 60.0], [0.6, 0.4])
    summary = fit_decay(TIME_NS, decay, irf, period_ns=PERIOD_NS).summary()
    quantities = {q.quantity: q for q in quantities_from_summary(summary, "S")}
    assert set(quantities) == {"tau1_ns", "tau2_ns", "A1_percent", "A2_percent", "tau_avg_ns",
                               "tau_avg_amp_ns", "f1_intensity_percent"}
    assert quantities["A1_percent"].value + quantities["A2_percent"].value == pytest.approx(100.0)
    assert quantities["tau_avg_ns"].value == pytest.approx(summary["tau_avg_int_ns"])
    assert all(q.uncertainty > 0 for q in quantities.values())


def test_simulate_writes_readable_files(tmp_path):
    from qdanalysis.io.tcspc import read_tcspc_csv

    rows, truth = sim.simulate(tmp_path, np.random.default_rng(0))
    assert {r["sample"] for r in rows if r["role"] == "irf"} == {f"IRF_{s}" for s in sim.SERIES}
    assert set(truth["samples"]) == set(sim.TRUTHS)
    for row in rows:
        record = read_tcspc_csv(tmp_path / row["file"], role="irf" if row["role"] == "irf" else "decay")
        # Edinburgh exports do not carry the laser rate: the window (one period here) stands in for it
        assert record.repetition_period_ns is None
        assert record.time_ns[-1] + record.time_step_ns == pytest.approx(1e3 / sim.REPETITION_RATE_MHZ)
    rows_again, _ = sim.simulate(tmp_path / "again", np.random.default_rng(0))
    for row in rows:
        assert (tmp_path / row["file"]).read_bytes() == (tmp_path / "again" / row["file"]).read_bytes()


# --- model adequacy (deviance, runs, missing-component score), model choice and flags ----------------
def _instrument(**fields):
    return sim.Instrument(n_channels=1000, time_step_ns=0.5, period_ns=PERIOD_NS, irf_fwhm_ns=1.5,
                          irf_tail_ns=0.3, **fields)


def _analyse(law, rng, *, peak_counts=1e4, irf_peak=2e4, instrument=None, **kwargs):
    instrument = instrument or _instrument()
    decay = sim.measure(sim.expected_histogram(law, instrument, irf_shift_ns=0.15, peak_counts=peak_counts), rng)
    irf = sim.measure(sim.expected_irf_histogram(instrument, peak_counts=irf_peak), rng)
    return analyse_decay(instrument.time_ns, decay, instrument.time_ns, irf, period_ns=PERIOD_NS, **kwargs)


@pytest.mark.parametrize("mean", [0.1, 1.0, 5.0, 30.0, 2000.0])
def test_deviance_moments_match_poisson_sampling(mean):
    rng = np.random.default_rng(3)
    y = rng.poisson(mean, 400_000).astype(float)
    deviance = poisson_deviance(y, np.full_like(y, mean))
    expected, variance = deviance_moments(np.array([mean]))
    assert deviance.mean() == pytest.approx(expected[0], rel=0.01)
    assert deviance.var() == pytest.approx(variance[0], rel=0.03)


def test_runs_test_is_calibrated_on_a_low_count_tail():
    """Signs of Poisson residuals along a tail falling from 20 to 0.25 counts: z ~ N(0, 1), where the
    classical Wald-Wolfowitz form (every sign equally likely positive) gives z ~ -2.9."""
    rng = np.random.default_rng(9)
    model = 0.25 + 20 * np.exp(-np.arange(3000) / 400.0)
    ours, classical = [], []
    for _ in range(300):
        counts = rng.poisson(model)
        runs, _, z = runs_test(counts, model)
        ours.append(z)
        positive = counts > model
        n, n_pos = positive.size, positive.sum()
        expected = 2.0 * n_pos * (n - n_pos) / n + 1
        classical.append((runs - expected) / np.sqrt((expected - 1) * (expected - 2) / (n - 1)))
    assert abs(np.mean(ours)) < 0.2 and 0.85 < np.std(ours) < 1.15
    assert np.mean(classical) < -2.0


def test_bi_exponential_truth_passes_every_adequacy_test():
    rng = np.random.default_rng(21)
    result = _analyse(sim.MultiExponential((12.0, 55.0), (0.6, 0.4)), rng, peak_counts=3e4)
    check = result.fit.check
    assert result.flag == "ok", result.flag
    assert abs(check.deviance_z) < 3 and check.runs_z > -3 and check.component_z < 3.5
    assert check.expected_deviance_per_dof == pytest.approx(1.0, abs=0.1)


def test_three_exponential_truth_is_flagged_with_its_reason():
    rng = np.random.default_rng(22)
    result = _analyse(sim.MultiExponential((2.0, 12.0, 70.0), (0.4, 0.35, 0.25)), rng, peak_counts=3e4)
    assert result.flag.startswith("warn: bi-exponential model rejected (deviance/dof")
    assert "a third component lowers BIC by" in result.flag
    quantities = quantities_from_summary(result.summary(), "S")
    assert quantities and all(q.flag == result.flag for q in quantities)
    assert [c["n_exponentials"] for c in result.candidates] == [2, 3]


def test_stretched_exponential_is_caught_by_the_component_score():
    rng = np.random.default_rng(23)
    result = _analyse(sim.StretchedExponential(15.0, 0.6), rng, peak_counts=2e4)
    assert result.fit.check.component_z > 3.5 and "rejected" in result.flag


def test_auto_chooses_the_number_of_components_by_bic():
    rng = np.random.default_rng(24)
    tri = _analyse(sim.MultiExponential((2.0, 12.0, 70.0), (0.4, 0.35, 0.25)), rng, peak_counts=3e4,
                   n_exponentials="auto")
    assert tri.fit.n_exponentials == 3 and tri.flag == "ok", tri.flag
    assert tri.fit.tau_ns == pytest.approx((2.0, 12.0, 70.0), rel=0.1)
    bi = _analyse(sim.MultiExponential((12.0, 55.0), (0.6, 0.4)), rng, peak_counts=3e4, n_exponentials="auto")
    assert bi.fit.n_exponentials == 2
    assert [c["n_exponentials"] for c in bi.candidates] == [1, 2, 3]
    bics = {c["n_exponentials"]: c["bic"] for c in bi.candidates}
    assert bics[2] < bics[1] and bics[2] < bics[3]


def test_closely_spaced_lifetimes_are_named_as_unresolved():
    assert unresolved_lifetimes([21.0, 57.0], 2.5) == ""  # x2.71, the shipped samples' ratio
    assert unresolved_lifetimes([5.0], 2.5) == ""
    reason = unresolved_lifetimes([40.0, 2.0, 18.0], 2.5)  # any order: 18 -> 40 is the closest pair
    assert "18 and 40 ns differ by x2.22 (< x2.5)" in reason
    assert unresolved_lifetimes([40.0, 2.0, 18.0], 2.0) == ""


def test_lognormal_distribution_that_passes_the_tests_is_flagged_as_unresolved():
    """A narrow log-normal lifetime distribution (sigma(ln tau) 0.3) is fitted well by two close
    exponentials at 1e4 peak counts; its averages are then model-dependent, and the flag says so."""
    rng = np.random.default_rng(27)
    result = _analyse(sim.LognormalLifetimes(20.0, 0.3), rng, peak_counts=1e4)
    assert result.fit.check.component_z < 4 and abs(result.fit.check.deviance_z) < 3  # the tests pass
    ratio = result.fit.tau_ns[1] / result.fit.tau_ns[0]
    assert ratio < 2.5
    assert "not resolved as discrete components" in result.flag
    assert all(q.flag == result.flag for q in quantities_from_summary(result.summary(), "S"))


def test_irf_noise_enters_the_lifetime_errors():
    """A 3 ns component measured with 3x more counts than its IRF: the IRF's Poisson noise moves tau1
    by ~4 Fisher sigmas; with it propagated (fit_decay's default) the pulls have sd ~1.3."""
    rng = np.random.default_rng(4)
    instrument = _instrument(afterpulse_probability=0.0, dark_counts=2.0)
    law = sim.MultiExponential((3.0, 20.0), (0.7, 0.3))
    expected = sim.expected_histogram(law, instrument, irf_shift_ns=0.1, peak_counts=3e4)
    expected_irf = sim.expected_irf_histogram(instrument, peak_counts=1e4)
    pulls = {True: [], False: []}
    for _ in range(30):
        decay, irf = rng.poisson(expected), rng.poisson(expected_irf)
        for irf_noise in pulls:
            fit = fit_decay(instrument.time_ns, decay, irf, period_ns=PERIOD_NS, irf_noise=irf_noise)
            pulls[irf_noise].append((fit.tau_ns[0] - law.tau_ns[0]) / fit.tau_err_ns[0])
    spread = {k: np.std(v, ddof=1) for k, v in pulls.items()}
    assert spread[True] < 2.0 < spread[False], spread


def test_prepared_irf_keeps_a_slow_tail_without_smearing_the_peak():
    for fields in ({"slow_tail_fraction": 0.0, "reflection_fraction": 0.0, "irf_tail_ns": 0.08},
                   {"slow_tail_fraction": 0.01, "slow_tail_ns": 3.8}):
        instrument = sim.Instrument(n_channels=4096, time_step_ns=100 / 4096, period_ns=100.0,
                                    irf_center_ns=8.0, irf_fwhm_ns=0.6, afterpulse_probability=0.0,
                                    dark_counts=0.12, **fields)
        irf = sim.expected_irf_histogram(instrument, peak_counts=1e5)
        true = (irf - instrument.dark_counts) / (irf - instrument.dark_counts).sum()
        prepared = prepare_irf(irf, time_step_ns=instrument.time_step_ns)
        assert np.abs(prepared - true).max() < 1e-4 * true.max()
        assert abs(prepared.sum() - true[prepared > 0].sum()) < 1e-3


def test_afterpulsing_at_short_delay_is_flagged_not_silent():
    """1 % afterpulses 300 ns after each photon add a slow bump the fit does not model."""
    rng = np.random.default_rng(26)
    instrument = _instrument(afterpulse_probability=0.01, afterpulse_delay_ns=300.0)
    result = _analyse(sim.MultiExponential((15.0, 60.0), (0.6, 0.4)), rng, peak_counts=1e5, instrument=instrument)
    assert "rejected" in result.flag


# --- analysis errors ----------------------------------------------------------------------------
def test_decay_and_irf_on_different_grids_are_analysis_errors():
    rng = np.random.default_rng(27)
    decay, irf = measured_pair(rng, [15.0, 60.0], [0.6, 0.4])
    with pytest.raises(AnalysisError, match=r"different channel widths \(0.5 ns and 0.25 ns\)"):
        analyse_decay(TIME_NS, decay, sim.time_axis(1000, 0.25), irf)
    with pytest.raises(AnalysisError, match="different numbers of channels"):
        analyse_decay(TIME_NS, decay, TIME_NS[:800], irf[:800])


def test_period_shorter_than_window_and_empty_irf_are_analysis_errors():
    rng = np.random.default_rng(28)
    decay, irf = measured_pair(rng, [15.0, 60.0], [0.6, 0.4])
    with pytest.raises(AnalysisError, match="repetition period 100 ns is shorter than the 500 ns time window"):
        analyse_decay(TIME_NS, decay, TIME_NS, irf, period_ns=100.0)
    with pytest.raises(AnalysisError, match="IRF has no counts above its dark level"):
        analyse_decay(TIME_NS, decay, TIME_NS, np.full(TIME_NS.size, 3.0))


def test_non_converging_fit_is_an_analysis_error(monkeypatch):
    import qdanalysis.trpl as trpl

    rng = np.random.default_rng(29)
    decay, irf = measured_pair(rng, [15.0, 60.0], [0.6, 0.4])
    original = trpl._solve
    monkeypatch.setattr(trpl, "_solve", lambda *a, **k: original(*a, **{**k, "max_iter": 1}))
    with pytest.raises(AnalysisError, match="fit did not converge"):
        fit_decay(TIME_NS, decay, irf, period_ns=PERIOD_NS)


# --- the pipeline script: one log line naming decay and IRF, nothing half-written ------------------
RUN_SCRIPT = """
import runpy, sys, types, json
class Names(types.SimpleNamespace):
    def get(self, key, default=None):
        return getattr(self, key, default)
spec = json.loads(sys.argv[1])
snakemake = types.SimpleNamespace(**{k: Names(**v) if isinstance(v, dict) else v for k, v in spec.items()})
runpy.run_path(sys.argv[2], init_globals={"snakemake": snakemake})
"""


def _run_fit_script(root, tmp_path, decay_axis, irf_axis, stated_period_ns=None):
    """Rule fit_trpl_decays' script (scripts/analyse_samples.py) on one decay/IRF pair, in its own process.

    Returns (process, raw paths, the sample's record path, the sample's log path); the job itself exits 0
    on a bad sample (qdanalysis.batch): the sample's log and failures.csv carry the one-line error."""
    import json
    import subprocess
    import sys

    rng = np.random.default_rng(30)
    paths = {}
    for role, axis in (("decay", decay_axis), ("irf", irf_axis)):
        instrument = sim.Instrument(n_channels=axis[0], time_step_ns=axis[1], period_ns=axis[0] * axis[1])
        counts = (sim.expected_histogram(sim.MultiExponential((15.0, 60.0), (0.6, 0.4)), instrument)
                  if role == "decay" else sim.expected_irf_histogram(instrument))
        paths[role] = tmp_path / f"{role}.csv"
        paths[role].write_text(sim.tcspc_export(instrument.time_ns, rng.poisson(counts), label=role, role=role,
                                                period_ns=stated_period_ns or instrument.period_ns))
    out = tmp_path / "trpl"
    files = [str(paths["decay"]), str(paths["irf"])]
    spec = {"input": {"raw": files},
            "output": {"fits": str(out / "fits"), "quantities": str(out / "quantities.csv"),
                       "summary": str(out / "summary.csv"), "failures": str(out / "failures.csv")},
            "log": [str(tmp_path / "job.log")],
            "params": {"technique": "trpl", "step": "qdanalysis.steps.trpl:decay",
                       "summary_columns": "qdanalysis.steps.trpl:summary_columns",
                       "settings": {"n_exponentials": 2, "objective": "poisson"},
                       "tasks": [{"sample": "S1", "files": files,
                                  "params": {"row": {"sample": "S1", "file": files[0]},
                                             "irf_row": {"sample": "IRF"}}}]}}
    result = subprocess.run([sys.executable, "-c", RUN_SCRIPT, json.dumps(spec),
                             str(root / "scripts" / "analyse_samples.py")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]  # a bad sample does not stop the batch job
    return result, paths, out / "fits" / "S1.json", out / "fits" / "S1.log"


def _failures(log):
    return pd.read_csv(log.parent.parent / "failures.csv", dtype=str, keep_default_na=False)


def test_fit_script_reports_mismatched_files_in_one_line(root, tmp_path):
    result, paths, out, log = _run_fit_script(root, tmp_path, (1000, 0.5), (2000, 0.25))
    lines = log.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for part in (paths["decay"].name, paths["irf"].name, "0.5 ns", "0.25 ns"):
        assert part in lines[0]
    assert "Traceback" not in result.stderr and not out.exists()
    assert list(_failures(log)["error"]) == lines


def test_fit_script_names_decay_irf_and_sample_on_an_analysis_error(root, tmp_path):
    """A 20 MHz laser cannot have a 500 ns window: AnalysisError, located by analysing([decay, irf])."""
    result, paths, out, log = _run_fit_script(root, tmp_path, (2000, 0.25), (2000, 0.25), stated_period_ns=50.0)
    assert not out.exists()
    assert log.read_text() == (f"error: {paths['decay']}, {paths['irf']}: sample S1: repetition period 50 ns is "
                               "shorter than the 500 ns time window\n")
    assert list(_failures(log)["sample"]) == ["S1"]


def test_fit_script_writes_a_record_with_its_model_check(root, tmp_path):
    from qdanalysis.results import read_json

    result, _, out, log = _run_fit_script(root, tmp_path, (2000, 0.25), (2000, 0.25))
    assert _failures(log).empty, log.read_text()
    record = read_json(out)
    assert record["fit"]["flag"] == "ok" and record["fit"]["n_exponentials_setting"] == 2
    assert set(record["fit"]["check"]) >= {"deviance_per_dof", "deviance_z", "runs_z", "component_z", "bic"}
    assert {q["flag"] for q in record["quantities"]} == {"ok"}
    summary = pd.read_csv(out.parent.parent / "summary.csv")
    assert list(summary["sample"]) == ["S1"] and summary["model_flag"].iloc[0] == "ok"


# --- the independent forward model (qdanalysis.simulate.trpl) ------------------------------------
def test_decay_laws_integrate_to_their_analytic_areas_and_averages():
    from scipy.special import gamma

    edges = np.linspace(0.0, 500.0, 20001)
    stretched = sim.StretchedExponential(20.0, 0.6)
    # one period holds every photon of the periodic sum: int_0^inf exp(-(t/tau)^beta) = tau Gamma(1/beta)/beta
    assert stretched.bin_masses(edges, 500.0).sum() == pytest.approx(20.0 * gamma(1 / 0.6) / 0.6, rel=1e-9)
    assert stretched.tau_avg_int_ns == pytest.approx(20.0 * gamma(2 / 0.6) / gamma(1 / 0.6))
    lognormal = sim.LognormalLifetimes(30.0, 0.5)
    assert lognormal.tau_avg_amp_ns == pytest.approx(30.0 * np.exp(0.5**2 / 2), rel=1e-10)
    assert lognormal.tau_avg_int_ns == pytest.approx(30.0 * np.exp(1.5 * 0.5**2), rel=1e-10)
    biexp = sim.MultiExponential((10.0, 60.0), (0.6, 0.4))
    assert biexp.bin_masses(edges, 500.0).sum() == pytest.approx(0.6 * 10 + 0.4 * 60, rel=1e-12)


def test_afterpulses_add_their_probability_of_counts_as_a_slow_background():
    law = sim.MultiExponential((15.0,), (1.0,))
    clean = sim.expected_histogram(law, _instrument(afterpulse_probability=0.0, dark_counts=0.0))
    pulsing = sim.expected_histogram(law, _instrument(afterpulse_probability=0.01, dark_counts=0.0))
    # same peak scale; 1 % extra counts spread over the period (mean delay 1 us > 500 ns)
    assert (pulsing.sum() - clean.sum()) / clean.sum() == pytest.approx(0.01, rel=0.05)
    late = slice(-200, None)
    extra = pulsing[late] - clean[late]
    assert extra.min() > 0 and extra.std() / extra.mean() < 0.2


def test_fig3c_draws_whatever_temperatures_the_sheet_holds(tmp_path):
    """Fig 3c (figure kind ``decays``) needs no list of temperatures: any set, in any sheet order."""
    import logging

    from qdanalysis.figures import draw_all
    from qdanalysis.results import write_json

    rng = np.random.default_rng(31)
    decay, irf = measured_pair(rng, [20.0, 55.0], [0.7, 0.3])
    fit = fit_decay(TIME_NS, decay, irf, period_ns=PERIOD_NS)
    curves = {k: v.tolist() for k, v in fit.curves().items() if k != "fit_mask"}
    fits = tmp_path / "fits"
    for temperature in (310, 95, 150.0):
        sample = f"S_T{int(temperature)}"
        row = {"sample": sample, "treatment": "ZnBr2", "temperature_C": temperature}
        write_json({"sample": sample, "row": row, "curves": curves}, fits / f"{sample}.json")
    spec = {"kind": "decays", "stem": "Fig3c", "inputs": {"fits": str(fits)},
            "params": {"samples": ["S_T310", "S_T95", "S_T150"], "label_by": "temperature_C",
                       "sort_by": "temperature_C", "label_suffix": " C", "inset_ns": [100, 200],
                       "xlim_ns": [-20, 400], "letter": "c"},
            "pdf": str(tmp_path / "Fig3c.pdf"), "png": str(tmp_path / "Fig3c.png")}
    draw_all([spec], logging.getLogger("test"))
    assert (tmp_path / "Fig3c.png").stat().st_size > 0 and (tmp_path / "Fig3c.pdf").stat().st_size > 0
