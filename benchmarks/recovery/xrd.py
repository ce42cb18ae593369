"""XRD recovery: lattice parameter, (111) position, Scherrer size, oxide ratios, instrument FWHM.

Each draw builds a diffractometer (K-alpha2 ratio 0.45-0.55, geometric FWHM 0.04-0.07 deg, Soller
acceptance 0.015-0.03 rad), measures its Si line standard (own displacement, 250-600 counts x deg in
Si (111)), and one or two QD films: zinc blende of a random composition (InP/ZnSe/ZnS or CdSe/ZnS
virtual crystal, a = 5.41-5.75 A), spheres of volume-weighted diameter 3-15 nm and log-sd 0.05-0.30
(Debye scattering equation), Debye-Waller B 0.3-1.5 A^2, specimen displacement sd 50 um, (111) area
800-6000 counts x deg, ligand hump, air and incoherent background of random size and shape; oxidised
films add CdO and ZnO domains (volume-weighted 6-20 nm, log-sd 0.1-0.3, 0.5-8 % of the QD volume).
Patterns are written as ``.xy`` (the pipeline's format), read with :func:`qdanalysis.io.xy.read_xy`
and analysed with :func:`qdanalysis.xrd.analyse_standard` / :func:`qdanalysis.xrd.analyse_pattern`,
the functions the Snakemake scripts call, with the pipeline's ``config.yaml`` settings.

Truths: the lattice parameter the crystallites are built with and its (111) Bragg angle for the
header wavelength; the volume-weighted mean diameter ``<D^4>/<D^3>`` (what an integral-breadth
Scherrer size with K = 4/3 measures for spheres); oxide ratios of kinematic integrated intensities;
the FWHM of the standard's noise-free K-alpha1 line as recorded.

Background choice (this table): with oxides, the film is fitted with the degree-6 and, from its own
start, the degree-10 Chebyshev background; the lower AIC is reported and the Akaike-weighted spread of
the ratios over both fits goes into their sigma. On calibration draws 400-409 (pair case) degree 6
alone left two silent misses (ZnO pulls -4.4 and +4.8, oxide_ratio -4.2 and +4.9), which the choice
brings to -1.2 and -0.3 (oxide_ratio -0.8 and -0.2). A refit of degree 10 started from the degree-6
optimum instead stayed in its basin (ZnO pull -3.5 on draw 409). The choice was by BIC until the
weak case's calibration draws 400-439 showed it never taking degree 10 (its BIC 6-48 higher: 4 ln n
= 31 for four coefficients) while degree 10 moved ZnO by up to 80 % of its value, mostly towards the
truth: the spread went unreported (ZnO coverage 0.857, bias -0.69 sigma; CdO 0.862, -0.61; sum
0.828, -0.73). Neither polynomial is the true background, the case Akaike's criterion is for; by
AIC, on the same draws, ZnO 0.929 / -0.40, CdO 0.897 / -0.42, sum 0.931 / -0.46 (pair case, draws
400-424: ZnO, CdO and sum 1.000, 1.000 and 0.960 against 0.892, 1.000 and 0.923 by BIC on 400-439).
A relative oxide-model term on top (3-8 % of each ratio) was tried on those draws and dropped: the
pair case is over-covered already (pull sd 0.7-0.8) and the term hardly moves the weak case's
misses (ZnO coverage 0.929 at every size of it).

Lattice parameter: on noise-free patterns (draws 400-439, the instrument given exactly) the fitted
cell is high by up to 2.6e-4 of a for 3-3.5 nm crystallites with a large Debye-Waller factor, 0.5-1.3e-4
at 4-5.5 nm and 1-3e-5 above 9 nm: the Debye-scattering pattern of a few-nm sphere of atoms is not the
broadened Bragg line under the fixed-B envelope the fit assumes. The cell's sigma therefore carries a
finite-crystal term, relative hypot(1.5e-3 nm^2 / D^2, 2e-5) (rms of error/term 1.0 on those 40
patterns; ``qdanalysis.xrd.FINITE_CRYSTAL_CELL``). Without it the cell's coverage over draws 0-199 was
0.910 (pull sd 1.06). Tried and dropped: fitting the envelope's B (it runs to 3.5-5 A^2 on 3 nm
crystallites and turns the error to -5e-4 to -7e-4 of a); propagating the standard's K-alpha2 ratio
(fitted to +-0.006-0.014, it left the missing draws' pulls unchanged to 0.01).

Scherrer size: the instrument Lorentzian's share of its sigma was the linear rule "Lorentzian breadths
add" until this table showed the size over-covered (coverage 0.984, pull sd 0.79 over draws 0-199; 1.00
and 0.48-0.74 above 8 nm); it is now the size's move in a refit with the Lorentzian moved by its sigma,
about three quarters of the rule's value at 11-14 nm (coverage 0.974, pull sd 0.87). In the pair case
the oxides' misfit (their ratios come out low, below) leaves intensity the zinc blende profile takes:
the cell there comes out high (bias +0.50 sigma, coverage 0.915 over 200 draws; 0.900 over 40).

Instrument FWHM: the standard's line is a fundamental-parameters model (Hoelzer's Cu K-alpha emission
lines cut by a fitted monochromator band, a specimen Lorentzian, a Gaussian, triangular Soller
acceptances of fitted width, channel averaging; ``qdanalysis.xrd._StandardLineModel``). The split
Voigt it replaces read the FWHM high, by more where the line was more asymmetric and the counts
higher (+1.8 % on average noise-free at this benchmark's 400 counts x deg, +5.5 % at 1e6; bias
+0.59 sigma, coverage 0.979 over draws 0-199). On noise-free calibration standards (draws 400-439)
the new fit is off by 0.11 % rms, the model systematic in ``config.yaml``; with 1e5 counts x deg
(12 instruments) the mean error is -0.02 % (sd 0.14 %) at reduced chi-square 1.1-9.8, the largest
for the widest Sollers, whose simulated acceptance (a 9-node quadrature) the fit does not assume.
Where the Sollers are narrow the fitted width can sit at 0, where the chi-square is flat in it;
the linearly propagated sigma is then too large (up to 8 %) rather than too small. With the new
instrument line the zinc blende cell's coverage went from 0.945 to 0.930 (three draws of 200).

Silent oxide misses, measured, not fixed: in the weak case a ZnO of small domains (6-10 nm) at 0.7-1.4 %
of the QD (111) intensity can vanish into the degree-6 background while a narrow ZnO (31-200 nm) fits the
noise: draws 28 and 29 report ZnO 0.0034 +- 0.0008 and 0.0011 +- 0.0005 against 0.0139 and 0.0067
(pulls -13.5 and -10.8). A profile over the ZnO size does not rescue them: holding it at the true size
costs chi-square +4.5 (draw 28, ratio 0.0092) and +7.4 (draw 29, ratio 0) against the narrow solution,
and a start at 5 nm returns to it. The data do not tell a broad weak oxide from the background.
With the AIC choice draw 28 is the same (pull -12.7, flagged ok), draw 29 now flagged (ZnO not
detected); over the 200 weak draws 5 ok ZnO values are more than 4 sigma off (-4.4 to -12.7).

Known limit, measured but not yet fixed: the oxide ratios come out low on average (ZnO by up to 8 %,
CdO by about 1 %, calibration draws 400-439), from three model choices that trade area with broad
oxide profiles, each seen on noise-free patterns (5 % CdO and ZnO, 12 nm unless stated): the
degree-6 Chebyshev background takes part of a broad profile (6 nm oxide domains: ZnO -4.2 %, CdO
-1.2 %; with degree 10, -1.8 % and -0.5 %; with degree 14, +1.2 % and 0.0 % but a three times larger
sigma); the held oxide size dispersion (log-sd 0.2; a true 0.3 gives -6.3 % and -3.2 %, a true 0.1
gives +1.8 % and +1.6 %: the response is lopsided, so the symmetric sigma term leaves a net low
bias); and the Debye-Waller factor of the computed oxide pattern (B = 0.5 A^2 assumed; a true 1.5
A^2 gives -2.9 % and -1.3 %). Fitting the dispersion under a Gaussian prior (0.2 +- 0.1) left ZnO
-5.7 % (pair) and -8.1 % (weak) low on calibration draws 400-439; a degree-10 background gave
oxide_ratio coverage 1.00 on draws 400-429 but left ZnO -5.8 % low in the pair case and made the
fits about 1.8 times slower. Every number here but the 6 nm degree-6 pair was measured before the
simulator kept whole line tails (that change moved the pair from ZnO -3.0 % and CdO -1.3 % to -4.2 %
and -1.2 %). With the AIC choice (weak case, calibration draws 400-439) ZnO is still 5.4 % low on
average, and its four worst draws (pulls -1.7 to -3.2, 29-38 % low) are fits whose ZnO domains came
out 1.17-1.80 times their true size (the other draws: 1.06 median): a narrower ZnO profile holds less
area, and the background takes the rest - the same trade as above, now inside the sigma only in part.

Table status (200 draws per case since the cap went; the previous table had 40 per oxide case, by
BIC): 8 of 13 rows meet the target, against 5. Still missing: ZnO (pair 0.918 / -0.57 sigma; weak
0.861 / -0.67 with pull sd 1.85, the silent misses above), the weak case's sum (0.906 / -0.46, through
ZnO), the pair's ratio of ratios (0.912, through the treated film's weak ZnO) and the pair's zinc
blende cell (0.915 / +0.50: the oxides' misfit leaves intensity the zinc blende profile takes).
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from benchmarks.recovery.core import Recovered
from qdanalysis import xrd
from qdanalysis.io.xy import format_xy, read_xy
from qdanalysis.results import OK
from qdanalysis.simulate import xrd as sim

ROOT = Path(__file__).resolve().parents[2]
UNITS = {"zb_lattice_a_A": "Å", "zb111_2theta_deg": "deg", "scherrer_size_nm": "nm", "instrument_fwhm_deg": "deg",
         "oxide_ratio": "", "cdo_ratio": "", "zno_ratio": "", "oxide_ratio_relative_to_BPO": ""}
NOTES = {
    "zb_lattice_a_A": "fit σ (displacement fitted; axial shift and K-alpha centroids from the standard) ⊕ "
                      "finite-crystal model term hypot(1.5e-3 nm² / D², 2e-5) x a (D the fitted size); "
                      "flag: reduced χ² > 1.5, parameter at bound, standard lines missing",
    "zb111_2theta_deg": "as the lattice parameter (Bragg angle of the fitted cell)",
    "scherrer_size_nm": "fit σ of the volume-weighted diameter of log-normal spheres ⊕ its move when the "
                        "instrument Lorentzian moves by its σ (refit); flag: breadth near the instrument's, size at "
                        "bound, χ²",
    "instrument_fwhm_deg": "fit σ (propagated from the fundamental-parameters line's shape parameters) ⊕ 0.11 % "
                           "model systematic (rms error on noise-free standards, calibration draws 400-439); "
                           "flag: χ², bound, no covariance",
    "oxide_ratio": "fit σ (areas tied to the computed oxide patterns incl. anomalous dispersion) ⊕ Akaike-weighted "
                   "spread over degree-6/10 backgrounds (AIC choice) ⊕ dispersion term; flag: not "
                   "detected (< 2σ), dispersion or size at bound",
    "cdo_ratio": "as oxide_ratio", "zno_ratio": "as oxide_ratio",
    "oxide_ratio_relative_to_BPO": "independent-error propagation of the two ratios; flag: either sample's",
}
# Every case runs the full count: since the structure factors are computed once per scan (not per
# reflection) an oxide draw costs ~8 s (weak) and ~22 s (pair, two films), no longer ~25 s and ~45 s,
# so the 40-draw cap those cases had (under which a calibrated row met the 0.93-0.98 band only about
# half the time, 38 or 39 of 40) is gone.
FAMILIES = ({"InP": (0.0, 0.15), "ZnSe": (0.1, 0.7)}, {"CdSe": (0.1, 0.6)})


@lru_cache(maxsize=1)
def settings() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())["xrd"]


def _instrument(rng) -> sim.Instrument:
    return sim.Instrument(kalpha2_ratio=rng.uniform(0.45, 0.55), geometric_fwhm_deg=rng.uniform(0.04, 0.07),
                          soller_half_width_rad=rng.uniform(0.015, 0.03),
                          monochromator_2theta_deg=settings()["monochromator_2theta_deg"],
                          goniometer_radius_mm=settings()["goniometer_radius_mm"])


def _displacement(rng) -> float:
    return float(np.clip(rng.normal(0.0, 0.05), -0.15, 0.15))


def _background(rng) -> sim.Background:
    return sim.Background(ligand_counts=rng.uniform(100, 400), ligand_d_A=rng.uniform(4.0, 4.8),
                          ligand_fwhm_q=rng.uniform(0.35, 0.6), second_hump_fraction=rng.uniform(0.0, 0.2),
                          air_counts=rng.uniform(150, 450), flat_counts=rng.uniform(30, 100),
                          incoherent_counts=rng.uniform(10, 40))


def _sizes(rng, low_nm: float, high_nm: float, sigma=(0.05, 0.30)) -> sim.LogNormalSpheres:
    volume_weighted, sigma_ln = rng.uniform(low_nm, high_nm), rng.uniform(*sigma)
    return sim.LogNormalSpheres(volume_weighted * math.exp(-3.5 * sigma_ln ** 2), sigma_ln)


def _zinc_blende(rng, family: dict | None = None) -> sim.Crystal:
    family = family or FAMILIES[int(rng.integers(len(FAMILIES)))]
    fractions = {name: rng.uniform(*bounds) for name, bounds in family.items()}
    fractions["ZnS"] = max(1.0 - sum(fractions.values()), 0.05)
    return sim.alloy("QD", fractions, b_iso_A2=rng.uniform(0.3, 1.5))


def _measure(workdir: Path, name: str, counts: np.ndarray):
    path = workdir / f"{name}.xy"
    path.write_text(format_xy(sim.TWO_THETA_DEG, counts, wavelength_A=sim.WAVELENGTH_A,
                              comments=[f"sample {name}"], two_theta_format="{:.2f}"))
    return read_xy(path)


def _standard(rng, workdir, instrument):
    counts, truth = sim.simulate_standard(rng, instrument, si111_area=rng.uniform(250, 600),
                                          displacement_mm=_displacement(rng))
    pattern = _measure(workdir, "standard", counts)
    fit, quantities = xrd.analyse_standard(pattern.two_theta_deg, pattern.counts, pattern.wavelength_A, settings(),
                                           "standard")
    return fit, quantities[0], truth


def _recovered(quantity, truth: float) -> Recovered:
    return Recovered(truth, quantity.value, quantity.uncertainty, quantity.flag or OK)


def _film(rng, workdir, name, instrument, standard_fit, components, oxide_phases=()):
    specimen = sim.Specimen(tuple(components), _displacement(rng))
    counts, truth = sim.simulate_pattern(rng, specimen, float(np.exp(rng.uniform(np.log(800), np.log(6000)))),
                                         _background(rng), instrument)
    pattern = _measure(workdir, name, counts)
    _, quantities = xrd.analyse_pattern(pattern.two_theta_deg, pattern.counts, pattern.wavelength_A, settings(),
                                        standard_fit.instrument, name, oxide_phases=oxide_phases,
                                        standard="standard", standard_flags=standard_fit.flags)
    return {q.quantity: q for q in quantities}, truth


def zinc_blende(rng, workdir):
    """One QD film without oxides, and the session's line standard."""
    instrument = _instrument(rng)
    standard_fit, fwhm, standard_truth = _standard(rng, workdir, instrument)
    qd = sim.Component(_zinc_blende(rng), 1.0, _sizes(rng, 3.0, 15.0), debye=True)
    found, truth = _film(rng, workdir, "film", instrument, standard_fit, [qd])
    out = {name: _recovered(found[name], truth[name])
           for name in ("zb_lattice_a_A", "zb111_2theta_deg", "scherrer_size_nm")}
    out["instrument_fwhm_deg"] = _recovered(fwhm, standard_truth["instrument_fwhm_deg"])
    return out


