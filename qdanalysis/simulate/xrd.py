"""Forward model for the XRD slice: powder patterns (.xy) of the QD films and a Si line standard.

Written from the physics, sharing no model code with :mod:`qdanalysis.xrd` (only the tabulated cells
of ``qdanalysis/data/phases.csv``, read here directly). What it simulates, and what the analysis is
*not* told:

* **Crystallites.** Each phase is a population of spheres with a log-normal distribution of
  diameters (number-weighted, median ``median_nm``, log-sd ``sigma_ln``).
  - The QDs' zinc blende is computed with the Debye scattering equation
    ``I(q) = sum_ij f_i f_j* sin(q r_ij)/(q r_ij)`` over every pair of atoms of the ensemble. A
    sphere cut at a random position of the lattice has, on average, ``n V_c(|v|)`` atom pairs per
    lattice vector ``v`` (``V_c``: common volume of the sphere and its copy shifted by ``v``), so the
    ensemble's pair distribution is exact on the lattice: the pair vectors of zinc blende lie on the
    ``a/4`` grid (same-sublattice vectors: fcc, ``|v|^2 = (a/4)^2 4m``, m even, multiplicity
    ``r3(m)``; cation-anion vectors: odd triples, ``|v|^2 = (a/4)^2 n``, n = 3 mod 8, multiplicity
    ``r3(n)/2``; ``r3`` = number of representations as a sum of three squares), weighted by the
    size-averaged common volume (closed form for the log-normal, from its incomplete moments). No
    reflection list, no line-profile function: peak shapes, overlaps, shifts from the form factor
    and the ``1/q`` powder factor, the diffuse Laue and thermal scattering all come out of the sum.
  - Oxides (CdO rock salt, ZnO wurtzite) and the Si standard: Bragg reflections from the structure
    factors, each spread by the exact line profile of the sphere population (cosine transform of
    the same common-volume function), with the orientation-averaged powder factor
    ``Phi(s - g) / (4 pi V_cell^2 s g)`` (``s = 2 sin(theta)/lambda``, ``g = 1/d``).
* **Scattering factors.** Waasmaier & Kirfel (Acta Cryst. A51 (1995) 416) five-Gaussian ``f0``
  (a different parametrisation from the analysis' Cromer-Mann), plus anomalous dispersion ``f'``,
  ``f''`` for Cu K-alpha (International Tables Vol. C, Table 4.2.6.8; the tabulated
  ``qdanalysis/data/anomalous_dispersion.csv``);
  isotropic Debye-Waller factor ``exp(-B s^2 / 2)``. Alloys are random: site-averaged ``f`` for the
  pair terms, site-averaged ``|f|^2`` for the self term (Laue diffuse scattering).
* **Source.** Cu K-alpha as four Lorentzians in energy (Hoelzer et al., Phys. Rev. A 56 (1997)
  4554), K-alpha2 area ``kalpha2_ratio`` x K-alpha1, their far Lorentzian tails cut by the
  monochromator's band pass (``ln(lambda/lambda1)`` from -0.006 to +0.0085). Wavelength spread enters
  as an exact convolution in ``u = ln sin(theta)`` (a wavelength change shifts every ``u`` by
  ``ln(lambda/lambda1)``).
* **Diffractometer** (Bragg-Brentano, goniometer radius 240 mm). Polarisation factor of a
  diffracted-beam graphite monochromator, ``(1 + cos^2 2theta_m cos^2 2theta) / (1 + cos^2 2theta_m)``,
  ``2theta_m = 26.6 deg``; the Lorentz factor needs no separate term (it is the ``1/(s g)`` powder
  factor above and the ``d(2theta)/ds`` of the scan). Gaussian geometric profile; axial divergence
  from the exact small-angle ray geometry, ``delta(2theta) = -(psi_i^2 + psi_d^2)/2 cot 2theta +
  psi_i psi_d / sin 2theta`` over triangular Soller acceptances (asymmetric low-angle tails and a
  shift); specimen displacement ``h``: ``delta(2theta) = -2 h cos(theta) / R``; counts averaged over
  each 0.02 deg channel.
* **Background.** An amorphous ligand (oleylamine/oleate) hump, Gaussian in ``q`` at d = 4.4 A with
  a weak second maximum at d = 2.1 A; air scatter falling as ``1/sin^2 theta``; a flat substrate
  level; incoherent (Compton) scattering of the film rising with ``s``. Poisson counts.

Truths (what the analysis is compared with):

* ``zb_lattice_a_A``: the lattice parameter the crystallites are built with;
  ``zb111_2theta_deg``: its Bragg angle for the file's K-alpha1 wavelength (header).
* ``scherrer_size_nm``: the volume-weighted mean diameter ``<D^4>/<D^3>`` of the zinc blende
  spheres, which is what a Scherrer size from the integral breadth of the size-broadened profile
  with the sphere constant ``K = 4/3`` measures (Stokes & Wilson 1942: integral breadth =
  1/(volume-weighted column length) = 1/(3/4 <D^4>/<D^3>) for spheres).
* ``oxide_ratio`` (and ``cdo_ratio``, ``zno_ratio``): kinematic integrated intensities (K-alpha1,
  narrow-line limit, ``P m |F|^2 DW lambda / (4 pi V_cell^2 g^2 cos theta)`` per unit phase volume) of
  CdO (111), (200) and ZnO (100), (002), (101) over that of the zinc blende (111).
* Line standard: ``instrument_fwhm_deg`` = FWHM of the noise-free, background-free K-alpha1 Si (111)
  line as recorded (channel averaging included); ``kalpha2_ratio``.

Shipped samples (the paper states no XRD number; assumptions, documented here): InP/ZnSe/ZnSeS/ZnS
(halide_treatment series: pristine, OAm, ZnCl2, ZnBr2, ZnI2) as one coherent zinc blende in the
virtual-crystal approximation, InP 0.06 / ZnSe 0.42 / ZnS 0.52 by volume (Vegard), spheres of median
8.5 nm, log-sd 0.10, identical for every treatment (the paper: structure unchanged); CdSe/ZnS with a
BPO-oxidised core (oxidized_core series), CdSe 0.30 / ZnS 0.70, median 6.0 nm, log-sd 0.12, with
crystalline CdO (median 10 nm) and ZnO (median 9 nm) domains of volume fractions 0.050 and 0.040 of
the QD volume after BPO, three-fold less after OAm-Br. One Si standard (NIST SRM 640, micrometre
crystallites) per series' session; every specimen has its own displacement (sd 40 um).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from scipy.special import erfc

from qdanalysis.io.xy import format_xy
from qdanalysis.simulate.samples import MULTISHELL, SAMPLES, sheet_row

HC_EV_A = 12398.41984  # h c in eV x angstrom (CODATA)
# Cu K-alpha emission (Hoelzer et al. 1997, Table II): energy (eV), Lorentzian FWHM (eV), peak height;
# the first two make K-alpha1, the last two K-alpha2.
CU_KALPHA_LINES = ((8047.8372, 2.285, 0.957), (8045.3672, 3.358, 0.090),
                   (8027.9935, 2.667, 0.334), (8026.5041, 3.571, 0.111))
KALPHA1_A = HC_EV_A / CU_KALPHA_LINES[0][0]  # 1.540593 A, peak of K-alpha1
WAVELENGTH_A = 1.5406  # what the file header states (K-alpha1, as diffractometer software writes it)
TWO_THETA_DEG = np.round(np.arange(10.0, 80.0 + 1e-9, 0.02), 2)
OVERSAMPLE = 10  # fine points per 0.02 deg channel

# Waasmaier & Kirfel (1995) f0(k) = c + sum a_i exp(-b_i k^2), k = sin(theta)/lambda (1/A):
# ((a1..a5), c, (b1..b5)), transcribed from DABAX f0_WaasKirf.dat (ESRF).
WAASMAIER_KIRFEL = {
    "O": ((2.960427, 2.508818, 0.637853, 0.722838, 1.142756), 0.027014,
          (14.182259, 5.936858, 0.112726, 34.958481, 0.390240)),
    "Si": ((5.275329, 3.191038, 1.511514, 1.356849, 2.519114), 0.145073,
           (2.631338, 33.730728, 0.081119, 86.288643, 1.170087)),
    "P": ((1.950541, 4.146930, 1.494560, 1.522042, 5.729711), 0.155233,
          (0.908139, 27.044952, 0.071280, 67.520187, 1.981173)),
    "S": ((6.372157, 5.154568, 1.473732, 1.635073, 1.209372), 0.154722,
          (1.514347, 22.092527, 0.061373, 55.445175, 0.646925)),
    "Zn": ((14.741002, 6.907748, 4.642337, 2.191766, 38.424042), -36.915829,
           (3.388232, 0.243315, 11.903689, 63.312130, 0.000397)),
    "Se": ((17.354071, 4.653248, 4.259489, 4.136455, 6.749163), -3.160982,
           (2.349787, 0.002550, 15.579460, 45.181202, 0.177432)),
    "Cd": ((6.080986, 18.019468, 4.018197, 1.303510, 17.974669), 0.603504,
           (0.048990, 7.273646, 29.119284, 95.831207, 0.661231)),
    "In": ((6.196477, 18.816183, 4.050479, 1.638929, 17.962912), 0.333097,
           (0.042072, 6.695665, 31.009790, 103.284348, 0.610714)),
}
# Anomalous dispersion (f', f'') for Cu K-alpha: qdanalysis/data/anomalous_dispersion.csv (tabulated data).


# Shipped truths (module docstring).
MULTISHELL_FRACTIONS = {"InP": 0.06, "ZnSe": 0.20 + 0.22, "ZnS": 0.22 + 0.30}
CDSE_ZNS_FRACTIONS = {"CdSe": 0.30, "ZnS": 0.70}
MULTISHELL_SIZES = (8.5, 0.10)  # median nm, log-sd
CDSE_ZNS_SIZES = (6.0, 0.12)
OXIDE_SIZES = {"CdO": (10.0, 0.20), "ZnO": (9.0, 0.20)}
OXIDE_VOLUME_BPO = {"CdO": 0.050, "ZnO": 0.040}
OXIDE_REDUCTION = 3.0  # OAm-Br removes two thirds of the crystalline oxide
# The oxide reflections summed into the oxide ratio (Fig 4c: "CdO/ZnO mixed oxide peaks").
OXIDE_RATIO_REFLECTIONS = {"CdO": ((1, 1, 1), (2, 0, 0)), "ZnO": ((1, 0, 0), (0, 0, 2), (1, 0, 1))}
B_ISO_A2 = 0.8  # room-temperature Debye-Waller B of the II-VI/III-V lattices (order of magnitude)
DISPLACEMENT_SD_MM = 0.040

XRD_SAMPLES = ("InP_MS_pristine", "InP_MS_OAm", "InP_MS_ZnCl2", "InP_MS_ZnBr2", "InP_MS_ZnI2",
               "CdSe_ZnS_BPO", "CdSe_ZnS_BPO_OAmBr")
STANDARD_MATERIAL = "Si (NIST SRM 640)"
STANDARD_SIZES = (1500.0, 0.30)  # micrometre powder: size broadening far below the instrument's


def standard_sample(series: str) -> str:
    """The line standard measured in each series' session (paired like the TRPL IRF rows).

    Parameters
    ----------
    series : str
        The sample series (e.g. ``"halide_treatment"``).

    Returns
    -------
    str
        The standard's sample name, ``SRM640_<series>``.
    """
    return f"SRM640_{series}"


# ---------------------------------------------------------------- crystals (data from phases.csv)
@dataclass(frozen=True)
class Crystal:
    """A binary prototype structure with (possibly mixed) cation and anion sites."""

    name: str
    structure: str  # "zincblende", "rocksalt" or "wurtzite"
    a_A: float
    cation: tuple[tuple[str, float], ...]
    anion: tuple[tuple[str, float], ...]
    c_A: float | None = None
    u: float | None = None
    b_iso_A2: float = B_ISO_A2

    @property
    def cell_volume_A3(self) -> float:
        if self.structure == "wurtzite":
            return math.sqrt(3) / 2 * self.a_A ** 2 * self.c_A
        return self.a_A ** 3


@lru_cache(maxsize=1)
def _phase_rows() -> dict[str, dict]:
    text = resources.files("qdanalysis").joinpath("data/phases.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return {row["phase"]: row for row in csv.DictReader(lines)}


@lru_cache(maxsize=1)
def _dispersion_rows() -> dict[str, tuple[float, float]]:
    text = resources.files("qdanalysis").joinpath("data/anomalous_dispersion.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return {row["element"]: (float(row["f1_cu_kalpha"]), float(row["f2_cu_kalpha"])) for row in csv.DictReader(lines)}


def crystal(name: str, b_iso_A2: float = B_ISO_A2) -> Crystal:
    """The tabulated phase ``name`` of ``qdanalysis/data/phases.csv``.

    Parameters
    ----------
    name : str
        Phase name as in the table (e.g. ``"ZnSe"``, ``"CdO"``, ``"Si"``).
    b_iso_A2 : float, optional
        Isotropic Debye-Waller factor B, angstrom^2. Default is :data:`B_ISO_A2` (0.8).

    Returns
    -------
    Crystal
        The pure phase (one element per site), cell in angstrom.

    Raises
    ------
    KeyError
        If the table has no phase ``name``.
    """
    row = _phase_rows()[name]
    return Crystal(name, row["structure"], float(row["a_A"]), ((row["cation"], 1.0),), ((row["anion"], 1.0),),
                   float(row["c_A"]) if row["c_A"] else None, float(row["u"]) if row["u"] else None, b_iso_A2)


def alloy(name: str, fractions: dict[str, float], b_iso_A2: float = B_ISO_A2) -> Crystal:
    """Random zinc blende alloy of tabulated phases (volume fractions): Vegard cell, mixed sites.

    Parameters
    ----------
    name : str
        Name of the alloy.
    fractions : dict of str to float
        Tabulated phase name -> volume fraction (normalised to sum 1).
    b_iso_A2 : float, optional
        Isotropic Debye-Waller factor B, angstrom^2. Default is :data:`B_ISO_A2` (0.8).

    Returns
    -------
    Crystal
        A zinc blende crystal with the fraction-weighted lattice parameter (angstrom) and site
        occupancies.
    """
    total = sum(fractions.values())
    parts = [(crystal(key), value / total) for key, value in fractions.items()]
    sites = {}
    for site in ("cation", "anion"):
        occupancy: dict[str, float] = {}
        for part, weight in parts:
            for element, occ in getattr(part, site):
                occupancy[element] = occupancy.get(element, 0.0) + weight * occ
        sites[site] = tuple(sorted(occupancy.items()))
    return Crystal(name, "zincblende", sum(w * p.a_A for p, w in parts), sites["cation"], sites["anion"],
                   b_iso_A2=b_iso_A2)


def scattering_factor(element: str, stol: np.ndarray) -> np.ndarray:
    """Complex ``f0(sin(theta)/lambda) + f' + i f''`` for Cu K-alpha (electrons).

    ``f0`` from the Waasmaier & Kirfel five-Gaussian fit (:data:`WAASMAIER_KIRFEL`), ``f'``, ``f''`` from
    ``qdanalysis/data/anomalous_dispersion.csv``.

    Parameters
    ----------
    element : str
        Element symbol, one of :data:`WAASMAIER_KIRFEL`.
    stol : array-like
        ``sin(theta)/lambda``, 1/angstrom.

    Returns
    -------
    numpy.ndarray of complex
        Scattering factor in electrons, same shape as ``stol``.

    References
    ----------
    .. [1] D. Waasmaier and A. Kirfel, Acta Cryst. A51 (1995) 416.
    """
    a, c, b = WAASMAIER_KIRFEL[element]
    k2 = np.asarray(stol, dtype=float) ** 2
    f0 = c + sum(ai * np.exp(-bi * k2) for ai, bi in zip(a, b, strict=False))
    f1, f2 = _dispersion_rows()[element]
    return f0 + f1 + 1j * f2


def _site_factors(site, stol) -> tuple[np.ndarray, np.ndarray]:
    """Site-averaged ``<f>`` (complex) and ``<|f|^2>`` of a (mixed) site."""
    factors = {el: scattering_factor(el, stol) for el, _ in site}  # each element's f once
    mean = sum(occ * factors[el] for el, occ in site)
    mean_sq = sum(occ * np.abs(factors[el]) ** 2 for el, occ in site)
    return mean, mean_sq


# ---------------------------------------------------------------- crystallite sizes
@dataclass(frozen=True)
class LogNormalSpheres:
    """Spheres with log-normally distributed diameters (number distribution).

    Attributes
    ----------
    median_nm : float
        Median diameter of the number distribution, nm.
    sigma_ln : float
        Standard deviation of ln(diameter).
    """

    median_nm: float
    sigma_ln: float

    def moment_nm(self, k: float) -> float:
        """``<D^k>`` in nm^k.

        Parameters
        ----------
        k : float
            Order of the moment.

        Returns
        -------
        float
            ``median^k exp(k^2 sigma^2 / 2)``, nm^k.
        """
        return self.median_nm ** k * math.exp(0.5 * k * k * self.sigma_ln ** 2)

    @property
    def volume_weighted_diameter_nm(self) -> float:
        """``<D^4>/<D^3>``: the mean diameter weighted by crystallite volume."""
        return self.median_nm * math.exp(3.5 * self.sigma_ln ** 2)

    def _upper_moment(self, k: int, r_A: np.ndarray) -> np.ndarray:
        """``int_r^inf D^k g(D) dD`` (D in angstrom) for the log-normal ``g``."""
        mu, s = math.log(10 * self.median_nm), max(self.sigma_ln, 1e-6)
        with np.errstate(divide="ignore"):
            z = (np.log(np.maximum(r_A, 1e-300)) - mu - k * s * s) / (s * math.sqrt(2))
        return math.exp(k * mu + 0.5 * k * k * s * s) * 0.5 * erfc(z)

    def common_volume(self, r_A) -> np.ndarray:
        """Volume-weighted common-volume function ``A(r)`` (= 1 at r = 0, 0 beyond every sphere).

        For one sphere ``A = 1 - 3r/2D + r^3/2D^3`` (r < D); averaged over the population with the
        weight ``D^3``: ``[M3(r) - 3/2 r M2(r) + 1/2 r^3 M0(r)] / M3(0)``, ``Mk(r) = int_r^inf D^k g``.

        Parameters
        ----------
        r_A : float or array-like
            Distance (column length), angstrom.

        Returns
        -------
        numpy.ndarray
            ``A(r)`` clipped to [0, 1], same shape as ``r_A``.
        """
        r = np.asarray(r_A, dtype=float)
        value = (self._upper_moment(3, r) - 1.5 * r * self._upper_moment(2, r)
                 + 0.5 * r ** 3 * self._upper_moment(0, r)) / self._upper_moment(3, np.zeros(1))[0]
        return np.clip(value, 0.0, 1.0)

    def support_A(self, tail: float = 1e-7) -> float:
        """Distance beyond which ``A(r)`` is below ``tail``.

        Parameters
        ----------
        tail : float, optional
            Threshold of the common-volume function. Default is 1e-7.

        Returns
        -------
        float
            Distance, angstrom (on a logarithmic grid of step 0.02 sigma; the grid's end if never below).
        """
        r = 10 * self.median_nm * np.exp(np.arange(-1.0, 12.0, 0.02) * max(self.sigma_ln, 0.01))
        above = np.flatnonzero(self.common_volume(r) > tail)
        return float(r[above[-1] + 1]) if above.size and above[-1] + 1 < r.size else float(r[-1])

    def line_profile(self) -> tuple[np.ndarray, np.ndarray, float]:
        """``(t, Phi(t), tail)``: unit-area line profile in ``s = 1/d`` (1/A) of one reflection.

        ``Phi(t) = 2 int_0^inf A(L) cos(2 pi t L) dL`` on a grid of ``t >= 0``; beyond it the
        asymptote ``tail / t^2`` with ``tail = -A'(0) / (2 pi^2) = 3/2 <D^2>/<D^3> / (2 pi^2)``.

        Returns
        -------
        t : numpy.ndarray, shape (n,)
            Offsets from the line centre, 1/angstrom, from 0.
        profile : numpy.ndarray, shape (n,)
            ``Phi(t)``, angstrom (per unit ``s``).
        tail : float
            Coefficient of the ``tail / t^2`` asymptote beyond the grid, 1/angstrom.
        """
        support = self.support_A()
        step = support / 4000.0
        length = np.arange(0.0, support + step, step)
        weights = self.common_volume(length) * step
        weights[0] *= 0.5  # trapezoid
        n_fft = 1 << int(math.ceil(math.log2(64 * length.size)))
        t = np.fft.rfftfreq(n_fft, d=step)
        profile = 2 * np.fft.rfft(weights, n=n_fft).real
        keep = t <= 0.2 / step  # well below Nyquist: the trapezoid is accurate there
        tail = 1.5 * self.moment_nm(2) / self.moment_nm(3) / 10 / (2 * math.pi ** 2)
        return t[keep], profile[keep], tail

    def evaluate_profile(self, t) -> np.ndarray:
        """The line profile ``Phi`` at offsets ``t`` from the line centre (symmetric in ``t``).

        Interpolates the cached :meth:`line_profile` grid and uses its ``tail / t^2`` asymptote beyond it.

        Parameters
        ----------
        t : float or array-like
            Offsets ``s - g``, 1/angstrom.

        Returns
        -------
        numpy.ndarray
            ``Phi(|t|)``, angstrom, same shape as ``t``.
        """
        grid, profile, tail = _cached_profile(self)
        t = np.abs(np.asarray(t, dtype=float))
        inside = t <= grid[-1]
        out = np.empty_like(t)
        out[inside] = np.interp(t[inside], grid, profile)
        out[~inside] = tail / t[~inside] ** 2
        return out


@lru_cache(maxsize=32)
def _cached_profile(sizes: LogNormalSpheres):
    return sizes.line_profile()


# ---------------------------------------------------------------- Debye scattering (zinc blende)
@lru_cache(maxsize=4)
def _sum_of_three_squares(m_max: int) -> np.ndarray:
    """``r3[m]``: number of integer triples with ``x^2 + y^2 + z^2 = m``, for m <= m_max."""
    root = math.isqrt(m_max)
    squares = np.arange(-root, root + 1) ** 2
    r1 = np.bincount(squares, minlength=m_max + 1)
    r2 = np.zeros(m_max + 1, dtype=np.int64)
    for sq in squares:
        r2[sq:] += r1[:m_max + 1 - sq]
    r3 = np.zeros(m_max + 1, dtype=np.int64)
    for sq in squares:
        r3[sq:] += r2[:m_max + 1 - sq]
    return r3


def _zinc_blende_shells(a_A: float, r_max_A: float):
    """Pair-vector shells of zinc blende up to ``r_max_A``: (r, multiplicity) same-site and cross."""
    n_max = int((4 * r_max_A / a_A) ** 2) + 8
    r3 = _sum_of_three_squares(1 << int(math.ceil(math.log2(n_max))))
    m = np.arange(2, n_max // 4 + 1, 2)  # fcc vectors (2x, 2y, 2z), x+y+z even; m = 0 is the self term
    same = r3[m] > 0
    n = np.arange(3, n_max + 1, 8)  # odd triples with x+y+z = 3 (mod 4): half of all odd triples
    cross = r3[n] > 0
    return (a_A / 2 * np.sqrt(m[same]), r3[m[same]].astype(float),
            a_A / 4 * np.sqrt(n[cross]), r3[n[cross]] / 2.0)


def _shell_sums(s_per_A: np.ndarray, radii_A: np.ndarray, weights: np.ndarray, block: int = 128) -> np.ndarray:
    """``sum_j w_j sin(q r_j)/(q r_j)``, ``q = 2 pi s``, on a uniform ``s`` grid.

    ``exp(i q r)`` is advanced from one grid point to the next by a fixed rotation
    ``exp(i dq r)`` (one complex product per shell instead of a sine) and recomputed exactly at
    the start of every block, so rounding cannot accumulate.
    """
    s = np.asarray(s_per_A, dtype=float)
    q = 2 * np.pi * s
    dq = q[1] - q[0] if q.size > 1 else 0.0
    if q.size > 1 and not np.allclose(np.diff(q), dq, rtol=1e-9, atol=1e-12):
        raise ValueError("shell sums need a uniform s grid")
    over_r = weights / radii_A
    rotation = np.exp(1j * dq * radii_A)
    out = np.empty_like(q)
    for start in range(0, q.size, block):
        phase = np.exp(1j * q[start] * radii_A)
        for i in range(start, min(start + block, q.size)):
            out[i] = np.sum(phase.imag * over_r) / q[i]  # not BLAS: threaded ddot stalls on busy cores
            phase *= rotation
    return out


def zinc_blende_intensity(s_per_A: np.ndarray, phase: Crystal, sizes: LogNormalSpheres) -> np.ndarray:
    """Debye-equation intensity per unit crystalline volume (electrons^2 / A^3) at ``s = 2 sin(theta)/lambda``
    (a uniform grid).

    Sums ``<f_i f_j*> sin(q r)/(q r)`` (``q = 2 pi s``) over the ensemble's pair shells (module
    docstring); uncorrelated thermal displacements damp every pair term except the self term.

    Parameters
    ----------
    s_per_A : array-like, shape (n,)
        ``s = 2 sin(theta)/lambda``, 1/angstrom, uniformly spaced.
    phase : Crystal
        A zinc blende crystal (alloy sites allowed).
    sizes : LogNormalSpheres
        The crystallite size distribution.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Intensity, electrons^2 / angstrom^3.

    Raises
    ------
    ValueError
        If ``phase`` is not zinc blende, or the ``s`` grid is not uniform.
    """
    if phase.structure != "zincblende":
        raise ValueError("the Debye sum here is written for zinc blende lattices")
    s = np.asarray(s_per_A, dtype=float)
    r_same, m_same, r_cross, m_cross = _zinc_blende_shells(phase.a_A, sizes.support_A(1e-6))
    sum_same = _shell_sums(s, r_same, m_same * sizes.common_volume(r_same))
    sum_cross = _shell_sums(s, r_cross, m_cross * sizes.common_volume(r_cross))
    stol = s / 2
    f_cat, f2_cat = _site_factors(phase.cation, stol)
    f_an, f2_an = _site_factors(phase.anion, stol)
    damping = np.exp(-2 * phase.b_iso_A2 * stol ** 2)
    per_site = (f2_cat + f2_an + damping * (np.abs(f_cat) ** 2 + np.abs(f_an) ** 2) * sum_same
                + damping * 2 * np.real(f_cat * np.conj(f_an)) * sum_cross)
    return 4 / phase.a_A ** 3 * per_site  # 4 cation (and 4 anion) sites per cubic cell


# ---------------------------------------------------------------- Bragg reflections (other phases)
def _site_positions(phase: Crystal) -> tuple[np.ndarray, np.ndarray]:
    fcc = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    if phase.structure == "zincblende":
        return fcc, fcc + 0.25
    if phase.structure == "rocksalt":
        return fcc, (fcc + 0.5) % 1.0
    if phase.structure == "wurtzite":
        cation = np.array([[1 / 3, 2 / 3, 0.0], [2 / 3, 1 / 3, 0.5]])
        return cation, cation + [0.0, 0.0, phase.u]
    raise ValueError(f"unknown structure {phase.structure!r}")


def _inverse_d(phase: Crystal, h, k, l) -> np.ndarray:
    if phase.structure == "wurtzite":
        return np.sqrt(4 / 3 * (h * h + h * k + k * k) / phase.a_A ** 2 + l * l / phase.c_A ** 2)
    return np.sqrt(h * h + k * k + l * l) / phase.a_A


@dataclass(frozen=True)
class Reflections:
    """Powder reflections of a phase: ``g = 1/d`` and the geometric sums of ``|F|^2`` per site pair.

    ``|F(s)|^2 = |f_c|^2 cc + |f_a|^2 aa + 2 Re(f_c f_a* ca)``, summed over the ``m`` equivalent
    (h, k, l) (multiplicity included); ``members`` keeps one (h, k, l) of each for look-ups.
    """

    g: np.ndarray
    cc: np.ndarray
    aa: np.ndarray
    ca: np.ndarray
    members: tuple[frozenset, ...]

    def index(self, hkl: tuple[int, int, int]) -> int:
        """Position of the reflection group that contains ``hkl``.

        Parameters
        ----------
        hkl : tuple of (int, int, int)
            Miller indices of any member of the group.

        Returns
        -------
        int
            Index into ``g``, ``cc``, ``aa``, ``ca`` and ``members``.

        Raises
        ------
        KeyError
            If no group holds ``hkl`` (outside the range, or systematically absent).
        """
        for i, group in enumerate(self.members):
            if tuple(hkl) in group:
                return i
        raise KeyError(hkl)


@lru_cache(maxsize=16)
def reflections(phase: Crystal, s_max: float = 1.0) -> Reflections:
    """Every reflection with ``g = 1/d <= s_max`` (1/A), grouped by d.

    Systematically absent groups are left out. Results are cached (16 most recent).

    Parameters
    ----------
    phase : Crystal
        The crystal.
    s_max : float, optional
        Largest ``g = 1/d``, 1/angstrom. Default is 1.0.

    Returns
    -------
    Reflections
        ``g`` (1/angstrom) and the geometric structure-factor sums of each group, sorted by ``g``.
    """
    n_max = int(math.ceil(s_max * max(phase.a_A, phase.c_A or 0.0))) + 1
    grid = np.arange(-n_max, n_max + 1)
    h, k, l = (x.ravel() for x in np.meshgrid(grid, grid, grid, indexing="ij"))
    g = _inverse_d(phase, h, k, l)
    keep = (g > 0) & (g <= s_max)
    h, k, l, g = h[keep], k[keep], l[keep], g[keep]
    cation, anion = _site_positions(phase)
    sums = [np.exp(2j * np.pi * (np.outer(h, p[:, 0]) + np.outer(k, p[:, 1]) + np.outer(l, p[:, 2]))).sum(1)
            for p in (cation, anion)]
    key = np.round(g, 9)
    out_g, cc, aa, ca, members = [], [], [], [], []
    for value in np.unique(key):
        group = key == value
        pc, pa = sums[0][group], sums[1][group]
        if np.sum(np.abs(pc) ** 2 + np.abs(pa) ** 2) < 1e-9:
            continue  # systematically absent
        out_g.append(float(g[group][0]))
        cc.append(float(np.sum(np.abs(pc) ** 2)))
        aa.append(float(np.sum(np.abs(pa) ** 2)))
        ca.append(complex(np.sum(pc * np.conj(pa))))
        members.append(frozenset(zip(h[group].tolist(), k[group].tolist(), l[group].tolist(), strict=False)))
    return Reflections(np.array(out_g), np.array(cc), np.array(aa), np.array(ca), tuple(members))


def structure_factor_sq(phase: Crystal, refl: Reflections, s_per_A) -> np.ndarray:
    """``m |F|^2`` of every reflection (rows) at ``s`` (columns), Debye-Waller damped.

    Parameters
    ----------
    phase : Crystal
        The crystal whose site scattering factors and B are used.
    refl : Reflections
        The reflections (from :func:`reflections` for ``phase``), k of them.
    s_per_A : array-like, shape (n,)
        ``s = 2 sin(theta)/lambda``, 1/angstrom.

    Returns
    -------
    numpy.ndarray, shape (k, n)
        ``m |F|^2 exp(-B s^2 / 2)``, electrons^2.
    """
    return _combine_structure_factor_sq(_structure_factor_terms(phase, s_per_A), refl)


def _structure_factor_terms(phase: Crystal, s_per_A) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The reflection-independent factors of :func:`structure_factor_sq` at ``s``: ``|f_c|^2``,
    ``|f_a|^2``, ``f_c f_a*`` and the Debye-Waller damping (elementwise, so a slice of them is what
    the same call on the sliced ``s`` returns)."""
    stol = np.asarray(s_per_A, dtype=float) / 2
    f_cat, _ = _site_factors(phase.cation, stol)
    f_an, _ = _site_factors(phase.anion, stol)
    return np.abs(f_cat) ** 2, np.abs(f_an) ** 2, f_cat * np.conj(f_an), np.exp(-2 * phase.b_iso_A2 * stol ** 2)


