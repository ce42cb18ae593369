"""Br- uptake of a core-multishell QD: surface binding plus Fickian diffusion into the shells.

Physics (Yuan et al., Chem. Sci. 2023, 14, 13119, "The diffusion of halogens", eqs 1-3):

* The QD is a sphere of concentric layers (InP core, ZnSe, ZnSeS, ZnS). Br- enters the zinc blende
  shells from the surface during the post-treatment (time ``t`` at temperature ``T``) and does not
  enter the InP core (the paper: no Br in the sixth, core etch) - the core surface is a zero-flux wall.
* Br- (196 pm) substitutes Se2- (198 pm) far better than S2- (184 pm) (paper, p. 13122), so each
  layer has a relative solubility (partition coefficient) ``K = x_Se + K_S (1 - x_Se)`` with the
  Se site fraction ``x_Se`` of the layer and a small sulfide solubility ``K_S``. Local equilibrium
  across a layer interface keeps the activity ``u = c / K`` continuous (not ``c``), so the
  ZnSe-rich inner layers end up holding more Br than the outer ZnS: this is what puts the 300 C
  Br- maximum in the third etch instead of the first.
* Transport: ``K du/dt = (1/r^2) d/dr (r^2 D K du/dr)`` with one diffusion coefficient ``D`` for the
  zinc blende shells (Arrhenius, eq 1: ``D = D0 exp(-dH / kB T)``), surface activity ``u(R) = 1``
  during the treatment (the ZnBr2 bath), ``u = 0`` at ``t = 0``.
* Surface-bound Br (ZnBr2 ligands, removed by the first etch) is a separate amount per treatment
  temperature: its attachment is activated (paper: more surface Br at 200 C than at 80 C) and at
  300 C part of it has moved inwards; it is a nuisance parameter of the fit.

Numerics: a finite-volume discretisation in ``r`` (cell capacities ``K V``, face conductances
``D K A / h`` with harmonic means across interfaces) turns the PDE into ``C w' = -D M w`` with
``w = u - 1``. Because ``D`` is one number, the generalised eigenproblem ``M v = mu C v`` is solved
once per geometry and ``w(t) = sum_i v_i exp(-mu_i D t) (v_i^T C w0)`` is exact in time: the
profile depends on ``D t`` only and costs one small matrix product per evaluation. The solver is
tested against Crank's analytic series for a uniform sphere (J. Crank, The Mathematics of
Diffusion, 2nd ed. 1975, eqs 6.18 and 6.20).

Fit (:func:`fit_etch_profiles`, whole series: :func:`analyse_series`): whatever the sheet holds - one
profile per (temperature, treatment time) with any measured etch cycles (>= 2, cycle 1 included) - the
amount of Br in etch ``k`` is ``S_p [k = 1] + A * content_k(D_T t_p)``, with ``content_k`` the
K-weighted uptake (nm^3) of the material removed by etch ``k``, ``A`` (amount per nm^3 of unit-K
lattice at unit activity) shared by all profiles (same ZnBr2 bath, assumed temperature-independent
solubility), ``S_p`` per profile and ``D_T`` per temperature (profiles of one temperature at several
times share it). The model is linear in ``A`` and ``S_p``, which gives data-driven start values (a grid
in ``log10 D`` with linear least squares). Uncertainties are from the covariance with the stated data
sigmas, not rescaled: a temperature whose profiles reject the model (chi^2 p-value < ``fit_p_min``)
is flagged instead - which is what happens when the real physics is not single-D Fickian diffusion,
e.g. an interstitial-substitutional exchange slow against the treatment (the simulator's model).
(lmfit rescales the covariance by the reduced chi-square unless told not to; with the few degrees of
freedom of a short series that shrank sigma up to fourfold on a lucky chi-square.) Etch diameters
from TEM carry errors; :func:`analyse_series` refits with them as parameters under Gaussian priors
(:func:`_fit_with_radii`), so D's sigma and the chi-square tests include them.

Not taken from a library: no maintained package fits etch-resolved uptake profiles of a layered
sphere with layer partition coefficients; lmfit does the least squares and SciPy the eigenproblem.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field, replace

import lmfit
import numpy as np
from scipy import stats
from scipy.linalg import eigh

from qdanalysis.errors import AnalysisError
from qdanalysis.results import Estimate, Quantity, flag_from, flag_reasons, merge_flags

BOLTZMANN_EV_K = 8.617333262e-5
NM2_PER_M2 = 1e18
LOG10_D_BOUNDS_M2_S = (-26.0, -16.0)
# Delta chi^2 for a one-sided 95 % upper limit from a profile likelihood (one parameter)
UPPER_LIMIT_DELTA_CHI2 = 2.706


def partition_coefficient(se_fraction: float, sulfide_partition: float) -> float:
    """Relative Br- solubility of a zinc blende layer: ``K = x_Se + K_S (1 - x_Se)`` (ZnSe = 1).

    Parameters
    ----------
    se_fraction : float
        Se fraction ``x_Se`` of the layer's anion sites (0-1).
    sulfide_partition : float
        Br- solubility on S sites relative to Se sites, ``K_S``.

    Returns
    -------
    float
        Partition coefficient ``K`` (dimensionless, 1 for ZnSe).
    """
    return float(se_fraction + sulfide_partition * (1.0 - se_fraction))


@dataclass(frozen=True)
class ShellGeometry:
    """Layers (inside out) with outer radii and partition coefficients, and the etch radii.

    ``partition`` 0 marks a layer Br cannot enter (the InP core); it must be the innermost one.
    ``etch_radius_nm[k]`` is the particle radius after etch ``k`` (``k = 0``: before etching); etch
    ``k`` removes the material between ``etch_radius_nm[k - 1]`` and ``etch_radius_nm[k]``.
    """

    layer_names: tuple[str, ...]
    layer_outer_radius_nm: tuple[float, ...]
    partition: tuple[float, ...]
    etch_radius_nm: tuple[float, ...]

    def __post_init__(self):
        if not (len(self.layer_names) == len(self.layer_outer_radius_nm) == len(self.partition)):
            raise ValueError("layer names, radii and partition coefficients differ in length")
        if np.any(np.diff(self.layer_outer_radius_nm) <= 0):
            raise ValueError("layer outer radii must increase from the core outwards")
        if np.any(np.diff(self.etch_radius_nm) > 0):
            raise ValueError("etch radii must not increase with the etch cycle")
        if any(k <= 0 for k in self.partition[1:]):
            raise ValueError("only the innermost layer may be impermeable (partition 0)")

    @property
    def outer_radius_nm(self) -> float:
        return float(self.layer_outer_radius_nm[-1])

    @property
    def inner_radius_nm(self) -> float:
        """Radius of the zero-flux wall (the impermeable core), 0 if every layer is permeable."""
        return float(self.layer_outer_radius_nm[0]) if self.partition[0] <= 0 else 0.0

    @property
    def n_etches(self) -> int:
        return len(self.etch_radius_nm) - 1


def multishell_geometry(layer_outer_radius_nm: dict[str, float], se_fraction: dict[str, float],
                        sulfide_partition: float, etch_diameter_nm: list[float]) -> ShellGeometry:
    """Geometry from layer radii (core first), Se site fractions and the etch diameters (TEM or
    config). The outermost layer is stretched or cut to the measured initial radius, so the etch
    bins and the layers describe the same particle; layers with no Se fraction listed are
    impermeable (the InP core).

    Parameters
    ----------
    layer_outer_radius_nm : dict of str to float
        Outer radius of each layer, nm (sorted by radius, so the order of the mapping does not matter).
    se_fraction : dict of str to float
        Se site fraction of each permeable layer; layers not listed get partition 0.
    sulfide_partition : float
        Br- solubility on S sites relative to Se sites.
    etch_diameter_nm : list of float, shape (n_etches + 1,)
        Particle diameter before etching and after each etch cycle, nm (negative values count as 0).

    Returns
    -------
    ShellGeometry
        Layer names, outer radii (nm), partition coefficients and etch radii (nm).

    Raises
    ------
    AnalysisError
        If the initial radius lies inside the second-outermost layer.
    """
    # core first whatever order the mapping was written in (a YAML dump may sort the keys)
    names = sorted(layer_outer_radius_nm, key=lambda n: float(layer_outer_radius_nm[n]))
    radii = [float(layer_outer_radius_nm[n]) for n in names]
    etch_radius = [max(float(d), 0.0) / 2 for d in etch_diameter_nm]
    if etch_radius[0] <= radii[-2]:
        raise AnalysisError(f"initial radius {etch_radius[0]} nm is inside the {names[-2]} layer "
                            f"(outer radius {radii[-2]} nm in diffusion.layer_outer_radius_nm)")
    radii[-1] = etch_radius[0]
    partition = [partition_coefficient(se_fraction[n], sulfide_partition) if n in se_fraction else 0.0
                 for n in names]
    return ShellGeometry(tuple(names), tuple(radii), tuple(partition), tuple(etch_radius))


class SphereDiffusion:
    """Finite-volume radial diffusion with layer partition coefficients, exact in time.

    ``SphereDiffusion(geometry, n_cells)`` builds the grid between the zero-flux wall and the
    surface; :meth:`activity` gives ``u(r)`` and :meth:`etch_content` the K-weighted uptake (nm^3 of
    unit-K lattice) in each etch shell, both as functions of ``D t`` (nm^2).

    Parameters
    ----------
    geometry : ShellGeometry
        Layers, partition coefficients and etch radii.
    n_cells : int, optional
        Approximate number of radial cells (faces are put on every layer boundary). Default 240.
    """

    def __init__(self, geometry: ShellGeometry, n_cells: int = 240):
        self.geometry = geometry
        faces = _layer_faces(geometry, n_cells)
        n_cells = faces.size - 1
        self.faces_nm = faces
        self.centers_nm = 0.5 * (faces[1:] + faces[:-1])
        h = np.diff(faces)
        self.cell_volume_nm3 = 4 * np.pi / 3 * (faces[1:] ** 3 - faces[:-1] ** 3)
        layer_index = np.searchsorted(np.asarray(geometry.layer_outer_radius_nm), self.centers_nm)
        self.partition = np.asarray(geometry.partition)[np.minimum(layer_index, len(geometry.partition) - 1)]
        capacity = self.partition * self.cell_volume_nm3
        area = 4 * np.pi * faces ** 2
        # face conductances for D = 1 nm^2/s: series resistances of the two half cells, so K is
        # harmonically averaged across a layer interface (flux continuity with continuous u)
        inner = area[1:-1] / (h[:-1] / 2 / self.partition[:-1] + h[1:] / 2 / self.partition[1:])
        surface = area[-1] * self.partition[-1] / (h[-1] / 2)
        stiffness = np.zeros((n_cells, n_cells))
        idx = np.arange(n_cells - 1)
        stiffness[idx, idx] += inner
        stiffness[idx + 1, idx + 1] += inner
        stiffness[idx, idx + 1] -= inner
        stiffness[idx + 1, idx] -= inner
        stiffness[-1, -1] += surface  # Dirichlet u = 1 outside the surface cell
        self.rates, vectors = eigh(stiffness, np.diag(capacity))
        # w(0) = u(0) - 1 = -1: modal amplitudes v^T C w0 (eigenvectors are C-orthonormal)
        self._modes = vectors
        self._amplitudes = vectors.T @ (capacity * -1.0)
        self._etch_weights = self._etch_overlap()

    def _etch_overlap(self) -> np.ndarray:
        """(n_etches, n_cells) fraction of each cell's volume removed by each etch."""
        radii = np.asarray(self.geometry.etch_radius_nm)
        lower, upper = self.faces_nm[:-1], self.faces_nm[1:]
        weights = np.zeros((radii.size - 1, lower.size))
        for k in range(radii.size - 1):
            hi, lo = radii[k], radii[k + 1]
            top, bottom = np.minimum(upper, hi), np.maximum(lower, lo)
            overlap = np.where(top > bottom, top ** 3 - bottom ** 3, 0.0)
            weights[k] = overlap / (upper ** 3 - lower ** 3)
        return weights

    def activity(self, dt_nm2: float | np.ndarray) -> np.ndarray:
        """Activity ``u = c/K`` in every cell after diffusion length^2 ``D t`` (nm^2); 2-D for arrays.

        Parameters
        ----------
        dt_nm2 : float or numpy.ndarray, shape (n_t,)
            Product ``D t``, nm^2.

        Returns
        -------
        numpy.ndarray, shape (n_cells,) or (n_t, n_cells)
            Activity relative to the bath (0 at ``t = 0``, 1 at equilibrium).
        """
        dt = np.atleast_1d(np.asarray(dt_nm2, dtype=float))
        decay = np.exp(-np.outer(dt, self.rates))  # (n_t, n_modes)
        u = 1.0 + (decay * self._amplitudes) @ self._modes.T
        return u[0] if np.ndim(dt_nm2) == 0 else u

    def concentration(self, dt_nm2: float) -> np.ndarray:
        """Br concentration relative to unit-K lattice at the bath activity: ``c = K u``.

        Parameters
        ----------
        dt_nm2 : float
            Product ``D t``, nm^2.

        Returns
        -------
        numpy.ndarray, shape (n_cells,)
            Relative concentration in every cell.
        """
        return self.partition * self.activity(dt_nm2)

    def uptake(self, dt_nm2: float) -> float:
        """Total K-weighted uptake (nm^3).

        Parameters
        ----------
        dt_nm2 : float
            Product ``D t``, nm^2.

        Returns
        -------
        float
            Uptake, nm^3 of unit-K lattice at bath activity.
        """
        return float(np.sum(self.cell_volume_nm3 * self.concentration(dt_nm2)))

    def etch_content(self, dt_nm2: float | np.ndarray) -> np.ndarray:
        """K-weighted uptake (nm^3) in the material removed by each etch; rows per ``D t`` for arrays.

        Parameters
        ----------
        dt_nm2 : float or numpy.ndarray, shape (n_t,)
            Product ``D t``, nm^2.

        Returns
        -------
        numpy.ndarray, shape (n_etches,) or (n_t, n_etches)
            Uptake per etch cycle, nm^3 of unit-K lattice.
        """
        content = self.partition * self.cell_volume_nm3 * self.activity(dt_nm2)
        return content @ self._etch_weights.T


