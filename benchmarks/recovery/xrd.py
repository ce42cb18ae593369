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

Background (this table): with oxides the film is fitted with the degree-6 Chebyshev background, then
with degree 10 from its own start and from the degree-6 optimum (the lower chi-square kept); degree 10
is reported and every number the oxides overlap (ratios, cell, (111) angle, size) carries half its
change from degree 6 (``qdanalysis.xrd.BACKGROUND_SHAPE_TERM``). Why: on noise-free weak-oxide films
(draws 400-479 with the Poisson step removed) degree 6 took part of broad ZnO/CdO profiles (ZnO -15.6 %
and CdO -5.8 % on average, single films -76 %) and degree 10 gave most of it back (-3.2 %, -1.7 %), at
chi-square differences of 0.1-3.4 that no criterion on the fit turns into the right choice. The
previous table chose by AIC (Akaike-weighted spread in the sigma): degree 6 was reported on most
films and the weak case's ratios came out low (ZnO 0.861 / -0.67 sigma, sum 0.906 / -0.46 over draws
0-199; on calibration draws 400-519 ZnO 0.924 / -0.40, CdO 0.918 / -0.31, sum 0.896 / -0.39). On the
same calibration draws degree 10 with half the change gives ZnO 0.957 / -0.22, CdO 0.969 / -0.18, sum
0.948 / -0.21 (with none of it: 0.957, 0.959, 0.938; with all of it: 0.957, 0.980, 0.948). The degree-10
fit from its own start alone fell once in 120 films into a basin 457 above degree 6 in chi-square (ZnO
domains of 1 nm, ratio 1.69 against 0.024); the nested start keeps the richer fit at least as good.

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
about three quarters of the rule's value at 11-14 nm (coverage 0.974, pull sd 0.87). The pair case's
cell, high by +0.50 sigma then, was put down to the oxides' misfit; it was the assumed Debye-Waller
factor (below).

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

Oxide lines at the instrument's resolution: a weak oxide of small domains can vanish into the
background while a narrow line of the same phase fits a few counts of noise (draws 28 and 29 of the
first tables: ZnO 0.0034 +- 0.0008 and 0.0011 +- 0.0005 against 0.0139 and 0.0067; holding the ZnO size
at the truth cost chi-square +4.5 and +7.4, and a start at 5 nm returned to the narrow line: the
data do not tell a broad weak oxide from the background). On calibration draws 400-599 (weak) the only
fits with an oxide line no broader than twice the instrument FWHM (1.03 and 1.24 times it, 190 and
142 nm) were 6.9 and 3.7 sigma low. Such a line is now flagged (``not nanometric domains, size
unresolved``), on its ratio and the oxide sum, as the zinc blende size is at the resolution limit. In
this table the flag takes 9 weak ZnO values (6 beyond 2 sigma, 3 beyond 5) and 2 pair ZnO values
(both beyond 5 sigma); ok values beyond 4 sigma: weak ZnO 3 (-14.9, -5.4, -4.5), weak sum 1 (-9.4),
pair ZnO 1 (-4.1).

Known limit, measured and in part fixed since: the oxide ratios come out low on average (ZnO by up to 8 %,
CdO by about 1 %, calibration draws 400-439), from three model choices that trade area with broad
oxide profiles, each seen on noise-free patterns (5 % CdO and ZnO, 12 nm unless stated): the
degree-6 Chebyshev background takes part of a broad profile (6 nm oxide domains: ZnO -4.2 %, CdO
-1.2 %; with degree 10, -1.8 % and -0.5 %; with degree 14, +1.2 % and 0.0 % but a three times larger
sigma); the held oxide size dispersion (log-sd 0.2; a true 0.3 gives -6.3 % and -3.2 %, a true 0.1
gives +1.8 % and +1.6 %: the response is lopsided, so the symmetric sigma term leaves a net low
bias); and the Debye-Waller factor of the computed oxide pattern (B = 0.5 A^2 assumed then; a true
1.5 A^2 gives -2.9 % and -1.3 %; now assumed 0.9 with its move in sigma, below). Fitting the
dispersion under a Gaussian prior (0.2 +- 0.1) left ZnO
-5.7 % (pair) and -8.1 % (weak) low on calibration draws 400-439; a degree-10 background gave
oxide_ratio coverage 1.00 on draws 400-429 but left ZnO -5.8 % low in the pair case and made the
fits about 1.8 times slower. Every number here but the 6 nm degree-6 pair was measured before the
simulator kept whole line tails (that change moved the pair from ZnO -3.0 % and CdO -1.3 % to -4.2 %
and -1.2 %). With the AIC choice (weak case, calibration draws 400-439) ZnO was still 5.4 % low on
average, its four worst draws fits whose ZnO domains came out 1.17-1.80 times their true size. With
degree 10 reported and B = 0.5 (the previous table, ok values) ZnO was 2.5 % low on average in the
weak case and 2.9 % in the pair, CdO +0.9 % and -0.6 %; with B = 0.9 (this table) -1.5 %, -1.6 %, +1.8 %
and -0.1 %.