def _combine_structure_factor_sq(terms, refl: Reflections) -> np.ndarray:
    """``m |F|^2 exp(-B s^2 / 2)``, shape (k, n), from :func:`_structure_factor_terms` (n points)."""
    f2_cat, f2_an, cross, damping = terms
    value = (f2_cat * refl.cc[:, None] + f2_an * refl.aa[:, None] + 2 * np.real(cross * refl.ca[:, None]))
    return value * damping


TAIL_REACH_PER_A = 2.0  # profile evaluated this far (1/A) from g; beyond, < 0.3 % of a 3 nm crystallite's area


def bragg_intensity(s_per_A: np.ndarray, phase: Crystal, sizes: LogNormalSpheres) -> np.ndarray:
    """Powder intensity per unit volume: ``sum m|F|^2 Phi(s - g) / (4 pi V_cell^2 s g)``.

    Each reflection is evaluated within :data:`TAIL_REACH_PER_A` of ``g``, its ``1/(s - g)^2`` tails
    included (beyond 0.25 1/A they still hold 0.3-2 % of the area of 20-3 nm crystallites).

    Parameters
    ----------
    s_per_A : array-like, shape (n,)
        ``s = 2 sin(theta)/lambda``, 1/angstrom.
    phase : Crystal
        The crystal.
    sizes : LogNormalSpheres
        The crystallite size distribution (line profile ``Phi``).

    Returns
    -------
    numpy.ndarray, shape (n,)
        Intensity, electrons^2 / angstrom^3.
    """
    s = np.asarray(s_per_A, dtype=float)
    refl = reflections(phase, float(s.max()) + TAIL_REACH_PER_A)  # tails of lines beyond the last channel too
    out = np.zeros_like(s)
    terms = _structure_factor_terms(phase, s)  # once on the whole grid, sliced per reflection
    for i, g in enumerate(refl.g):
        near = np.abs(s - g) < TAIL_REACH_PER_A
        if not near.any():
            continue
        sub = s[near]
        f2 = _combine_structure_factor_sq(tuple(term[near] for term in terms),
                                          Reflections(refl.g[i:i + 1], refl.cc[i:i + 1], refl.aa[i:i + 1],
                                                      refl.ca[i:i + 1], refl.members[i:i + 1]))[0]
        out[near] += f2 * sizes.evaluate_profile(sub - g) / (4 * np.pi * phase.cell_volume_A3 ** 2 * sub * g)
    return out


