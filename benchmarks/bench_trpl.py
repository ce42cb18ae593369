"""Benchmark: our TRPL fitter versus a naive baseline a lab would write, and versus an earlier version.

Ours: qdanalysis.trpl.fit_decay (band-limited discrete kernel, periodic FFT reconvolution, Fourier IRF
shift, Poisson MLE by Fisher scoring with analytic Jacobian, one data-driven start; its result includes
the model-adequacy checks - deviance, runs test, missing-component score - and the IRF-noise term of
the covariance), and qdanalysis.trpl.analyse_decay (what the pipeline runs per sample: axis checks, the
fit, the flag, and a refit with one more component only when the model is rejected). "before": the
same fitter at an earlier commit (``--before REV``, default the commit this work started from), loaded
from ``git show REV:qdanalysis/trpl.py``, so before and after are timed in one run on the same data.
Baseline: lmfit ``leastsq`` (MINPACK LM, finite-difference Jacobian), Neyman weights
``1/sqrt(max(y, 1))``, model ``np.convolve(irf shifted by np.interp, bi-exp)[:n] + b`` rebuilt on every
call, non-periodic, fixed generic starts. Every fitter gets the same decays and IRFs.

For N simulated bi-exponential decays (tau 15/60 ns, A1 0.6, IRF FWHM 1.5 ns with a 0.3 ns tail and the
simulator's default slow tail and reflection, decay 0.15 ns later than the measured IRF, dark counts
2e-4 x peak, no afterpulsing, one period = the 512 ns window) at 1e3, 1e4, 1e5 peak counts and two
histogram sizes (1024 x 0.5 ns, 4096 x 0.125 ns): CPU time per fit (``time.process_time``; every fitter
single-threaded), the median over ``ROUNDS`` interleaved rounds (each round times every fitter on all
N decays, so load changes on a shared machine hit all fitters alike), and bias and spread of the
recovered lifetimes. Each decay comes with its own freshly simulated IRF (no IRF-cache hits).
Run: ``PYTHONPATH=. python benchmarks/bench_trpl.py [N] [sizes] [--before REV]``, e.g.
``... 20 1024,4096``; writes a Markdown table to stdout.
"""

from __future__ import annotations

import os

# Single-threaded BLAS for all fitters, set before numpy loads: OpenBLAS worker threads spin on the
# tiny (n x 6) products and, on a shared 2-core machine, tripled our CPU time per fit at 4096 channels.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lmfit
import numpy as np

from qdanalysis.simulate import trpl as sim
from qdanalysis.trpl import analyse_decay, fit_decay, prepare_irf

ROOT = Path(__file__).resolve().parents[1]
TAU, FRACTIONS = (15.0, 60.0), (0.6, 0.4)
IRF_KW = {"fwhm_ns": 1.5, "tail_ns": 0.3, "afterpulse_probability": 0.0}
WINDOW_NS = 512.0
SIZES = {1024: 0.5, 4096: 0.125}
ROUNDS = 5
BEFORE = "89c4d37"  # main before issue 15 (TRPL adequacy) and issue 12 item 4 (speed)


def baseline_fit(time_ns, counts, irf_counts):
    """lmfit least squares; model = np.convolve(irf, bi-exp)[:n] + b, weights 1/sqrt(max(y,1))."""
    irf = prepare_irf(irf_counts, time_step_ns=time_ns[1] - time_ns[0])
    elapsed = time_ns - time_ns[0]

    def model(params):
        p = params.valuesdict()
        decay = p["a1"] * np.exp(-elapsed / p["tau1"]) + p["a2"] * np.exp(-elapsed / p["tau2"])
        shifted = np.interp(time_ns - p["shift"], time_ns, irf)
        return np.convolve(shifted, decay)[: time_ns.size] + p["b"]

    weights = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    params = lmfit.Parameters()
    peak = counts.max()
    params.add("tau1", 8.0, min=0.1)
    params.add("tau2", 40.0, min=0.1)
    params.add("a1", 0.5 * peak, min=0)
    params.add("a2", 0.5 * peak, min=0)
    params.add("shift", 0.0, min=-5, max=5)
    params.add("b", max(np.percentile(counts, 5), 0.1), min=0)
    result = lmfit.minimize(lambda p: (counts - model(p)) * weights, params, method="leastsq")
    return sorted([result.params["tau1"].value, result.params["tau2"].value])


