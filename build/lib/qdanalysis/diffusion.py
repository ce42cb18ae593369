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

Fit: the amount of Br in etch ``k`` is ``S_T [k = 1] + A * content_k(D_T t)``, with ``content_k`` the
K-weighted uptake (nm^3) of the material removed by etch ``k``, ``A`` (amount per nm^3 of unit-K
lattice at unit activity) shared by all temperatures (same ZnBr2 bath, assumed temperature-
independent solubility), and ``S_T``, ``D_T`` per temperature. The model is linear in ``A`` and
``S_T``, which gives data-driven start values (a grid in ``log10 D`` with linear least squares).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import lmfit
import numpy as np
from scipy.linalg import eigh

from qdanalysis.results import Estimate

BOLTZMANN_EV_K = 8.617333262e-5
NM2_PER_M2 = 1e18
LOG10_D_BOUNDS_M2_S = (-26.0, -16.0)
# Delta chi^2 for a one-sided 95 % upper limit from a profile likelihood (one parameter)
UPPER_LIMIT_DELTA_CHI2 = 2.706


def partition_coefficient(se_fraction: float, sulfide_partition: float) -> float:
    """Relative Br- solubility of a zinc blende layer: ``K = x_Se + K_S (1 - x_Se)`` (ZnSe = 1)."""
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
    impermeable (the InP core)."""
    names = list(layer_outer_radius_nm)
    radii = [float(layer_outer_radius_nm[n]) for n in names]
    etch_radius = [max(float(d), 0.0) / 2 for d in etch_diameter_nm]
    if etch_radius[0] <= radii[-2]:
        raise ValueError(f"initial radius {etch_radius[0]} nm is inside the {names[-2]} layer")
    radii[-1] = etch_radius[0]
    partition = [partition_coefficient(se_fraction[n], sulfide_partition) if n in se_fraction else 0.0
                 for n in names]
    return ShellGeometry(tuple(names), tuple(radii), tuple(partition), tuple(etch_radius))


class SphereDiffusion:
    """Finite-volume radial diffusion with layer partition coefficients, exact in time.

    ``SphereDiffusion(geometry, n_cells)`` builds the grid between the zero-flux wall and the
    surface; :meth:`activity` gives ``u(r)`` and :meth:`etch_content` the K-weighted uptake (nm^3 of
    unit-K lattice) in each etch shell, both as functions of ``D t`` (nm^2).
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
        """Activity ``u = c/K`` in every cell after diffusion length^2 ``D t`` (nm^2); 2-D for arrays."""
        dt = np.atleast_1d(np.asarray(dt_nm2, dtype=float))
        decay = np.exp(-np.outer(dt, self.rates))  # (n_t, n_modes)
        u = 1.0 + (decay * self._amplitudes) @ self._modes.T
        return u[0] if np.ndim(dt_nm2) == 0 else u

    def concentration(self, dt_nm2: float) -> np.ndarray:
        """Br concentration relative to unit-K lattice at the bath activity: ``c = K u``."""
        return self.partition * self.activity(dt_nm2)

    def uptake(self, dt_nm2: float) -> float:
        """Total K-weighted uptake (nm^3)."""
        return float(np.sum(self.cell_volume_nm3 * self.concentration(dt_nm2)))

    def etch_content(self, dt_nm2: float | np.ndarray) -> np.ndarray:
        """K-weighted uptake (nm^3) in the material removed by each etch; rows per ``D t`` for arrays."""
        content = self.partition * self.cell_volume_nm3 * self.activity(dt_nm2)
        return content @ self._etch_weights.T


def _layer_faces(geometry: ShellGeometry, n_cells: int) -> np.ndarray:
    """Cell faces on every layer boundary (so each cell has one K), ~uniform spacing."""
    r_in = geometry.inner_radius_nm
    bounds = [r_in] + [r for r in geometry.layer_outer_radius_nm if r > r_in + 1e-12]
    spacing = (bounds[-1] - bounds[0]) / n_cells
    faces = [np.array([bounds[0]])]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        faces.append(np.linspace(lo, hi, max(2, round((hi - lo) / spacing)) + 1)[1:])
    return np.concatenate(faces)


def crank_uptake_fraction(dt_nm2: float, radius_nm: float, n_terms: int = 400) -> float:
    """``M_t / M_inf`` of a uniform sphere with constant surface concentration (Crank eq 6.20)."""
    n = np.arange(1, n_terms + 1)
    return float(1 - 6 / np.pi ** 2 * np.sum(np.exp(-dt_nm2 * n ** 2 * np.pi ** 2 / radius_nm ** 2) / n ** 2))