# ---------------------------------------------------------------- specimen, instrument, background
@dataclass(frozen=True)
class Component:
    """A crystalline phase in the irradiated volume: relative volume and size distribution.

    ``debye=True`` computes it with the Debye sum (zinc blende only), else from its reflections.
    """

    phase: Crystal
    volume: float
    sizes: LogNormalSpheres
    debye: bool = False

    def intensity(self, s_per_A: np.ndarray) -> np.ndarray:
        """Intensity per unit volume of the phase, from the Debye sum or from its reflections.

        Parameters
        ----------
        s_per_A : array-like, shape (n,)
            ``s = 2 sin(theta)/lambda``, 1/angstrom (uniform when ``debye``).

        Returns
        -------
        numpy.ndarray, shape (n,)
            Intensity, electrons^2 / angstrom^3 (:func:`zinc_blende_intensity` or :func:`bragg_intensity`).
        """
        if self.debye:
            return zinc_blende_intensity(s_per_A, self.phase, self.sizes)
        return bragg_intensity(s_per_A, self.phase, self.sizes)


@dataclass(frozen=True)
class Instrument:
    """Bragg-Brentano diffractometer with a Cu tube and a diffracted-beam monochromator."""

    kalpha2_ratio: float = 0.50
    geometric_fwhm_deg: float = 0.055
    soller_half_width_rad: float = 0.02  # triangular axial acceptance, incident and diffracted
    monochromator_2theta_deg: float = 26.6  # graphite (002) at Cu K-alpha
    goniometer_radius_mm: float = 240.0
    header_wavelength_A: float = WAVELENGTH_A

    def polarisation(self, two_theta_deg) -> np.ndarray:
        """Polarisation factor ``(1 + cos^2 2theta_m cos^2 2theta) / (1 + cos^2 2theta_m)``.

        Parameters
        ----------
        two_theta_deg : float or array-like
            Diffraction angle 2theta, degrees.

        Returns
        -------
        numpy.ndarray
            The factor, same shape as ``two_theta_deg`` (``2theta_m`` = ``monochromator_2theta_deg``).
        """
        c2m = math.cos(math.radians(self.monochromator_2theta_deg)) ** 2
        return (1 + c2m * np.cos(np.radians(two_theta_deg)) ** 2) / (1 + c2m)