def _layer_faces(geometry: ShellGeometry, n_cells: int) -> np.ndarray:
    """Cell faces on every layer boundary (so each cell has one K), ~uniform spacing."""
    r_in = geometry.inner_radius_nm
    bounds = [r_in] + [r for r in geometry.layer_outer_radius_nm if r > r_in + 1e-12]
    spacing = (bounds[-1] - bounds[0]) / n_cells
    faces = [np.array([bounds[0]])]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=False):
        faces.append(np.linspace(lo, hi, max(2, round((hi - lo) / spacing)) + 1)[1:])
    return np.concatenate(faces)


def crank_uptake_fraction(dt_nm2: float, radius_nm: float, n_terms: int = 400) -> float:
    """``M_t / M_inf`` of a uniform sphere with constant surface concentration (Crank eq 6.20).

    Parameters
    ----------
    dt_nm2 : float
        Product ``D t``, nm^2.
    radius_nm : float
        Sphere radius, nm.
    n_terms : int, optional
        Terms of the series. Default 400.

    Returns
    -------
    float
        Fractional uptake (0-1).

    References
    ----------
    J. Crank, The Mathematics of Diffusion, 2nd ed. 1975, eq 6.20.
    """
    n = np.arange(1, n_terms + 1)
    return float(1 - 6 / np.pi ** 2 * np.sum(np.exp(-dt_nm2 * n ** 2 * np.pi ** 2 / radius_nm ** 2) / n ** 2))


def crank_profile(r_nm: np.ndarray, dt_nm2: float, radius_nm: float, n_terms: int = 400) -> np.ndarray:
    """``c / c_surface`` inside a uniform sphere with constant surface concentration (Crank eq 6.18).

    Parameters
    ----------
    r_nm : numpy.ndarray, shape (n,)
        Radii, nm (> 0).
    dt_nm2 : float
        Product ``D t``, nm^2.
    radius_nm : float
        Sphere radius, nm.
    n_terms : int, optional
        Terms of the series. Default 400.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Concentration relative to the surface concentration.

    References
    ----------
    J. Crank, The Mathematics of Diffusion, 2nd ed. 1975, eq 6.18.
    """
    r = np.asarray(r_nm, dtype=float)[:, None]
    n = np.arange(1, n_terms + 1)[None, :]
    series = ((-1.0) ** n / n * np.sin(n * np.pi * r / radius_nm)
              * np.exp(-dt_nm2 * n ** 2 * np.pi ** 2 / radius_nm ** 2))
    return 1 + 2 * radius_nm / (np.pi * r[:, 0]) * series.sum(axis=1)


def etch_profile(solver: SphereDiffusion, d_m2_s: float, time_s: float, surface_amount: float,
                 lattice_scale: float) -> np.ndarray:
    """Br per etch (any amount unit): surface-bound ``surface_amount`` in etch 1 plus
    ``lattice_scale`` x K-weighted uptake after ``D t``.

    Parameters
    ----------
    solver : SphereDiffusion
        Diffusion solver of the particle.
    d_m2_s : float
        Diffusion coefficient, m^2/s.
    time_s : float
        Treatment time, s.
    surface_amount : float
        Surface-bound Br released by the first etch (amount unit of the result).
    lattice_scale : float
        Amount per nm^3 of unit-K lattice at bath activity.

    Returns
    -------
    numpy.ndarray, shape (n_etches,)
        Br per etch cycle, in the unit of ``surface_amount`` and ``lattice_scale``.
    """
    amounts = lattice_scale * solver.etch_content(d_m2_s * NM2_PER_M2 * time_s)
    amounts[0] += surface_amount
    return amounts