def crank_profile(r_nm: np.ndarray, dt_nm2: float, radius_nm: float, n_terms: int = 400) -> np.ndarray:
    """``c / c_surface`` inside a uniform sphere with constant surface concentration (Crank eq 6.18)."""
    r = np.asarray(r_nm, dtype=float)[:, None]
    n = np.arange(1, n_terms + 1)[None, :]
    series = ((-1.0) ** n / n * np.sin(n * np.pi * r / radius_nm)
              * np.exp(-dt_nm2 * n ** 2 * np.pi ** 2 / radius_nm ** 2))
    return 1 + 2 * radius_nm / (np.pi * r[:, 0]) * series.sum(axis=1)


def etch_profile(solver: SphereDiffusion, d_m2_s: float, time_s: float, surface_amount: float,
                 lattice_scale: float) -> np.ndarray:
    """Br per etch (any amount unit): surface-bound ``surface_amount`` in etch 1 plus
    ``lattice_scale`` x K-weighted uptake after ``D t``."""
    amounts = lattice_scale * solver.etch_content(d_m2_s * NM2_PER_M2 * time_s)
    amounts[0] += surface_amount
    return amounts


def diffusion_length_nm(d_m2_s: float, time_s: float) -> float:
    return math.sqrt(d_m2_s * NM2_PER_M2 * time_s)


def arrhenius_d(temperature_K, d0_m2_s: float, dh_ev: float):
    """Eq 1 of the paper: ``D = D0 exp(-dH / kB T)``."""
    return d0_m2_s * np.exp(-dh_ev / (BOLTZMANN_EV_K * np.asarray(temperature_K, dtype=float)))


# ------------------------------------------------------------------------------------ fitting
@dataclass(frozen=True)
class TemperatureResult:
    """Fitted diffusion at one treatment temperature.

    ``resolved`` is False when the penetration is below the etch resolution: then ``d_m2_s`` holds
    the one-sided 95 % upper limit from the profile likelihood and its uncertainty is NaN.
    """

    temperature_C: float
    time_s: float
    d_m2_s: Estimate
    log10_d: Estimate
    resolved: bool
    surface_amount: Estimate
    diffusion_length_nm: float
    model: np.ndarray  # Br per etch (data units)
    data: np.ndarray
    sigma: np.ndarray
    profile_log10_d: np.ndarray = field(default_factory=lambda: np.zeros(0))
    profile_chi2: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass(frozen=True)
class DiffusionFit:
    temperatures: tuple[TemperatureResult, ...]
    lattice_scale: Estimate  # data amount per nm^3 of unit-K lattice at bath activity
    chi_square: float
    dof: int

    @property
    def reduced_chi_square(self) -> float:
        return self.chi_square / self.dof if self.dof > 0 else float("nan")


def _grid_start(solver, data, sigma, time_s, grid):
    """Best (log10 D, surface, scale) on a grid of log10 D with linear least squares for the rest."""
    best = None
    contents = solver.etch_content(10.0 ** grid * NM2_PER_M2 * time_s)
    for log10_d, content in zip(grid, contents):
        design = np.column_stack([np.eye(len(data))[0], content]) / sigma[:, None]
        coef, *_ = np.linalg.lstsq(design, data / sigma, rcond=None)
        coef = np.maximum(coef, 0.0)
        chi2 = float(np.sum((design @ coef - data / sigma) ** 2))
        if best is None or chi2 < best[0]:
            best = (chi2, log10_d, coef[0], coef[1])
    return best[1:]