@dataclass(frozen=True)
class Background:
    """Smooth counts per channel: ligand hump(s) + air scatter + flat level + incoherent scattering."""

    ligand_counts: float = 250.0
    ligand_d_A: float = 4.4
    ligand_fwhm_q: float = 0.45  # 1/A in q = 4 pi sin(theta)/lambda
    second_hump_fraction: float = 0.12
    second_hump_d_A: float = 2.1
    air_counts: float = 300.0  # at 2theta = 10 deg
    flat_counts: float = 60.0
    incoherent_counts: float = 25.0  # reached at high s

    def counts(self, two_theta_deg, wavelength_A: float = KALPHA1_A) -> np.ndarray:
        """Background counts per channel at ``two_theta_deg``.

        Ligand humps Gaussian in ``q = 4 pi sin(theta)/lambda`` (at d = ``ligand_d_A`` and, weaker and
        2.5 times broader, ``second_hump_d_A``), air scatter ``air_counts (sin 5 deg / sin theta)^2``,
        the flat level, and incoherent scattering ``incoherent_counts (1 - exp(-(s / 0.25)^2))`` with
        ``s = sin(theta)/lambda``.

        Parameters
        ----------
        two_theta_deg : array-like, shape (n,)
            2theta, degrees.
        wavelength_A : float, optional
            Wavelength, angstrom. Default is :data:`KALPHA1_A` (peak of Cu K-alpha1).

        Returns
        -------
        numpy.ndarray, shape (n,)
            Mean background counts per channel.
        """
        theta = np.radians(np.asarray(two_theta_deg, dtype=float) / 2)
        q = 4 * np.pi * np.sin(theta) / wavelength_A
        sigma_q = self.ligand_fwhm_q / (2 * math.sqrt(2 * math.log(2)))
        hump = np.exp(-0.5 * ((q - 2 * np.pi / self.ligand_d_A) / sigma_q) ** 2)
        hump2 = np.exp(-0.5 * ((q - 2 * np.pi / self.second_hump_d_A) / (2.5 * sigma_q)) ** 2)
        air = (math.sin(math.radians(5.0)) / np.sin(theta)) ** 2
        incoherent = 1 - np.exp(-(np.sin(theta) / wavelength_A / 0.25) ** 2)
        return (self.ligand_counts * (hump + self.second_hump_fraction * hump2) + self.air_counts * air
                + self.flat_counts + self.incoherent_counts * incoherent)