def diffusion_length_nm(d_m2_s: float, time_s: float) -> float:
    """Diffusion length ``sqrt(D t)``.

    Parameters
    ----------
    d_m2_s : float
        Diffusion coefficient, m^2/s.
    time_s : float
        Time, s.

    Returns
    -------
    float
        ``sqrt(D t)``, nm.
    """
    return math.sqrt(d_m2_s * NM2_PER_M2 * time_s)


def arrhenius_d(temperature_K, d0_m2_s: float, dh_ev: float):
    """Eq 1 of the paper: ``D = D0 exp(-dH / kB T)``.

    Parameters
    ----------
    temperature_K : float or array_like
        Temperature, K.
    d0_m2_s : float
        Pre-exponential factor ``D0``, m^2/s.
    dh_ev : float
        Activation energy ``dH``, eV.

    Returns
    -------
    float or numpy.ndarray
        Diffusion coefficient, m^2/s, of the shape of ``temperature_K``.

    References
    ----------
    Yuan et al., Chem. Sci. 2023, 14, 13119, eq 1.
    """
    return d0_m2_s * np.exp(-dh_ev / (BOLTZMANN_EV_K * np.asarray(temperature_K, dtype=float)))


# ------------------------------------------------------------------------------------ fitting
@dataclass(frozen=True)
class EtchProfile:
    """Br measured in the etch supernatants of one treatment (temperature, time).

    ``cycles`` are the etch cycles measured (1 = first etch; any subset of the geometry's etches that
    holds cycle 1, where the surface-bound Br comes off), ``amount``/``sigma`` the Br per cycle (any
    unit, 1-sigma). ``samples`` and ``flags`` travel with the data to the results.
    """

    temperature_C: float
    time_s: float
    cycles: tuple[int, ...]
    amount: np.ndarray
    sigma: np.ndarray
    samples: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()

    def __post_init__(self):
        if not len(self.cycles) == len(self.amount) == len(self.sigma):
            raise ValueError("cycles, amounts and sigmas differ in length")
        if list(self.cycles) != sorted(set(self.cycles)):
            raise AnalysisError(f"{self.temperature_C:g} C: etch cycles {list(self.cycles)} repeat or are not "
                                "in ascending order")


@dataclass(frozen=True)
class TemperatureResult:
    """Fitted diffusion at one treatment temperature (shared by its profiles of different times).

    ``resolved`` is False when the penetration is below the etch resolution: then ``d_m2_s`` holds
    the one-sided 95 % upper limit from the profile likelihood and its uncertainty is NaN. ``chi_square``
    and ``dof`` are this temperature's share of the joint fit (its points minus its own parameters).
    """

    temperature_C: float
    d_m2_s: Estimate
    log10_d: Estimate
    resolved: bool
    chi_square: float
    dof: float
    profile_log10_d: np.ndarray = field(default_factory=lambda: np.zeros(0))
    profile_chi2: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def p_value(self) -> float:
        return float(stats.chi2.sf(self.chi_square, self.dof)) if self.dof > 0 else math.nan


@dataclass(frozen=True)
class ProfileResult:
    """One profile's surface-bound Br, model and data (per measured cycle)."""

    profile: EtchProfile
    surface_amount: Estimate
    diffusion_length_nm: float
    model: np.ndarray
    chi_square: float

    @property
    def temperature_C(self) -> float:
        return self.profile.temperature_C

    @property
    def data(self) -> np.ndarray:
        return self.profile.amount

    @property
    def sigma(self) -> np.ndarray:
        return self.profile.sigma

    @property
    def max_cycle(self) -> int:
        """Etch cycle with the largest measured Br."""
        return int(self.profile.cycles[int(np.argmax(self.profile.amount))])


@dataclass(frozen=True)
class DiffusionFit:
    temperatures: tuple[TemperatureResult, ...]
    profiles: tuple[ProfileResult, ...]
    lattice_scale: Estimate  # data amount per nm^3 of unit-K lattice at bath activity
    chi_square: float
    dof: int
    # covariance of log10 D of the resolved temperatures (temperature order; the shared lattice scale
    # correlates them); None if the fit gave none
    log10_d_covariance: np.ndarray | None = None

    @property
    def reduced_chi_square(self) -> float:
        return self.chi_square / self.dof if self.dof > 0 else float("nan")

    @property
    def p_value(self) -> float:
        return float(stats.chi2.sf(self.chi_square, self.dof)) if self.dof > 0 else math.nan

    def temperature(self, temperature_C: float) -> TemperatureResult:
        """The result of one treatment temperature.

        Parameters
        ----------
        temperature_C : float
            Treatment temperature, °C (exact match).

        Returns
        -------
        TemperatureResult
            Fitted diffusion at that temperature.

        Raises
        ------
        StopIteration
            If the fit has no such temperature.
        """
        return next(t for t in self.temperatures if t.temperature_C == temperature_C)


def _as_profiles(profiles, time_s=None) -> list[EtchProfile]:
    """Accept a list of :class:`EtchProfile` or the compact ``{T: (amount, sigma)}`` with ``time_s[T]``
    (cycles 1..N)."""
    if isinstance(profiles, dict):
        return [EtchProfile(float(t), float(time_s[t]), tuple(range(1, len(a) + 1)), np.asarray(a, dtype=float),
                            np.asarray(s, dtype=float)) for t, (a, s) in sorted(profiles.items())]
    return list(profiles)


def _grid_start(contents, data, sigma):
    """Best grid index of log10 D with linear least squares for (surface, scale); contents (grid, n)."""
    best = None
    for index, content in enumerate(contents):
        design = np.column_stack([np.eye(len(data))[0], content]) / sigma[:, None]
        coef, *_ = np.linalg.lstsq(design, data / sigma, rcond=None)
        coef = np.maximum(coef, 0.0)
        chi2 = float(np.sum((design @ coef - data / sigma) ** 2))
        if best is None or chi2 < best[0]:
            best = (chi2, index, coef[0], coef[1])
    return best[1:]


def fit_etch_profiles(solver: SphereDiffusion, profiles, time_s: dict[float, float] | None = None, *,
                      max_log10_d_err: float = 0.5, detection_delta_chi2: float = 9.0,
                      grid_points: int = 61) -> DiffusionFit:
    """Fit ``D_T`` (per temperature), ``S`` (per profile) and a shared lattice scale to Br etch profiles.

    ``profiles``: :class:`EtchProfile` list (any temperatures, times and measured cycles; profiles of
    one temperature at several times share its ``D``), or ``{T: (amount, sigma)}`` with ``time_s[T]``.
    The model of a profile is ``S [k = 1] + A content_k(D_T t)`` at the measured cycles ``k``.
    Uncertainties from the covariance with the stated data sigmas (not rescaled: a poor fit is
    reported through the chi-square, which the caller flags); temperatures whose ``log10 D`` is not
    determined to ``max_log10_d_err`` decades, or whose penetration is not detected (chi^2 at the
    lowest D, i.e. no penetration, less than ``detection_delta_chi2`` above the minimum; 9 = 3 sigma),
    get a profile-likelihood 95 % upper limit instead.

    Parameters
    ----------
    solver : SphereDiffusion
        Diffusion solver of the particle geometry.
    profiles : list of EtchProfile or dict
        The etch profiles, or ``{T: (amount, sigma)}`` (cycles 1..N) together with ``time_s``.
    time_s : dict of float to float, optional
        Treatment time per temperature, s (only with the dict form of ``profiles``).
    max_log10_d_err : float, optional
        Largest 1-sigma of ``log10 D`` (decades) for a resolved D. Default 0.5.
    detection_delta_chi2 : float, optional
        chi^2 by which "no penetration" must be worse than the best fit. Default 9.0.
    grid_points : int, optional
        Points of the ``log10 D`` grid (start values and profile-likelihood scans). Default 61.

    Returns
    -------
    DiffusionFit
        Per temperature D (m^2/s; upper limit when unresolved), per profile surface amount, diffusion
        length (nm) and model, the shared lattice scale and the joint chi-square and dof.

    Raises
    ------
    AnalysisError
        For no profiles, a profile without cycle 1, with fewer than two cycles, with cycles beyond the
        geometry's etches, or with non-positive or non-finite sigmas.
    """
    profiles = _as_profiles(profiles, time_s)
    _check_profiles(profiles, solver.geometry.n_etches)
    model = _series_model(solver, profiles)
    grid = np.linspace(*LOG10_D_BOUNDS_M2_S, grid_points)
    params = _start_parameters(model, grid)
    result = _minimize(model, params)
    chi2 = float(np.sum(result.residual ** 2))
    n_data = sum(len(p.cycles) for p in profiles)
    dof = n_data - len(params)

    profile_scans = [_profile(model.residual, result.params, f"log10_d_{j}", grid)
                     for j in range(len(model.temperatures))]
    error_fit = _error_fit(model, result, profile_scans, detection_delta_chi2)
    errors = error_fit.params
    resolved_flags = []
    for j, (scan_grid, scan_chi2) in enumerate(profile_scans):
        log10_err = _stderr(errors, f"log10_d_{j}")
        resolved_flags.append(bool(np.isfinite(log10_err) and log10_err < max_log10_d_err
                                   and _two_sided(scan_grid, scan_chi2, chi2, detection_delta_chi2)))
    surface_fit = _surface_fit(model, result, resolved_flags)
    values = result.params.valuesdict()
    profile_chi2 = model.profile_chi2(values)
    temperature_results = _temperature_results(model, values, errors, profile_scans, resolved_flags,
                                               profile_chi2, chi2, n_data)
    profile_results = _profile_results(model, values, result, surface_fit, resolved_flags, temperature_results,
                                       profile_chi2)
    scale = Estimate(float(values["lattice_scale"]), _stderr(result.params, "lattice_scale"))
    covariance = _covariance(error_fit, [f"log10_d_{j}" for j, resolved in enumerate(resolved_flags) if resolved])
    return DiffusionFit(tuple(temperature_results), tuple(profile_results), scale, chi2, dof, covariance)