def fit_etch_profiles(solver: SphereDiffusion, profiles: dict[float, tuple[np.ndarray, np.ndarray]],
                      time_s: dict[float, float], *, max_log10_d_err: float = 0.5,
                      detection_delta_chi2: float = 9.0, grid_points: int = 61) -> DiffusionFit:
    """Fit ``D_T`` (per temperature), ``S_T`` and a shared lattice scale to Br-per-etch profiles.

    ``profiles[T] = (amount_per_etch, sigma_per_etch)`` with one entry per etch of ``solver``'s
    geometry; ``time_s[T]`` the treatment time. Uncertainties from the covariance (scaled by the
    reduced chi-square when it exceeds 1); temperatures whose ``log10 D`` is not determined to
    ``max_log10_d_err`` decades, or whose penetration is not detected (chi^2 of the profile at the
    lowest D, i.e. no penetration, less than ``detection_delta_chi2`` above the minimum; 9 = 3 sigma),
    get a profile-likelihood 95 % upper limit instead.
    """
    temperatures = sorted(profiles)
    grid = np.linspace(*LOG10_D_BOUNDS_M2_S, grid_points)
    params = lmfit.Parameters()
    starts = {}
    for temp in temperatures:
        data, sigma = (np.asarray(a, dtype=float) for a in profiles[temp])
        starts[temp] = _grid_start(solver, data, sigma, time_s[temp], grid)
    # the shared lattice scale starts from the temperature with the most Br inside the lattice
    # (beyond the first etch): the others barely constrain it
    informative = max(temperatures, key=lambda t: float(np.sum(np.asarray(profiles[t][0])[1:])))
    scale = starts[informative][2] if starts[informative][2] > 0 else 1.0
    for i, temp in enumerate(temperatures):
        data, sigma = (np.asarray(a, dtype=float) for a in profiles[temp])
        # restart D at the shared scale: grid of log10 D with only the surface amount linear
        contents = solver.etch_content(10.0 ** grid * NM2_PER_M2 * time_s[temp]) * scale
        surface = np.maximum(data[0] - contents[:, 0], 0.0)
        model = contents.copy()
        model[:, 0] += surface
        chi2 = np.sum(((model - data) / sigma) ** 2, axis=1)
        best = int(np.argmin(chi2))
        params.add(f"log10_d_{i}", value=float(grid[best]), min=LOG10_D_BOUNDS_M2_S[0], max=LOG10_D_BOUNDS_M2_S[1])
        params.add(f"surface_{i}", value=max(float(surface[best]), 1e-6 * max(data.max(), 1e-12)), min=0.0)
    params.add("lattice_scale", value=float(scale), min=0.0)

    def residual(p, only=None):
        out = []
        for i, temp in enumerate(temperatures):
            data, sigma = (np.asarray(a, dtype=float) for a in profiles[temp])
            model = etch_profile(solver, 10.0 ** p[f"log10_d_{i}"].value, time_s[temp],
                                 p[f"surface_{i}"].value, p["lattice_scale"].value)
            out.append((model - data) / sigma)
        return np.concatenate(out)

    result = lmfit.minimize(residual, params, method="least_squares")
    chi2 = float(np.sum(result.residual ** 2))
    n_data = sum(len(profiles[t][0]) for t in temperatures)
    dof = n_data - len(params)
    inflate = math.sqrt(max(chi2 / dof, 1.0)) if dof > 0 else 1.0

    def err(name):
        stderr = result.params[name].stderr
        return float(stderr) * inflate if stderr is not None and np.isfinite(stderr) else float("nan")

    profiles_chi2, resolved_flags, log10_errs = [], [], []
    for i, _ in enumerate(temperatures):
        log10_err = err(f"log10_d_{i}")
        profile_grid, profile_chi2 = _profile(residual, result.params, f"log10_d_{i}", grid)
        profiles_chi2.append(profile_chi2)
        log10_errs.append(log10_err)
        resolved_flags.append(bool(np.isfinite(log10_err) and log10_err < max_log10_d_err
                                   and _two_sided(profile_grid, profile_chi2, chi2, detection_delta_chi2)))
    # surface amounts of unresolved temperatures: refit with their penetration switched off (D at
    # the lower bound), since a free but undetermined D makes the surface degenerate with it
    unresolved_params = result.params.copy()
    for i, resolved in enumerate(resolved_flags):
        if not resolved:
            unresolved_params[f"log10_d_{i}"].set(value=LOG10_D_BOUNDS_M2_S[0], vary=False)
    surface_fit = lmfit.minimize(residual, unresolved_params, method="least_squares")

    results = []
    for i, temp in enumerate(temperatures):
        data, sigma = (np.asarray(a, dtype=float) for a in profiles[temp])
        log10_d = float(result.params[f"log10_d_{i}"].value)
        log10_err, resolved, profile_chi2 = log10_errs[i], resolved_flags[i], profiles_chi2[i]
        if resolved:
            d_value = 10.0 ** log10_d
            d = Estimate(d_value, d_value * math.log(10) * log10_err)
        else:
            limit = _upper_limit(profile_grid, profile_chi2, chi2)
            d, log10_err, log10_d = Estimate(10.0 ** limit, float("nan")), float("nan"), limit
        model = etch_profile(solver, 10.0 ** result.params[f"log10_d_{i}"].value, time_s[temp],
                             result.params[f"surface_{i}"].value, result.params["lattice_scale"].value)
        surface = Estimate(float(result.params[f"surface_{i}"].value), err(f"surface_{i}"))
        if not resolved:
            stderr = surface_fit.params[f"surface_{i}"].stderr
            surface = Estimate(float(surface_fit.params[f"surface_{i}"].value),
                               float(stderr) * inflate if stderr is not None else float("nan"))
        results.append(TemperatureResult(
            temperature_C=float(temp), time_s=float(time_s[temp]), d_m2_s=d,
            log10_d=Estimate(log10_d, log10_err), resolved=bool(resolved),
            surface_amount=surface,
            diffusion_length_nm=diffusion_length_nm(d.value, time_s[temp]), model=model, data=data,
            sigma=sigma, profile_log10_d=profile_grid, profile_chi2=profile_chi2))
    scale = Estimate(float(result.params["lattice_scale"].value), err("lattice_scale"))
    return DiffusionFit(tuple(results), scale, chi2, dof)