def load_before(rev: str):
    """qdanalysis/trpl.py as of ``rev``, imported as a separate module (None if git cannot show it)."""
    try:
        source = subprocess.run(["git", "show", f"{rev}:qdanalysis/trpl.py"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    path = Path(tempfile.mkdtemp(prefix="bench_trpl_")) / "trpl_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("trpl_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["trpl_before"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def fitters(before) -> dict:
    out = {
        "fit_decay (now)": lambda t, y, irf: fit_decay(t, y, irf, period_ns=WINDOW_NS).tau_ns,
        "analyse_decay (now, pipeline)": lambda t, y, irf: analyse_decay(
            t, y, t, irf, period_ns=WINDOW_NS).fit.tau_ns,
    }
    if before is not None:
        out["fit_decay (before)"] = lambda t, y, irf: before.fit_decay(t, y, irf, period_ns=WINDOW_NS).tau_ns
    out["baseline (lmfit)"] = baseline_fit
    return out


def simulate(n_channels: int, peak: float, n_decays: int, rng) -> list[tuple[np.ndarray, np.ndarray]]:
    time_ns = sim.time_axis(n_channels, SIZES[n_channels])
    data = []
    for _ in range(n_decays):
        irf = sim.simulate_irf(time_ns, rng, peak_counts=max(peak, 1e4), period_ns=WINDOW_NS, **IRF_KW)
        decay = sim.simulate_decay(time_ns, TAU, FRACTIONS, rng, peak_counts=peak, background=peak * 2e-4,
                                   period_ns=WINDOW_NS, irf_center_ns=sim.IRF_CENTER_NS + 0.15, **IRF_KW)
        data.append((decay, irf))
    return data


def time_fitters(time_ns, data, named) -> dict[str, tuple[float, np.ndarray]]:
    """Median (over interleaved rounds) CPU ms per fit, and the lifetimes of each fitter."""
    per_round = {name: [] for name in named}
    taus = {}
    for _name, fitter in named.items():
        fitter(time_ns, *data[0])  # warm-up (first-call imports, FFT plans), not timed
    for _ in range(ROUNDS):
        for name, fitter in named.items():
            start = time.process_time()
            taus[name] = np.array([fitter(time_ns, y, irf) for y, irf in data])
            per_round[name].append((time.process_time() - start) / len(data) * 1e3)
    return {name: (float(np.median(per_round[name])), taus[name]) for name in named}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_decays", nargs="?", type=int, default=10)
    parser.add_argument("sizes", nargs="?", default="1024,4096")
    parser.add_argument("--before", default=BEFORE, help="git revision of the 'before' fitter")
    args = parser.parse_args(argv)
    before = load_before(args.before)
    named = fitters(before)
    rng = np.random.default_rng(12345)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| channels x dt | peak counts | fitter | CPU ms/fit | baseline / fitter | tau1 bias (ns) | tau1 sd (ns) "
          "| tau2 bias (ns) | tau2 sd (ns) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n_channels in (int(s) for s in args.sizes.split(",")):
        time_ns = sim.time_axis(n_channels, SIZES[n_channels])
        for peak in (1e3, 1e4, 1e5):
            rows = time_fitters(time_ns, simulate(n_channels, peak, args.n_decays, rng), named)
            baseline_ms = rows["baseline (lmfit)"][0]
            for name, (per_fit, taus) in rows.items():
                bias = taus.mean(axis=0) - TAU
                spread = taus.std(axis=0, ddof=1)
                print(f"| {n_channels} x {SIZES[n_channels]:g} ns | {peak:.0e} | {name} | {per_fit:.2f} | "
                      f"{baseline_ms / per_fit:.1f}x | {bias[0]:+.3f} | {spread[0]:.3f} | {bias[1]:+.3f} | "
                      f"{spread[1]:.3f} |", flush=True)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