def _emission_kernel(kalpha2_ratio: float, step: float) -> tuple[np.ndarray, int]:
    """Source spectrum in ``eps = ln(lambda / lambda_K-alpha1)`` on a grid of ``step``; K-alpha1 area 1."""
    eps = np.arange(-0.006, 0.0085 + step, step)
    lines = []
    for energy, width, height in CU_KALPHA_LINES:
        center = math.log(CU_KALPHA_LINES[0][0] / energy)
        hwhm = 0.5 * width / energy
        lines.append((center, hwhm, height * width))
    kernel = np.zeros_like(eps)
    for i, (center, hwhm, area) in enumerate(lines):
        shape = hwhm / np.pi / ((eps - center) ** 2 + hwhm ** 2)
        shape /= shape.sum() * step  # the truncated tails' share goes back into the line
        kernel += area * shape * (1.0 if i < 2 else 0.0)
    kalpha2 = np.zeros_like(eps)
    for center, hwhm, area in lines[2:]:
        shape = hwhm / np.pi / ((eps - center) ** 2 + hwhm ** 2)
        shape /= shape.sum() * step
        kalpha2 += area * shape
    kernel /= sum(area for _, _, area in lines[:2])
    kalpha2 *= kalpha2_ratio / sum(area for _, _, area in lines[2:])
    zero = int(round(-eps[0] / step))
    return (kernel + kalpha2) * step, zero