def _profile(residual, best_params, name, grid):
    """chi^2 minimised over the other parameters with ``name`` fixed on ``grid``."""
    chi2 = []
    params = best_params.copy()
    for value in grid:
        params[name].set(value=float(value), vary=False)
        fit = lmfit.minimize(residual, params, method="least_squares")
        chi2.append(float(np.sum(fit.residual ** 2)))
    return np.asarray(grid, dtype=float), np.asarray(chi2)


def _two_sided(grid, chi2, chi2_min, detection_delta_chi2):
    """True if no penetration (lowest D) is excluded by ``detection_delta_chi2`` and the profile
    rises by 1 above its minimum on the high-D side inside the bounds."""
    best = min(chi2_min, chi2.min())
    i = int(np.argmin(chi2))
    return bool(chi2[0] > best + detection_delta_chi2 and np.any(chi2[i + 1:] > best + 1.0))


def _upper_limit(grid, chi2, chi2_min):
    """Largest log10 D with chi^2 below min + 2.71 (one-sided 95 %), interpolated on the grid."""
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


def fit_arrhenius(temperature_K, d_m2_s, d_err_m2_s) -> ArrheniusFit:
    """Weighted least squares of ln D against 1/(kB T); weights 1/sigma(ln D)^2 = (D/sigma_D)^2.

    Covariance from the weights (absolute sigma), scaled by the reduced chi-square when > 1.
    """
    t = np.asarray(temperature_K, dtype=float)
    d = np.asarray(d_m2_s, dtype=float)
    sigma_ln = np.asarray(d_err_m2_s, dtype=float) / d
    if t.size < 2:
        raise ValueError(f"an Arrhenius fit needs at least two resolved temperatures, got {t.size}")
    x = -1.0 / (BOLTZMANN_EV_K * t)
    design = np.column_stack([np.ones_like(x), x])
    weights = 1.0 / sigma_ln ** 2
    normal = design.T @ (weights[:, None] * design)
    covariance = np.linalg.inv(normal)
    coef = covariance @ design.T @ (weights * np.log(d))
    chi2 = float(np.sum(weights * (np.log(d) - design @ coef) ** 2))
    dof = t.size - 2
    if dof > 0 and chi2 / dof > 1:
        covariance = covariance * chi2 / dof
    ln_d0, dh = float(coef[0]), float(coef[1])
    ln_d0_err, dh_err = (float(math.sqrt(covariance[i, i])) for i in range(2))
    return ArrheniusFit(dh_ev=Estimate(dh, dh_err), d0_m2_s=Estimate(math.exp(ln_d0), math.exp(ln_d0) * ln_d0_err),
                        ln_d0=Estimate(ln_d0, ln_d0_err), temperatures_K=tuple(float(v) for v in t),
                        chi_square=chi2, dof=dof,
                        covariance=((float(covariance[0, 0]), float(covariance[0, 1])),
                                    (float(covariance[1, 0]), float(covariance[1, 1]))))


def etch_diameters(fallback_nm: list[float], tem_cycles=(), tem_diameters_nm=()) -> tuple[list[float], str]:
    """Diameter after each etch cycle (k = 0..N; the last, the core etch, is 0): TEM means where
    measured (several samples of one cycle are averaged), the configured fallback elsewhere."""
    diameters = [float(d) for d in fallback_nm]
    measured: dict[int, list[float]] = {}
    for cycle, diameter in zip(tem_cycles, tem_diameters_nm):
        if cycle is not None and np.isfinite(diameter) and 0 <= int(cycle) < len(diameters) - 1:
            measured.setdefault(int(cycle), []).append(float(diameter))
    for cycle, values in measured.items():
        diameters[cycle] = float(np.mean(values))
    diameters[-1] = 0.0
    for k in range(1, len(diameters)):  # an etch cannot grow the particle (TEM noise at equal sizes)
        diameters[k] = min(diameters[k], diameters[k - 1])
    source = f"TEM (cycles {sorted(measured)})" if measured else "config fallback"
    return diameters, source


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
}