def _oxides(rng, fractions: dict[str, float], sizes: dict[str, sim.LogNormalSpheres]):
    return [sim.Component(sim.crystal(name, b_iso_A2=rng.uniform(0.3, 1.5)), fractions[name], sizes[name])
            for name in ("CdO", "ZnO")]


def oxidised_pair(rng, workdir):
    """A BPO-oxidised CdSe/ZnS film and the same after a treatment that removes 1/3-4/5 of the oxides."""
    instrument = _instrument(rng)
    standard_fit, _, _ = _standard(rng, workdir, instrument)
    qd = sim.Component(_zinc_blende(rng, FAMILIES[1]), 1.0, _sizes(rng, 3.0, 12.0), debye=True)
    sizes = {name: _sizes(rng, 6.0, 20.0, (0.1, 0.3)) for name in ("CdO", "ZnO")}
    before = {name: rng.uniform(0.01, 0.08) for name in ("CdO", "ZnO")}
    reduction = rng.uniform(1.5, 5.0)
    found_b, truth_b = _film(rng, workdir, "bpo", instrument, standard_fit,
                             [qd, *_oxides(rng, before, sizes)], ("CdO", "ZnO"))
    found_a, truth_a = _film(rng, workdir, "treated", instrument, standard_fit,
                             [qd, *_oxides(rng, {k: v / reduction for k, v in before.items()}, sizes)],
                             ("CdO", "ZnO"))
    change = xrd.ratio_change_quantity(found_b["oxide_ratio"], found_a["oxide_ratio"], "oxide_ratio_relative_to_BPO")
    out = {name: _recovered(found_b[name], truth_b[name])
           for name in ("oxide_ratio", "cdo_ratio", "zno_ratio", "zb_lattice_a_A", "scherrer_size_nm")}
    out["oxide_ratio_relative_to_BPO"] = _recovered(change, truth_a["oxide_ratio"] / truth_b["oxide_ratio"])
    return out


def oxidised_weak(rng, workdir):
    """A film after the oxide-removing treatment: 0.3-2 % oxide by volume."""
    instrument = _instrument(rng)
    standard_fit, _, _ = _standard(rng, workdir, instrument)
    qd = sim.Component(_zinc_blende(rng, FAMILIES[1]), 1.0, _sizes(rng, 3.0, 12.0), debye=True)
    sizes = {name: _sizes(rng, 6.0, 20.0, (0.1, 0.3)) for name in ("CdO", "ZnO")}
    found, truth = _film(rng, workdir, "weak", instrument, standard_fit,
                         [qd, *_oxides(rng, {name: rng.uniform(0.003, 0.02) for name in ("CdO", "ZnO")}, sizes)],
                         ("CdO", "ZnO"))
    return {name: _recovered(found[name], truth[name]) for name in ("oxide_ratio", "cdo_ratio", "zno_ratio")}


CASES = {"zinc_blende": zinc_blende, "oxidised_pair": oxidised_pair, "oxidised_weak": oxidised_weak}