Assumed Debye-Waller factor and oxide dispersion (this table): B was assumed 0.5 A^2 with no term in
sigma and the oxides' log-sd 0.2 with sd 0.1; now B is 0.9 with sd 0.35 (the middle and spread of the
0.3-1.5 A^2 these draws take) and the move of a refit with B + sd, the oxide patterns recomputed for it,
goes into the sigma of the cell, (111) angle, size and ratios; the log-sd's sd is 0.06 (a uniform
0.1-0.3, as drawn). Why: the pair case's zinc blende cell came out high by 7.1e-5 of a on average (+0.48
sigma, coverage 0.920 over draws 0-199), at high and low oxide content alike. The same CdSe/ZnS films
simulated without oxides and analysed with and without oxide phases (16 films) showed the same pull
(+0.73, +0.66; +0.64 with the oxides): not the oxides. On noise-free films (draws of both families,
3-12 nm) fitting with the true B instead of 0.5 took the mean error from +2.0e-5 to +0.3e-5 of a
(CdSe/ZnS) and from +5.5e-5 to +3.0e-5 (InP family); the assumed envelope composition changed it by
< 0.4e-5. On pair calibration draws 400-439 B = 0.9 moved the cell from +0.47 to +0.22 sigma and the
oxide ratios' mean error from -1.8 % to -0.9 % (ZnO -4.8 % to -2.7 %, CdO -0.5 % to +0.2 %). A
refit of the envelope alone (the oxide intensities kept at B) moved ZnO 15 times less than a whole
analysis at B + sd; with them rebuilt the two agree (``test_assumed_debye_waller_factor_enters_sigma...``).
With the log-sd's sd at 0.1 the pair's CdO stayed over-covered (pull sd 0.70 on those draws); at 0.06,
0.91. On weak calibration draws 400-459 the sum covered 0.917 (pull sd 1.01), CdO 0.933, ZnO 0.965.

Table status (200 draws per case): all 13 rows meet the target, against 10 in the previous table
(B 0.5, log-sd sd 0.1). Met now: the pair's zinc blende cell (0.960 / +0.16, was 0.920 / +0.48; mean
error +2.0e-5 of a, was +7.1e-5), CdO (pair 0.975, pull sd 0.93, was 0.990 / 0.74; weak 0.968, was
0.981). The others: ZnO pair 0.954 / -0.23 (was 0.953 / -0.37), weak 0.938 / -0.39 with pull sd 1.66
(heavy tails: the weak broad ZnO the data cannot tell from the background, above), weak sum 0.942 /
-0.18, zinc blende case cell 0.945 / -0.07 (was 0.930). Mean relative errors of ok ratios: ZnO -1.6 %
(pair) and -1.5 % (weak), was -2.9 % and -2.5 %; CdO -0.1 % and +1.8 %.
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
                      "finite-crystal model term hypot(1.5e-3 nm² / D², 2e-5) x a (D the fitted size) ⊕ move "
                      "in a refit with the assumed Debye-Waller B 0.9 Å² + its sd 0.35 ⊕ with oxides, their "
                      "background and dispersion terms; "
                      "flag: reduced χ² > 1.5, parameter at bound, standard lines missing",
    "zb111_2theta_deg": "as the lattice parameter (Bragg angle of the fitted cell)",
    "scherrer_size_nm": "fit σ of the volume-weighted diameter of log-normal spheres ⊕ its move when the "
                        "instrument Lorentzian moves by its σ (refit) ⊕ B's move (as the cell) ⊕ with oxides, their "
                        "background and dispersion terms; flag: breadth near the instrument's, size at bound, χ²",
    "instrument_fwhm_deg": "fit σ (propagated from the fundamental-parameters line's shape parameters) ⊕ 0.11 % "
                           "model systematic (rms error on noise-free standards, calibration draws 400-439); "
                           "flag: χ², bound, no covariance",
    "oxide_ratio": "fit σ (areas tied to the computed oxide patterns incl. anomalous dispersion; degree-10 "
                   "background) ⊕ half the change to a degree-6 background ⊕ dispersion term (log-sd 0.2 + its "
                   "sd 0.06, refit) ⊕ B's move (the oxide patterns recomputed); flag: not "
                   "detected (< 2σ), line no broader than 2x the instrument's, dispersion or size at bound",
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