def _covariance(result: lmfit.minimizer.MinimizerResult, names: list[str]) -> np.ndarray | None:
    """The block of lmfit's covariance for the varied parameters ``names``; None if there is none."""
    if not names or result.covar is None or not set(names) <= set(result.var_names):
        return None
    index = [result.var_names.index(name) for name in names]
    return np.asarray(result.covar)[np.ix_(index, index)]


def _check_profiles(profiles: list[EtchProfile], n_etches: int) -> None:
    """Raise :class:`AnalysisError` for no profile, or one that the model cannot describe."""
    if not profiles:
        raise AnalysisError("no etch profiles to fit")
    for p in profiles:
        label = f"{p.temperature_C:g} C, {p.time_s / 60:g} min"
        if len(p.cycles) < 2:
            raise AnalysisError(f"{label}: {len(p.cycles)} etch cycle(s); a diffusion profile needs >= 2")
        if 1 not in p.cycles:
            raise AnalysisError(f"{label}: etch cycle 1 (the surface-bound Br) is missing, cycles {list(p.cycles)}")
        if max(p.cycles) > n_etches or min(p.cycles) < 1:
            raise AnalysisError(f"{label}: etch cycles {list(p.cycles)}, but the etch radii describe cycles "
                                f"1..{n_etches}")
        if not np.all(np.isfinite(p.sigma)) or np.any(p.sigma <= 0):
            raise AnalysisError(f"{label}: Br uncertainties must be positive and finite")


@dataclass(frozen=True)
class _SeriesModel:
    """The model of all profiles of a series: ``S [k = 1] + A content_k(D_T t)`` at the measured cycles.

    Parameters ``log10_d_{j}`` (temperature ``j`` of ``temperatures``), ``surface_{i}`` (profile ``i``)
    and ``lattice_scale``; :meth:`residual` is what lmfit minimises.
    """

    solver: SphereDiffusion
    profiles: list[EtchProfile]
    temperatures: list[float]
    columns: list[np.ndarray]
    t_index: dict[float, int]

    def contents(self, profile: EtchProfile, column: np.ndarray, log10_d) -> np.ndarray:
        return self.solver.etch_content(10.0 ** np.asarray(log10_d) * NM2_PER_M2 * profile.time_s)[..., column]

    def models(self, values: dict) -> list[np.ndarray]:
        """Every profile's model amounts, from one solver call for all profiles (the fit's hot path)."""
        log10_d = np.array([values[f"log10_d_{self.t_index[p.temperature_C]}"] for p in self.profiles])
        times = np.array([p.time_s for p in self.profiles])
        content = self.solver.etch_content(10.0 ** log10_d * NM2_PER_M2 * times)  # (profiles, etches)
        models = []
        for i, p in enumerate(self.profiles):
            amounts = values["lattice_scale"] * content[i, self.columns[i]]
            amounts[list(p.cycles).index(1)] += values[f"surface_{i}"]
            models.append(amounts)
        return models

    def profile_chi2(self, values: dict) -> list[float]:
        """chi^2 of every profile at the parameter ``values``."""
        return [float(np.sum(((m - p.amount) / p.sigma) ** 2))
                for m, p in zip(self.models(values), self.profiles, strict=True)]

    def residual(self, par: lmfit.Parameters) -> np.ndarray:
        return np.concatenate([(m - p.amount) / p.sigma for m, p in zip(self.models(par.valuesdict()),
                                                                         self.profiles, strict=True)])


def _series_model(solver: SphereDiffusion, profiles: list[EtchProfile]) -> _SeriesModel:
    temperatures = sorted({p.temperature_C for p in profiles})
    t_index = {t: i for i, t in enumerate(temperatures)}
    columns = [np.asarray(p.cycles) - 1 for p in profiles]
    return _SeriesModel(solver, profiles, temperatures, columns, t_index)


def _start_parameters(model: _SeriesModel, grid: np.ndarray) -> lmfit.Parameters:
    """Start values and bounds of ``log10_d_{j}``, ``surface_{i}`` and ``lattice_scale``.

    A grid in log10 D with linear least squares for the rest, per profile; the shared lattice scale
    from the profile with the most Br beyond the first etch (the others barely constrain it); then D
    per temperature restarted at that scale.
    """
    profiles, columns, t_index = model.profiles, model.columns, model.t_index
    starts = [_grid_start(model.contents(p, c, grid), p.amount, p.sigma)
              for p, c in zip(profiles, columns, strict=False)]
    informative = max(range(len(profiles)), key=lambda i: float(np.sum(profiles[i].amount[1:])))
    scale = starts[informative][2] if starts[informative][2] > 0 else 1.0
    params = lmfit.Parameters()
    grid_chi2 = np.zeros((len(model.temperatures), grid.size))
    surfaces = {}
    for i, (p, c) in enumerate(zip(profiles, columns, strict=False)):
        amounts = model.contents(p, c, grid) * scale
        surface = np.maximum(p.amount[0] - amounts[:, 0], 0.0)  # cycle 1 comes first (sorted below)
        amounts[:, 0] += surface
        grid_chi2[t_index[p.temperature_C]] += np.sum(((amounts - p.amount) / p.sigma) ** 2, axis=1)
        surfaces[i] = surface
    for j, temp in enumerate(model.temperatures):
        best = int(np.argmin(grid_chi2[j]))
        params.add(f"log10_d_{j}", value=float(grid[best]), min=LOG10_D_BOUNDS_M2_S[0], max=LOG10_D_BOUNDS_M2_S[1])
        for i, p in enumerate(profiles):
            if p.temperature_C == temp:
                params.add(f"surface_{i}", value=max(float(surfaces[i][best]), 1e-6 * max(p.amount.max(), 1e-12)),
                           min=0.0)
    params.add("lattice_scale", value=float(scale), min=0.0)
    return params


def _minimize(model: _SeriesModel, params: lmfit.Parameters) -> lmfit.minimizer.MinimizerResult:
    with warnings.catch_warnings():  # lmfit's stderr of an undetermined D is sqrt(<0): NaN, handled by callers
        warnings.simplefilter("ignore", RuntimeWarning)
        return lmfit.minimize(model.residual, params, method="least_squares", scale_covar=False)


def _stderr(params: lmfit.Parameters, name: str) -> float:
    stderr = params[name].stderr
    return float(stderr) if stderr is not None and np.isfinite(stderr) else float("nan")


def _error_fit(model: _SeriesModel, result, profile_scans, detection_delta_chi2: float):
    """The fit whose covariance gives the errors: the fit itself, or a refit holding undetected Ds.

    A D the data do not determine (penetration below the etch resolution: chi^2 flat in it) makes the
    covariance singular, and lmfit then gives no error for any parameter, which would make every
    temperature an upper limit. Hold the D values whose penetration the scans do not detect at their
    fitted value and take the errors of the rest from that (regular) fit.
    """
    if result.errorbars:
        return result
    chi2 = float(np.sum(result.residual ** 2))
    held = result.params.copy()
    for j, (scan_grid, scan_chi2) in enumerate(profile_scans):
        if not _two_sided(scan_grid, scan_chi2, chi2, detection_delta_chi2):
            held[f"log10_d_{j}"].set(vary=False)
    return _minimize(model, held)


def _surface_fit(model: _SeriesModel, result, resolved_flags: list[bool]):
    """The fit the surface amounts of unresolved temperatures come from.

    A refit with their penetration switched off (D at the lower bound), since a free but undetermined
    D makes the surface degenerate with it; the fit itself when every temperature is resolved.
    """
    fixed = result.params.copy()
    for j, resolved in enumerate(resolved_flags):
        if not resolved:
            fixed[f"log10_d_{j}"].set(value=LOG10_D_BOUNDS_M2_S[0], vary=False)
    return _minimize(model, fixed) if not all(resolved_flags) else result