def _axial_nodes(half_width_rad: float, n: int = 9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quadrature of two independent triangular Soller acceptances: (psi_i, psi_d, weight)."""
    u = (np.arange(n) + 0.5) / n
    # inverse CDF of the symmetric triangle on [-w, w]
    psi = np.where(u < 0.5, -half_width_rad + half_width_rad * np.sqrt(2 * u),
                   half_width_rad - half_width_rad * np.sqrt(2 * (1 - u)))
    psi_i, psi_d = (x.ravel() for x in np.meshgrid(psi, psi, indexing="ij"))
    return psi_i, psi_d, np.full(psi_i.size, 1.0 / psi_i.size)


@dataclass(frozen=True)
class Specimen:
    """What is in the beam: crystalline components and how the specimen sits."""

    components: tuple[Component, ...]
    displacement_mm: float = 0.0


def _fine_grid(two_theta_deg: np.ndarray) -> np.ndarray:
    x = np.asarray(two_theta_deg, dtype=float)
    step = float(x[1] - x[0])
    return x[0] - step / 2 + (np.arange(x.size * OVERSAMPLE) + 0.5) * step / OVERSAMPLE


def _specimen_counts_fine(fine_deg: np.ndarray, components, instrument: Instrument, *,
                          kalpha2_ratio: float | None = None) -> np.ndarray:
    """Diffracted intensity on the fine grid, before the geometric instrument profile (no scale)."""
    ratio = instrument.kalpha2_ratio if kalpha2_ratio is None else kalpha2_ratio
    du = 2.5e-5
    kernel, zero = _emission_kernel(ratio, du)
    margin = 0.05
    theta = np.radians(fine_deg / 2)
    u = np.arange(math.log(math.sin(theta[0])) - margin, math.log(math.sin(theta[-1])) + margin, du)
    s = 2 * np.exp(u) / KALPHA1_A
    intensity = np.zeros_like(s)
    for component in components:
        if component.debye:  # smooth on the scale of du: evaluate coarsely, interpolate
            coarse = np.arange(s[0] - 0.001, s[-1] + 0.001, 3e-4)
            intensity += component.volume * np.interp(s, coarse, component.intensity(coarse))
        else:
            intensity += component.volume * component.intensity(s)
    measured = np.convolve(intensity, kernel, mode="full")[zero:zero + u.size]
    return np.interp(np.log(np.sin(theta)), u, measured) * instrument.polarisation(fine_deg)


def _instrument_profile(fine_deg: np.ndarray, values: np.ndarray, instrument: Instrument,
                        displacement_mm: float) -> np.ndarray:
    """Geometric Gaussian, axial divergence (exact small-angle ray geometry), specimen displacement."""
    step = float(fine_deg[1] - fine_deg[0])
    sigma = instrument.geometric_fwhm_deg / (2 * math.sqrt(2 * math.log(2))) / step
    half = int(math.ceil(6 * sigma))
    offsets = np.arange(-half, half + 1)
    gauss = np.exp(-0.5 * (offsets / sigma) ** 2)
    smoothed = np.convolve(values, gauss / gauss.sum(), mode="same")
    two_theta = np.radians(fine_deg)
    psi_i, psi_d, weight = _axial_nodes(instrument.soller_half_width_rad)
    out = np.zeros_like(values)
    # A ray diffracted at 2theta is recorded at 2theta + delta: counts at x come from x - delta(x).
    displacement = -2 * displacement_mm * np.cos(two_theta / 2) / instrument.goniometer_radius_mm
    for pi_, pd_, w in zip(psi_i, psi_d, weight, strict=False):
        delta = (-(pi_ ** 2 + pd_ ** 2) / 2 / np.tan(two_theta) + pi_ * pd_ / np.sin(two_theta)
                 + displacement)
        out += w * np.interp(fine_deg - np.degrees(delta), fine_deg, smoothed)
    return out


def _bin(fine_values: np.ndarray) -> np.ndarray:
    return fine_values.reshape(-1, OVERSAMPLE).mean(axis=1)


def diffracted_counts(two_theta_deg: np.ndarray, specimen: Specimen, instrument: Instrument, scale: float,
                      *, kalpha2_ratio: float | None = None) -> np.ndarray:
    """Noise-free diffracted counts per channel (no background) for intensity ``scale``.

    Source spectrum, polarisation, geometric Gaussian, axial divergence and specimen displacement, each
    channel averaged over :data:`OVERSAMPLE` fine points.

    Parameters
    ----------
    two_theta_deg : numpy.ndarray, shape (n,)
        Channel centres 2theta, degrees, evenly spaced.
    specimen : Specimen
        The crystalline components and the displacement.
    instrument : Instrument
        The diffractometer.
    scale : float
        Counts per electron^2/A^3 of the specimen's per-volume intensity.
    kalpha2_ratio : float or None, optional
        K-alpha2 / K-alpha1 area ratio; None uses the instrument's. Default is None.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Mean counts per channel.
    """
    fine = _fine_grid(two_theta_deg)
    values = _specimen_counts_fine(fine, specimen.components, instrument, kalpha2_ratio=kalpha2_ratio)
    return scale * _bin(_instrument_profile(fine, values, instrument, specimen.displacement_mm))


# ---------------------------------------------------------------- truths
def integrated_intensity(phase: Crystal, hkl: tuple[int, int, int], instrument: Instrument,
                         wavelength_A: float = KALPHA1_A) -> float:
    """K-alpha1 integrated intensity of ``hkl`` in the narrow-line limit.

    ``P m|F(g)|^2 DW / (4 pi V^2 g^2) x lambda / cos(theta) x 180/pi``: counts x deg, per unit phase
    volume, unit scale.

    Parameters
    ----------
    phase : Crystal
        The crystal.
    hkl : tuple of (int, int, int)
        Miller indices of the reflection.
    instrument : Instrument
        The diffractometer (its polarisation factor).
    wavelength_A : float, optional
        Wavelength, angstrom. Default is :data:`KALPHA1_A`.

    Returns
    -------
    float
        Integrated intensity, counts x deg per unit volume at unit scale.

    Raises
    ------
    KeyError
        If ``hkl`` is systematically absent.
    """
    refl = reflections(phase, float(_inverse_d(phase, *np.array(hkl, dtype=float))) + 0.01)
    i = refl.index(tuple(hkl))
    g = refl.g[i]
    f2 = structure_factor_sq(phase, Reflections(refl.g[i:i + 1], refl.cc[i:i + 1], refl.aa[i:i + 1],
                                                refl.ca[i:i + 1], refl.members[i:i + 1]), np.array([g]))[0, 0]
    theta = math.asin(wavelength_A * g / 2)
    polar = float(instrument.polarisation(np.degrees(2 * theta)))
    return polar * f2 / (4 * math.pi * phase.cell_volume_A3 ** 2 * g * g) * wavelength_A / math.cos(theta) \
        * 180 / math.pi


def zinc_blende_truth(component: Component, wavelength_A: float = WAVELENGTH_A) -> dict:
    """Lattice parameter, (111) Bragg angle and Scherrer (volume-weighted) size of the QDs.

    Parameters
    ----------
    component : Component
        The zinc blende QD component.
    wavelength_A : float, optional
        Wavelength the file header states, angstrom. Default is :data:`WAVELENGTH_A` (1.5406).

    Returns
    -------
    dict
        ``zb_lattice_a_A`` (angstrom), ``zb111_2theta_deg`` (deg) and ``scherrer_size_nm``
        (``<D^4>/<D^3>``, nm).
    """
    a = component.phase.a_A
    return {"zb_lattice_a_A": a,
            "zb111_2theta_deg": math.degrees(2 * math.asin(wavelength_A * math.sqrt(3) / (2 * a))),
            "scherrer_size_nm": component.sizes.volume_weighted_diameter_nm}


def oxide_ratio_truth(components, instrument: Instrument) -> dict:
    """``oxide_ratio`` and per-phase ``<phase>_ratio`` (integrated intensities over zinc blende (111)).

    Parameters
    ----------
    components : sequence of Component
        The QD component first, then the oxides; each oxide's :data:`OXIDE_RATIO_REFLECTIONS` are summed.
    instrument : Instrument
        The diffractometer (polarisation).

    Returns
    -------
    dict
        ``<phase>_ratio`` per oxide (lower-case name) and their sum ``oxide_ratio``; empty without
        oxides.
    """
    qd = components[0]
    reference = qd.volume * integrated_intensity(qd.phase, (1, 1, 1), instrument)
    out = {}
    for component in components[1:]:
        hkls = OXIDE_RATIO_REFLECTIONS.get(component.phase.name, ())
        summed = sum(component.volume * integrated_intensity(component.phase, hkl, instrument) for hkl in hkls)
        out[f"{component.phase.name.lower()}_ratio"] = summed / reference
    if out:
        out["oxide_ratio"] = sum(out.values())
    return out


def line_fwhm_truth(instrument: Instrument, specimen: Specimen,
                    window_deg: tuple[float, float] = (27.4, 29.4)) -> float:
    """FWHM (deg) of the noise-free K-alpha1 line of a single-line specimen, as recorded in channels.

    Parameters
    ----------
    instrument : Instrument
        The diffractometer.
    specimen : Specimen
        A specimen with one line in ``window_deg`` (the Si standard).
    window_deg : tuple of (float, float), optional
        2theta window around the line, degrees. Default is (27.4, 29.4) (Si 111).

    Returns
    -------
    float
        FWHM, degrees 2theta, with the 0.02 deg channel width included.
    """
    x = np.round(np.arange(window_deg[0], window_deg[1] + 1e-9, 0.02), 2)
    fine = _fine_grid(x)
    values = _specimen_counts_fine(fine, specimen.components, instrument, kalpha2_ratio=0.0)
    profile = _instrument_profile(fine, values, instrument, specimen.displacement_mm)
    step = float(fine[1] - fine[0])
    profile = np.convolve(profile, np.full(OVERSAMPLE, 1.0 / OVERSAMPLE), mode="same")  # channel width
    peak = int(np.argmax(profile))
    half = profile[peak] / 2
    left = peak - int(np.argmax(profile[peak::-1] < half))
    right = peak + int(np.argmax(profile[peak:] < half))
    x_left = fine[left] + step * (half - profile[left]) / (profile[left + 1] - profile[left])
    x_right = fine[right - 1] + step * (profile[right - 1] - half) / (profile[right - 1] - profile[right])
    return float(x_right - x_left)


# ---------------------------------------------------------------- one pattern
def simulate_pattern(rng: np.random.Generator, specimen: Specimen, zb111_area: float, background: Background,
                     instrument: Instrument = Instrument(),
                     two_theta_deg: np.ndarray = TWO_THETA_DEG) -> tuple[np.ndarray, dict]:
    """Poisson counts of ``specimen`` whose first component's (111) has K-alpha1 area ``zb111_area``
    (counts x deg), and the truths (module docstring).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the Poisson noise.
    specimen : Specimen
        The crystalline components (first one sets the scale) and the displacement.
    zb111_area : float
        K-alpha1 integrated intensity of the first component's (111), counts x deg.
    background : Background
        The smooth background.
    instrument : Instrument, optional
        The diffractometer. Default is ``Instrument()``.
    two_theta_deg : numpy.ndarray, shape (n,), optional
        Channel centres, degrees. Default is :data:`TWO_THETA_DEG` (10-80 deg, step 0.02).

    Returns
    -------
    counts : numpy.ndarray, shape (n,)
        Poisson counts per channel, as float.
    truth : dict
        For a QD specimen (zinc blende, not Si), :func:`zinc_blende_truth` and :func:`oxide_ratio_truth`;
        empty otherwise.
    """
    first = specimen.components[0]
    scale = zb111_area / (first.volume * integrated_intensity(first.phase, (1, 1, 1), instrument))
    mean = diffracted_counts(two_theta_deg, specimen, instrument, scale) + background.counts(two_theta_deg)
    truth = {}
    if first.phase.structure == "zincblende" and first.phase.name != "Si":
        truth.update(zinc_blende_truth(first, instrument.header_wavelength_A))
        truth.update(oxide_ratio_truth(specimen.components, instrument))
    return rng.poisson(mean).astype(float), truth


def multishell_component(sizes=MULTISHELL_SIZES, b_iso_A2: float = B_ISO_A2) -> Component:
    """The InP/ZnSe/ZnSeS/ZnS multishell QDs as one zinc blende virtual crystal (Debye sum).

    Parameters
    ----------
    sizes : tuple of (float, float), optional
        ``(median_nm, sigma_ln)`` of the log-normal diameters. Default is :data:`MULTISHELL_SIZES`.
    b_iso_A2 : float, optional
        Isotropic Debye-Waller factor B, angstrom^2. Default is :data:`B_ISO_A2`.

    Returns
    -------
    Component
        Volume 1, the :data:`MULTISHELL_FRACTIONS` alloy, ``debye=True``.
    """
    return Component(alloy(MULTISHELL, MULTISHELL_FRACTIONS, b_iso_A2), 1.0, LogNormalSpheres(*sizes), debye=True)


def sample_specimen(sample: str, displacement_mm: float) -> Specimen:
    """The crystalline phases assumed for ``sample`` (module docstring).

    Parameters
    ----------
    sample : str
        Sample name; ``InP_MS*`` are the multishell QDs, the others CdSe/ZnS with CdO and ZnO domains
        (three-fold less after ``*OAmBr``).
    displacement_mm : float
        Specimen displacement h, mm.

    Returns
    -------
    Specimen
        The components (QD first) and the displacement.
    """
    if sample.startswith("InP_MS"):
        return Specimen((multishell_component(),), displacement_mm)
    qd = Component(alloy("CdSe/ZnS", CDSE_ZNS_FRACTIONS), 1.0, LogNormalSpheres(*CDSE_ZNS_SIZES), debye=True)
    reduction = OXIDE_REDUCTION if sample.endswith("OAmBr") else 1.0
    oxides = tuple(Component(crystal(name), OXIDE_VOLUME_BPO[name] / reduction, LogNormalSpheres(*OXIDE_SIZES[name]))
                   for name in ("CdO", "ZnO"))
    return Specimen((qd, *oxides), displacement_mm)


def standard_specimen(displacement_mm: float = 0.0) -> Specimen:
    """The Si line standard (NIST SRM 640, micrometre crystallites) as a specimen.

    Parameters
    ----------
    displacement_mm : float, optional
        Specimen displacement h, mm. Default is 0.0.

    Returns
    -------
    Specimen
        One Si component with :data:`STANDARD_SIZES`.
    """
    return Specimen((Component(crystal("Si"), 1.0, LogNormalSpheres(*STANDARD_SIZES)),), displacement_mm)


def simulate_standard(rng: np.random.Generator, instrument: Instrument, si111_area: float = 400.0,
                      displacement_mm: float = 0.0,
                      background: Background = Background(ligand_counts=0.0, air_counts=200.0, flat_counts=40.0,
                                                          incoherent_counts=5.0),
                      two_theta_deg: np.ndarray = TWO_THETA_DEG) -> tuple[np.ndarray, dict]:
    """Poisson counts of the Si line standard and its truths (``instrument_fwhm_deg``, ``kalpha2_ratio``).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the Poisson noise.
    instrument : Instrument
        The diffractometer.
    si111_area : float, optional
        K-alpha1 integrated intensity of Si (111), counts x deg. Default is 400.0.
    displacement_mm : float, optional
        Specimen displacement h, mm. Default is 0.0.
    background : Background, optional
        The background. Default has no ligand hump (air 200, flat 40, incoherent 5 counts).
    two_theta_deg : numpy.ndarray, shape (n,), optional
        Channel centres, degrees. Default is :data:`TWO_THETA_DEG`.

    Returns
    -------
    counts : numpy.ndarray, shape (n,)
        Poisson counts per channel.
    truth : dict
        ``instrument_fwhm_deg`` (:func:`line_fwhm_truth`, deg) and ``kalpha2_ratio``.
    """
    specimen = standard_specimen(displacement_mm)
    counts, _ = simulate_pattern(rng, specimen, si111_area, background, instrument, two_theta_deg)
    return counts, {"instrument_fwhm_deg": line_fwhm_truth(instrument, specimen),
                    "kalpha2_ratio": instrument.kalpha2_ratio}


def _write(out_dir: Path, sample: str, counts: np.ndarray, material: str) -> str:
    file = f"xrd/{sample}.xy"
    path = out_dir / file
    path.parent.mkdir(parents=True, exist_ok=True)
    comments = [f"sample {sample}", f"material {material}", "radiation Cu K-alpha (K-alpha2 not stripped)",
                "scan 2theta/theta, 10-80 deg, step 0.02 deg", "columns 2theta_deg counts"]
    path.write_text(format_xy(TWO_THETA_DEG, counts, wavelength_A=WAVELENGTH_A, comments=comments,
                              two_theta_format="{:.2f}"), encoding="utf-8")
    return file


def simulate(out_dir: Path, rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Write raw/xrd/*.xy; return sample-sheet rows and ``{"xrd": {sample: {quantity: truth}}}``.

    One pattern per :data:`XRD_SAMPLES` entry (random background levels, displacement and (111) area)
    and one Si standard per series.

    Parameters
    ----------
    out_dir : Path
        The raw-data directory; files go to ``out_dir/xrd/``.
    rng : numpy.random.Generator
        Source of all random choices and noise.

    Returns
    -------
    rows : list of dict
        Sample-sheet rows of the written files.
    truth : dict
        ``{"xrd": {sample: {quantity: value}}}``, including each sample's ``displacement_mm`` and the
        ``oxide_ratio_relative_to_BPO`` of ``CdSe_ZnS_BPO_OAmBr``.
    """
    out_dir = Path(out_dir)
    instrument = Instrument()
    rows, truth = [], {}
    for sample in XRD_SAMPLES:
        background = Background(ligand_counts=rng.uniform(200, 300), flat_counts=rng.uniform(50, 70),
                                air_counts=rng.uniform(250, 350))
        displacement = float(rng.normal(0.0, DISPLACEMENT_SD_MM))
        counts, sample_truth = simulate_pattern(rng, sample_specimen(sample, displacement),
                                                zb111_area=rng.uniform(2400, 3200), background=background,
                                                instrument=instrument)
        rows.append(sheet_row(_write(out_dir, sample, counts, SAMPLES[sample].material), "xrd", sample))
        truth[sample] = {**sample_truth, "displacement_mm": displacement}
    for series in dict.fromkeys(SAMPLES[sample].series for sample in XRD_SAMPLES):
        counts, standard_truth = simulate_standard(rng, instrument,
                                                   displacement_mm=float(rng.normal(0.0, DISPLACEMENT_SD_MM)))
        sample = standard_sample(series)
        rows.append(sheet_row(_write(out_dir, sample, counts, STANDARD_MATERIAL), "xrd", sample, "standard",
                              series=series, material=STANDARD_MATERIAL))
        truth[sample] = standard_truth
    truth["CdSe_ZnS_BPO_OAmBr"]["oxide_ratio_relative_to_BPO"] = (
        truth["CdSe_ZnS_BPO_OAmBr"]["oxide_ratio"] / truth["CdSe_ZnS_BPO"]["oxide_ratio"])
    return rows, {"xrd": truth}