def _temperature_results(model: _SeriesModel, values: dict, errors: lmfit.Parameters, profile_scans,
                         resolved_flags: list[bool], profile_chi2: list[float], chi2: float,
                         n_data: int) -> list[TemperatureResult]:
    """D per temperature (an upper limit if unresolved) with its chi-square and share of the dof.

    Each temperature's share of the degrees of freedom: its points minus its D, its surfaces and a
    share of the lattice scale proportional to its points.
    """
    profiles, temperature_results = model.profiles, []
    for j, temp in enumerate(model.temperatures):
        members = [i for i, p in enumerate(profiles) if p.temperature_C == temp]
        points = sum(len(profiles[i].cycles) for i in members)
        t_dof = points - 1 - len(members) - points / n_data
        log10_d = float(values[f"log10_d_{j}"])
        log10_err = _stderr(errors, f"log10_d_{j}")
        scan_grid, scan_chi2 = profile_scans[j]
        if resolved_flags[j]:
            d = Estimate(10.0 ** log10_d, 10.0 ** log10_d * math.log(10) * log10_err)
        else:
            limit = _upper_limit(scan_grid, scan_chi2, chi2, log10_d)
            d, log10_err, log10_d = Estimate(10.0 ** limit, float("nan")), float("nan"), limit
        temperature_results.append(TemperatureResult(
            temperature_C=float(temp), d_m2_s=d, log10_d=Estimate(log10_d, log10_err), resolved=resolved_flags[j],
            chi_square=float(sum(profile_chi2[i] for i in members)), dof=float(t_dof),
            profile_log10_d=scan_grid, profile_chi2=scan_chi2))
    return temperature_results


def _profile_results(model: _SeriesModel, values: dict, result, surface_fit, resolved_flags: list[bool],
                     temperature_results: list[TemperatureResult], profile_chi2: list[float]) -> list[ProfileResult]:
    """Surface amount (from ``surface_fit`` if its temperature is unresolved), model and chi^2 per profile."""
    profile_results = []
    for i, (p, amounts) in enumerate(zip(model.profiles, model.models(values), strict=True)):
        j = model.t_index[p.temperature_C]
        source = result if resolved_flags[j] else surface_fit
        surface = Estimate(float(source.params[f"surface_{i}"].value), _stderr(source.params, f"surface_{i}"))
        d_value = temperature_results[j].d_m2_s.value
        profile_results.append(ProfileResult(profile=p, surface_amount=surface,
                                             diffusion_length_nm=diffusion_length_nm(d_value, p.time_s),
                                             model=amounts, chi_square=profile_chi2[i]))
    return profile_results


def _profile(residual, best_params, name, grid):
    """chi^2 minimised over the other parameters with ``name`` fixed on ``grid``."""
    chi2 = []
    params = best_params.copy()
    for value in grid:
        params[name].set(value=float(value), vary=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fit = lmfit.minimize(residual, params, method="least_squares")
        chi2.append(float(np.sum(fit.residual ** 2)))
    return np.asarray(grid, dtype=float), np.asarray(chi2)


def _two_sided(grid, chi2, chi2_min, detection_delta_chi2):
    """True if no penetration (lowest D) is excluded by ``detection_delta_chi2`` and the profile
    rises by 1 above its minimum on the high-D side inside the bounds."""
    best = min(chi2_min, chi2.min())
    i = int(np.argmin(chi2))
    return bool(chi2[0] > best + detection_delta_chi2 and np.any(chi2[i + 1:] > best + 1.0))


def _upper_limit(grid, chi2, chi2_min, best_log10_d=None):
    """Largest log10 D with chi^2 below min + 2.71 (one-sided 95 %), interpolated on the grid.

    ``best_log10_d`` (with ``chi2_min``) is the fit's own minimum, added to the scan: a D determined more
    sharply than the grid step has no grid point within 2.71 of the minimum.
    """
    grid, chi2 = np.asarray(grid, dtype=float), np.asarray(chi2, dtype=float)
    if best_log10_d is not None and np.isfinite(chi2_min):
        order = np.argsort(np.append(grid, best_log10_d), kind="stable")
        grid, chi2 = np.append(grid, best_log10_d)[order], np.append(chi2, chi2_min)[order]
    level = min(chi2_min, chi2.min()) + UPPER_LIMIT_DELTA_CHI2
    below = np.flatnonzero(chi2 <= level)
    j = int(below.max())
    if j == grid.size - 1:
        return float(grid[-1])
    # linear interpolation between the last point below and the first above the level
    x0, x1, y0, y1 = grid[j], grid[j + 1], chi2[j], chi2[j + 1]
    return float(x0 + (level - y0) * (x1 - x0) / (y1 - y0))


@dataclass(frozen=True)
class ArrheniusFit:
    """Weighted straight line ``ln D = ln D0 - dH / (kB T)`` (eq 1) through the resolved D values."""

    dh_ev: Estimate
    d0_m2_s: Estimate
    ln_d0: Estimate
    temperatures_K: tuple[float, ...]
    chi_square: float
    dof: int
    covariance: tuple[tuple[float, float], tuple[float, float]]  # (ln D0, dH)



def fit_arrhenius(temperature_K, d_m2_s, d_err_m2_s, covariance_ln_d=None) -> ArrheniusFit:
    """Weighted least squares of ln D against 1/(kB T); weights 1/sigma(ln D)^2 = (D/sigma_D)^2, or
    generalised least squares with the full covariance of ln D when the D values share an error (the
    etch radii of one series).

    Covariance from the weights (absolute sigma, not rescaled: a line the points reject shows in the
    chi-square, which the caller flags).

    Parameters
    ----------
    temperature_K : array_like, shape (n,)
        Temperatures, K.
    d_m2_s : array_like, shape (n,)
        Diffusion coefficients, m^2/s.
    d_err_m2_s : array_like, shape (n,)
        Their 1-sigma, m^2/s.
    covariance_ln_d : array_like, shape (n, n), optional
        Covariance of ln D; replaces ``d_err_m2_s`` when given.

    Returns
    -------
    ArrheniusFit
        ``dH`` (eV), ``D0`` (m^2/s), ``ln D0``, the temperatures, chi-square, dof and the covariance of
        (ln D0, dH).

    Raises
    ------
    AnalysisError
        If fewer than two temperatures are given.
    """
    t = np.asarray(temperature_K, dtype=float)
    d = np.asarray(d_m2_s, dtype=float)
    sigma_ln = np.asarray(d_err_m2_s, dtype=float) / d
    if t.size < 2:
        raise AnalysisError(f"an Arrhenius fit needs at least two resolved temperatures, got {t.size}")
    x = -1.0 / (BOLTZMANN_EV_K * t)
    design = np.column_stack([np.ones_like(x), x])
    weights = np.diag(1.0 / sigma_ln ** 2) if covariance_ln_d is None else np.linalg.inv(covariance_ln_d)
    covariance = np.linalg.inv(design.T @ weights @ design)
    coef = covariance @ design.T @ weights @ np.log(d)
    misfit = np.log(d) - design @ coef
    chi2 = float(misfit @ weights @ misfit)
    dof = t.size - 2
    ln_d0, dh = float(coef[0]), float(coef[1])
    ln_d0_err, dh_err = (float(math.sqrt(covariance[i, i])) for i in range(2))
    return ArrheniusFit(dh_ev=Estimate(dh, dh_err), d0_m2_s=Estimate(math.exp(ln_d0), math.exp(ln_d0) * ln_d0_err),
                        ln_d0=Estimate(ln_d0, ln_d0_err), temperatures_K=tuple(float(v) for v in t),
                        chi_square=chi2, dof=dof,
                        covariance=((float(covariance[0, 0]), float(covariance[0, 1])),
                                    (float(covariance[1, 0]), float(covariance[1, 1]))))


def etch_diameters(cycles, fallback_nm=(), tem_cycles=(), tem_diameters_nm=()) -> tuple[list[float], str]:
    """Diameter after each etch cycle ``k = 0..max(cycles)``: the mean TEM diameter where the cycle was
    imaged (several samples of one cycle averaged), else ``fallback_nm[k]`` (config), else an error.

    An etch cannot grow a particle, so TEM noise between nearly equal sizes is clipped to monotonic.

    Parameters
    ----------
    cycles : iterable of int
        Etch cycles measured (the largest sets how many diameters are needed).
    fallback_nm : sequence of float, optional
        Configured diameter after each cycle, nm (``None`` entries count as missing).
    tem_cycles : sequence of int or None, optional
        Etch cycle of each TEM sample.
    tem_diameters_nm : sequence of float, optional
        Mean TEM diameter of each TEM sample, nm.

    Returns
    -------
    diameters : list of float
        Diameter before etching and after each cycle, nm, non-increasing.
    source : str
        Where they came from, e.g. ``"TEM (cycles [0, 1]) + config (cycles [2])"``.

    Raises
    ------
    AnalysisError
        If a cycle has neither a TEM diameter nor a configured one.
    """
    last = int(max(cycles))
    measured = _tem_by_cycle(last, tem_cycles, tem_diameters_nm)
    diameters, from_config = [], []
    for k in range(last + 1):
        if k in measured:
            diameters.append(float(np.mean([sample[0] for sample in measured[k]])))
        elif k < len(fallback_nm) and fallback_nm[k] is not None:
            diameters.append(float(fallback_nm[k]))
            from_config.append(k)
        else:
            raise AnalysisError(f"no particle diameter after etch cycle {k}: image that cycle by TEM (series "
                                f"of the diffusion.tem_series setting) or list it in diffusion.diameter_after_cycle_nm")
    for k in range(1, len(diameters)):
        diameters[k] = min(diameters[k], diameters[k - 1])
    parts = []
    if measured:
        parts.append(f"TEM (cycles {sorted(measured)})")
    if from_config:
        parts.append(f"config (cycles {from_config})")
    return diameters, " + ".join(parts)


def _tem_by_cycle(last: int, tem_cycles, tem_diameters_nm, *columns) -> dict[int, list[tuple[float, ...]]]:
    """TEM samples usable as etch diameters, grouped by cycle ``0..last``: ``(diameter, *columns)`` per
    sample (one without a cycle or a finite diameter is not usable)."""
    measured: dict[int, list[tuple[float, ...]]] = {}
    for cycle, diameter, *rest in zip(tem_cycles, tem_diameters_nm, *columns, strict=False):
        if cycle is not None and np.isfinite(diameter) and 0 <= int(cycle) <= last:
            measured.setdefault(int(cycle), []).append((float(diameter), *map(float, rest)))
    return measured


def etch_diameter_errors(n_diameters: int, tem_cycles=(), tem_diameters_nm=(), tem_errors_nm=(),
                         tem_sampling_errors_nm=()) -> tuple[np.ndarray, np.ndarray]:
    """1-sigma of the etch diameters of :func:`etch_diameters`, split into an independent and a common part.

    A TEM mean diameter's error (``tem_errors_nm``) holds the sampling error of its particles
    (``tem_sampling_errors_nm``, e.g. sd / sqrt(N); independent between images) and the rest - pixel-size
    calibration and edge-definition systematic, the same microscope and method for every image of the
    series - taken as common to all cycles. Cycles imaged more than once average as
    :func:`etch_diameters` does. Diameters from the config have no error (the fit takes them as exact).

    Parameters
    ----------
    n_diameters : int
        Number of etch diameters (cycle 0 to the last).
    tem_cycles, tem_diameters_nm : sequence
        As for :func:`etch_diameters`.
    tem_errors_nm : sequence of float, optional
        1-sigma of each TEM mean diameter, nm. Empty: no TEM error (zeros).
    tem_sampling_errors_nm : sequence of float, optional
        Its sampling part, nm. Empty: the whole error is taken as independent.

    Returns
    -------
    independent, common : numpy.ndarray, shape (n_diameters,)
        Independent and common 1-sigma per cycle, nm (0 where the diameter is from the config).
    """
    independent, common = np.zeros(n_diameters), np.zeros(n_diameters)
    if len(tem_errors_nm) == 0:
        return independent, common
    sampling = tem_sampling_errors_nm if len(tem_sampling_errors_nm) else tem_errors_nm
    measured = _tem_by_cycle(n_diameters - 1, tem_cycles, tem_diameters_nm, tem_errors_nm, sampling)
    for k, samples in measured.items():
        totals = np.array([total if np.isfinite(total) else 0.0 for _, total, _ in samples])  # none: exact
        own = np.array([min(sample, total) if np.isfinite(sample) else total
                        for (_, _, sample), total in zip(samples, totals, strict=True)])
        rest = np.sqrt(np.maximum(totals ** 2 - own ** 2, 0.0))
        independent[k] = math.sqrt(float(np.sum(own ** 2))) / len(samples)
        common[k] = float(np.mean(rest))
    return independent, common


# config["diffusion"] defaults (the lead mirrors them in config.yaml and the config schema)
DEFAULTS = {
    "layer_outer_radius_nm": {"InP": 1.7, "ZnSe": 2.9, "ZnSeS": 4.4, "ZnS": 5.6},  # core first
    "se_fraction": {"ZnSe": 1.0, "ZnSeS": 0.5, "ZnS": 0.0},  # layers Br can enter; others impermeable
    "sulfide_partition": 0.05,  # Br- solubility on S sites relative to Se sites
    "diameter_after_cycle_nm": [11.2, 9.6, 8.0, 6.4, 4.9, 3.4, 0.0],  # fallback without TEM
    "tem_series": "etching",  # TEM summary rows giving the etch diameters
    "sample_prefix": "InP_MS_ZnBr2",  # per-temperature ids <prefix>_T<T>
    "n_cells": 160,
    "max_log10_d_err": 0.5,  # decades; a looser D is reported as a 95 % upper limit
    "detection_delta_chi2": 9.0,  # penetration must beat "no penetration" by this (3 sigma)
    "fit_p_min": 0.01,  # a profile (or Arrhenius line) with a chi^2 p-value below this is flagged
    "log10_d_systematic": 0.006,  # decades; model systematic of D, common to all temperatures (see analyse_series)
}


# ------------------------------------------------------------------------- a whole etch series
@dataclass(frozen=True)
class SeriesAnalysis:
    """Everything :func:`analyse_series` found, and the quantities the pipeline reports from it."""

    fit: DiffusionFit
    arrhenius: ArrheniusFit | None
    etch_diameters_nm: tuple[float, ...]
    radius_source: str
    d_flags: dict[float, str]  # temperature -> flag of its D (and surface amounts)
    arrhenius_flag: str
    sample_prefix: str
    fitted_diameters_nm: tuple[float, ...] = ()  # etch diameters refitted within their TEM errors

    def temperature_sample(self, temperature_C: float) -> str:
        """Sample id of one temperature's results.

        Parameters
        ----------
        temperature_C : float
            Treatment temperature, °C.

        Returns
        -------
        str
            ``<prefix>_T<T>``.
        """
        return f"{self.sample_prefix}_T{temperature_C:g}"

    def profile_sample(self, profile: EtchProfile) -> str:
        """Per-profile id: ``<prefix>_T<T>``, with ``_t<min>`` when the temperature has several times.

        Parameters
        ----------
        profile : EtchProfile
            One fitted profile.

        Returns
        -------
        str
            Sample id of the profile's results.
        """
        times = {p.profile.time_s for p in self.fit.profiles if p.temperature_C == profile.temperature_C}
        base = self.temperature_sample(profile.temperature_C)
        return base if len(times) == 1 else f"{base}_t{profile.time_s / 60:g}"

    def quantities(self) -> list[Quantity]:
        """D (or its upper limit) per temperature; surface Br, sqrt(D t) and the Br maximum per profile;
        dH, D0 and ln D0 when two or more temperatures are resolved.

        Returns
        -------
        list of Quantity
            ``D_m2_s`` and ``log10_D_m2_s`` (or ``D_upper_limit_m2_s``) per temperature;
            ``diffusion_length_nm``, ``surface_br_mg_L`` and ``br_max_etch_cycle`` per profile; ``dH_eV``,
            ``D0_m2_s`` and ``ln_D0`` of the Arrhenius line if there is one.
        """
        method = ("surface + Fickian diffusion (layer partition), joint fit of all profiles; radii from "
                  f"{self.radius_source}")
        out = []
        for t in self.fit.temperatures:
            sample, flag = self.temperature_sample(t.temperature_C), self.d_flags[t.temperature_C]
            if t.resolved:
                out.append(Quantity("D_m2_s", sample, t.d_m2_s.value, t.d_m2_s.uncertainty, "m^2/s", method, flag))
                out.append(Quantity("log10_D_m2_s", sample, t.log10_d.value, t.log10_d.uncertainty, "", method,
                                    flag))
            else:
                out.append(Quantity("D_upper_limit_m2_s", sample, t.d_m2_s.value, float("nan"), "m^2/s",
                                    "one-sided 95 % profile-likelihood limit (penetration below the etch "
                                    "resolution); " + method, flag))
        for p in self.fit.profiles:
            sample = self.profile_sample(p.profile)
            t = self.fit.temperature(p.temperature_C)
            flag = self.d_flags[p.temperature_C]
            out += [
                Quantity("diffusion_length_nm", sample, p.diffusion_length_nm, float("nan"), "nm",
                         "sqrt(D t)" + ("" if t.resolved else " at the D upper limit"), flag),
                Quantity("surface_br_mg_L", sample, p.surface_amount.value, p.surface_amount.uncertainty, "mg/L",
                         "surface-bound Br- (first etch) from the joint fit", flag),
                Quantity("br_max_etch_cycle", sample, float(p.max_cycle), float("nan"), "",
                         "etch cycle with the largest measured Br-", merge_flags(*p.profile.flags)),
            ]
        if self.arrhenius is not None:
            a = self.arrhenius
            resolved = [t.temperature_C for t in self.fit.temperatures if t.resolved]
            arr_method = (f"weighted ln D vs 1/kT over {len(resolved)} resolved temperatures "
                          f"({', '.join(f'{t:g}' for t in resolved)} C), eq 1")
            out += [Quantity("dH_eV", self.sample_prefix, a.dh_ev.value, a.dh_ev.uncertainty, "eV", arr_method,
                             self.arrhenius_flag),
                    Quantity("D0_m2_s", self.sample_prefix, a.d0_m2_s.value, a.d0_m2_s.uncertainty, "m^2/s",
                             arr_method, self.arrhenius_flag),
                    Quantity("ln_D0", self.sample_prefix, a.ln_d0.value, a.ln_d0.uncertainty, "ln(m^2/s)",
                             arr_method, self.arrhenius_flag)]
        return out


def _with_model_systematic(fit: DiffusionFit, arrhenius: ArrheniusFit | None,
                           log10_systematic: float) -> tuple[DiffusionFit, ArrheniusFit | None]:
    """Add the single-D model's systematic term (``log10_systematic`` decades) to every resolved D and to
    ln D0, in quadrature with their statistical errors.

    The fitted model is the fast-exchange, monodisperse limit of the uptake: a finite
    interstitial-substitutional exchange rate delays the uptake (an apparent D a few percent low) and
    the size dispersion of the ensemble smears the etch profile; neither shows in the chi-square of six
    etch points. On profiles simulated with both (``benchmarks/RECOVERY.md``, group ``etching``, case
    ``diffusion_fast_exchange``) the D values with the smallest statistical errors scatter by ~0.006
    decades more than those errors say. The term shifts all temperatures of a series together, so it
    is added *after* the Arrhenius line (whose slope dH it leaves unchanged) and enters ln D0 in full.
    """
    if log10_systematic <= 0:
        return fit, arrhenius
    temperatures = []
    for t in fit.temperatures:
        if t.resolved:
            log10_err = math.hypot(t.log10_d.uncertainty, log10_systematic)
            t = TemperatureResult(t.temperature_C, Estimate(t.d_m2_s.value, t.d_m2_s.value * math.log(10) * log10_err),
                                  Estimate(t.log10_d.value, log10_err), t.resolved, t.chi_square, t.dof,
                                  t.profile_log10_d, t.profile_chi2)
        temperatures.append(t)
    fit = replace(fit, temperatures=tuple(temperatures))
    if arrhenius is not None:
        ln_err = math.hypot(arrhenius.ln_d0.uncertainty, math.log(10) * log10_systematic)
        arrhenius = replace(arrhenius, ln_d0=Estimate(arrhenius.ln_d0.value, ln_err),
                            d0_m2_s=Estimate(arrhenius.d0_m2_s.value, arrhenius.d0_m2_s.value * ln_err))
    return fit, arrhenius


def _fit_with_radii(profiles: list[EtchProfile], s: dict, fit: DiffusionFit, diameters, independent_nm,
                    common_nm) -> tuple[DiffusionFit, tuple[float, ...]]:
    """Refit with the etch diameters as parameters constrained by their TEM errors.

    The fit takes the etch diameters as exact, but TEM means carry sampling and calibration errors, and D is
    set by where the penetration profile sits against the etched shells: with 3 etch cycles at 150/250 C (12
    sheets through the pipeline) the TEM means' errors of ~1-1.5 % moved log10 D by up to 0.4 decade (median
    0.09), many times the statistical error (pulls down to -13), and on the benchmark's lab series the
    misfit they leave failed the chi-square test of 39 % of the series (4 % with exact radii). Here each
    diameter is ``d_k + a_k z_k + c_k z_c`` with standard-normal ``z`` (``a``: independent, ``c``: common
    errors, :func:`etch_diameter_errors`), the ``z`` enter the residual as Gaussian priors, and D, the
    surfaces and the lattice scale are refitted from ``fit`` (unresolved temperatures held at no
    penetration, as their surface amounts were). The D values, their errors (now including the radii), the
    models and the chi-squares (data + prior; the dof are unchanged, each prior adds a residual and a
    parameter) replace those of ``fit``.

    Returns
    -------
    fit : DiffusionFit
        The refitted series (``log10_d_covariance`` from the refit: radii included).
    diameters : tuple of float
        The fitted etch diameters, nm.
    """
    base = np.asarray(diameters, dtype=float)
    moved = [k for k in range(base.size) if independent_nm[k] > 0]
    has_common = bool(np.any(np.asarray(common_nm) > 0))

    @functools.lru_cache(maxsize=1)  # the solver is rebuilt only when a radius parameter moves
    def model_for(diameters_nm: tuple[float, ...]) -> _SeriesModel:
        geometry = multishell_geometry(s["layer_outer_radius_nm"], s["se_fraction"], s["sulfide_partition"],
                                       list(np.minimum.accumulate(diameters_nm)))
        return _series_model(SphereDiffusion(geometry, s["n_cells"]), profiles)

    def series_model(values) -> _SeriesModel:
        d = base.copy()
        for k in moved:
            d[k] += independent_nm[k] * values[f"radius_{k}"]
        if has_common:
            d += np.asarray(common_nm) * values["radius_common"]
        return model_for(tuple(d))

    priors = [f"radius_{k}" for k in moved] + (["radius_common"] if has_common else [])

    def residual(par):
        values = par.valuesdict()
        model = series_model(values)
        return np.concatenate([model.residual(par), [values[name] for name in priors]])

    params = _parameters_from(fit, series_model(dict.fromkeys(priors, 0.0)).temperatures)
    for name in priors:
        params.add(name, value=0.0, min=-6.0, max=6.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = lmfit.minimize(residual, params, method="least_squares", scale_covar=False)
    model = series_model(result.params.valuesdict())
    prior_chi2 = float(sum(result.params[name].value ** 2 for name in priors))
    refit = _refit_results(profiles, fit, model, result, prior_chi2)
    return refit, tuple(float(2 * r) for r in model.solver.geometry.etch_radius_nm)


def _parameters_from(fit: DiffusionFit, temperatures: list[float]) -> lmfit.Parameters:
    """Parameters started at ``fit``'s values; unresolved temperatures held at no penetration."""
    params = lmfit.Parameters()
    for j, temp in enumerate(temperatures):
        t = fit.temperature(temp)
        if t.resolved:
            params.add(f"log10_d_{j}", value=t.log10_d.value, min=LOG10_D_BOUNDS_M2_S[0], max=LOG10_D_BOUNDS_M2_S[1])
        else:
            params.add(f"log10_d_{j}", value=LOG10_D_BOUNDS_M2_S[0], vary=False)
    for i, p in enumerate(fit.profiles):
        params.add(f"surface_{i}", value=max(p.surface_amount.value, 0.0), min=0.0)
    params.add("lattice_scale", value=fit.lattice_scale.value, min=0.0)
    return params


def _refit_results(profiles: list[EtchProfile], fit: DiffusionFit, model: _SeriesModel, result,
                   prior_chi2: float) -> DiffusionFit:
    """``fit`` with the refit's D, surfaces, models, chi-squares and ``log10 D`` covariance (unresolved
    temperatures keep their limits and surfaces)."""
    values = result.params.valuesdict()
    models, profile_chi2 = model.models(values), model.profile_chi2(values)
    temperatures, resolved_names = [], []
    for j, t in enumerate(fit.temperatures):
        members = [i for i, p in enumerate(profiles) if p.temperature_C == t.temperature_C]
        chi2_t = float(sum(profile_chi2[i] for i in members))
        if t.resolved:
            log10_d = float(values[f"log10_d_{j}"])
            log10_err = _stderr(result.params, f"log10_d_{j}")
            t = replace(t, d_m2_s=Estimate(10.0 ** log10_d, 10.0 ** log10_d * math.log(10) * log10_err),
                        log10_d=Estimate(log10_d, log10_err), chi_square=chi2_t)
            resolved_names.append(f"log10_d_{j}")
        else:
            t = replace(t, chi_square=chi2_t)
        temperatures.append(t)
    profile_results = []
    for i, (p, amounts) in enumerate(zip(fit.profiles, models, strict=True)):
        t = fit.temperature(p.temperature_C)
        surface = Estimate(float(values[f"surface_{i}"]), _stderr(result.params, f"surface_{i}")) if t.resolved \
            else p.surface_amount
        d_value = next(r for r in temperatures if r.temperature_C == p.temperature_C).d_m2_s.value
        profile_results.append(replace(p, surface_amount=surface, model=amounts, chi_square=profile_chi2[i],
                                       diffusion_length_nm=diffusion_length_nm(d_value, p.profile.time_s)))
    return DiffusionFit(tuple(temperatures), tuple(profile_results),
                        Estimate(float(values["lattice_scale"]), _stderr(result.params, "lattice_scale")),
                        float(sum(profile_chi2)) + prior_chi2, fit.dof, _covariance(result, resolved_names))


def profiles_from_rows(rows, amount: str = "br_mg_L", flag: str = "br_mg_L_flag") -> list[EtchProfile]:
    """Etch profiles from supernatant rows (dicts or a DataFrame's records) with ``temperature_C``,
    ``time_min``, ``etch_cycle``, ``sample``, ``<amount>``, ``<amount>_err`` and optionally a flag:
    one profile per (temperature, time).

    Parameters
    ----------
    rows : iterable of dict
        Supernatant rows.
    amount : str, optional
        Column of the Br amount (its 1-sigma in ``<amount>_err``). Default ``"br_mg_L"``.
    flag : str, optional
        Column of the amount's flag (missing or empty: ``"ok"``). Default ``"br_mg_L_flag"``.

    Returns
    -------
    list of EtchProfile
        One profile per (temperature, time), sorted, cycles ascending; time converted to s.

    Raises
    ------
    AnalysisError
        If a row lacks a finite ``temperature_C``, ``time_min`` or ``etch_cycle``, or a profile has a
        repeated etch cycle.
    """
    groups: dict[tuple[float, float], list[dict]] = {}
    for row in rows:
        if row.get("temperature_C") is None or not np.isfinite(float(row["temperature_C"])):
            raise AnalysisError(f"supernatant {row.get('sample')!r} has no treatment temperature_C in the sheet")
        if row.get("time_min") is None or not np.isfinite(float(row["time_min"])):
            raise AnalysisError(f"supernatant {row.get('sample')!r} has no treatment time_min in the sheet")
        if row.get("etch_cycle") is None or not np.isfinite(float(row["etch_cycle"])):
            raise AnalysisError(f"supernatant {row.get('sample')!r} has no etch_cycle in the sheet")
        groups.setdefault((float(row["temperature_C"]), float(row["time_min"])), []).append(row)
    profiles = []
    for (temperature, time_min), members in sorted(groups.items()):
        members = sorted(members, key=lambda r: int(r["etch_cycle"]))
        cycles = [int(r["etch_cycle"]) for r in members]
        if len(set(cycles)) != len(cycles):
            raise AnalysisError(f"{temperature:g} C, {time_min:g} min: etch cycles {cycles} repeat "
                                "(one supernatant per cycle)")
        profiles.append(EtchProfile(temperature, time_min * 60.0, tuple(cycles),
                                    np.array([float(r[amount]) for r in members]),
                                    np.array([float(r[amount + "_err"]) for r in members]),
                                    tuple(str(r["sample"]) for r in members),
                                    tuple(str(r.get(flag) or "ok") for r in members)))
    return profiles


def analyse_series(profiles: list[EtchProfile], settings: dict, tem_cycles=(), tem_diameters_nm=(),
                   tem_errors_nm=(), tem_sampling_errors_nm=(), *, grid_points: int = 61) -> SeriesAnalysis:
    """Geometry from the settings and the TEM etch diameters, joint fit, flags, Arrhenius line.

    ``settings``: the ``diffusion:`` config block (defaults in :data:`DEFAULTS`). Flags: a profile
    whose input values are flagged passes the flags on; a temperature whose profiles the model does
    not describe (chi^2 p-value < ``fit_p_min``), or a joint fit the profiles reject, flags its D and
    surface amounts (their sigma then also scaled by sqrt(reduced chi^2)); the Arrhenius quantities
    inherit the flags of the D values they use and are flagged when the line's chi^2 p < ``fit_p_min``.
    The 1-sigma of D and ln D0 include the model systematic ``log10_d_systematic`` (decades; see
    :func:`_with_model_systematic`); with TEM diameter errors given, those of D, dH and ln D0 also
    include the etch radii's uncertainty (:func:`etch_diameter_errors`, :func:`_fit_with_radii`), and so
    do the chi-square tests.

    Parameters
    ----------
    profiles : list of EtchProfile
        Br etch profiles (e.g. from :func:`profiles_from_rows`).
    settings : dict
        The ``diffusion:`` config block; missing keys take :data:`DEFAULTS`.
    tem_cycles : sequence of int or None, optional
        Etch cycle of each TEM sample of the etch series.
    tem_diameters_nm : sequence of float, optional
        Mean TEM diameter of each of those samples, nm.
    tem_errors_nm : sequence of float, optional
        1-sigma of each of those diameters, nm (empty: the diameters are taken as exact).
    tem_sampling_errors_nm : sequence of float, optional
        Sampling part of each (sd / sqrt(N)), nm; the rest is common to all cycles.
    grid_points : int, optional
        Points of the ``log10 D`` grid. Default 61.

    Returns
    -------
    SeriesAnalysis
        The joint fit, the Arrhenius fit (None with fewer than two resolved temperatures), the etch
        diameters (nm) and their source, the flags and the sample prefix.

    Raises
    ------
    AnalysisError
        If there are no profiles, or from :func:`etch_diameters`, :func:`multishell_geometry` and
        :func:`fit_etch_profiles`.
    """
    s = {**DEFAULTS, **settings}
    if not profiles:
        raise AnalysisError("no etch supernatants with Br- values to fit")
    diameters, source = etch_diameters([c for p in profiles for c in p.cycles], s["diameter_after_cycle_nm"],
                                       tem_cycles, tem_diameters_nm)
    geometry = multishell_geometry(s["layer_outer_radius_nm"], s["se_fraction"], s["sulfide_partition"], diameters)
    solver = SphereDiffusion(geometry, s["n_cells"])
    fit = fit_etch_profiles(solver, profiles, max_log10_d_err=s["max_log10_d_err"],
                            detection_delta_chi2=s["detection_delta_chi2"], grid_points=grid_points)
    independent, common = etch_diameter_errors(len(diameters), tem_cycles, tem_diameters_nm, tem_errors_nm,
                                               tem_sampling_errors_nm)
    fitted = tuple(diameters)
    if (np.any(independent > 0) or np.any(common > 0)) and any(t.resolved for t in fit.temperatures):
        fit, fitted = _fit_with_radii(profiles, s, fit, diameters, independent, common)
        source += ", refitted within their errors"
    p_min = s["fit_p_min"]
    joint_reason = ""
    if fit.dof > 0 and fit.p_value < p_min:
        joint_reason = (f"the joint diffusion fit rejects the model (chi2 {fit.chi_square:.1f} for {fit.dof} dof, "
                        f"p = {fit.p_value:.2g})")
    d_flags, temperatures, factors = {}, [], []
    for t in fit.temperatures:
        reasons = [joint_reason]
        if t.dof > 0 and t.p_value < p_min:
            reasons.append(f"Br- profile at {t.temperature_C:g} C not described by single-D diffusion "
                           f"(chi2 {t.chi_square:.1f} for {t.dof:.1f} dof, p = {t.p_value:.2g})")
        inputs = merge_flags(*(f for p in fit.profiles if p.temperature_C == t.temperature_C for f in p.profile.flags))
        d_flags[t.temperature_C] = merge_flags(flag_from(reasons), inputs)
        factor = 1.0
        if flag_reasons(flag_from(reasons)) and t.resolved and t.dof > 0:
            factor = math.sqrt(max(t.chi_square / t.dof, 1.0))
            t = TemperatureResult(t.temperature_C, Estimate(t.d_m2_s.value, t.d_m2_s.uncertainty * factor),
                                  Estimate(t.log10_d.value, t.log10_d.uncertainty * factor), t.resolved,
                                  t.chi_square, t.dof, t.profile_log10_d, t.profile_chi2)
        if t.resolved:
            factors.append(factor)
        temperatures.append(t)
    fit = replace(fit, temperatures=tuple(temperatures))
    resolved = [t for t in fit.temperatures if t.resolved]
    arrhenius, arrhenius_flag = None, "ok"
    if len(resolved) >= 2:
        covariance_ln_d = None if fit.log10_d_covariance is None else (
            math.log(10) ** 2 * fit.log10_d_covariance * np.outer(factors, factors))
        arrhenius = fit_arrhenius([t.temperature_C + 273.15 for t in resolved], [t.d_m2_s.value for t in resolved],
                                  [t.d_m2_s.uncertainty for t in resolved], covariance_ln_d)
        reasons = []
        if arrhenius.dof > 0:
            p_value = float(stats.chi2.sf(arrhenius.chi_square, arrhenius.dof))
            if p_value < p_min:
                reasons.append(f"the D values do not follow one Arrhenius line (chi2 {arrhenius.chi_square:.1f} "
                               f"for {arrhenius.dof} dof, p = {p_value:.2g})")
        arrhenius_flag = merge_flags(flag_from(reasons), *(d_flags[t.temperature_C] for t in resolved))
    fit, arrhenius = _with_model_systematic(fit, arrhenius, float(s["log10_d_systematic"]))
    return SeriesAnalysis(fit=fit, arrhenius=arrhenius, etch_diameters_nm=tuple(diameters), radius_source=source,
                          fitted_diameters_nm=fitted,
                          d_flags=d_flags, arrhenius_flag=arrhenius_flag, sample_prefix=s["sample_prefix"])
