"""Forward model of Br uptake by core-multishell QDs: interstitial diffusion with interstitial-substitutional
exchange (the paper's Fig 3f mechanism), in a size-dispersed ensemble, then layer-by-layer etching.

Written independently of :mod:`qdanalysis.diffusion` (which fits one Fickian diffusion coefficient with
layer partition coefficients, solved by eigenmodes on a coarse grid): this model has two Br species,
its own fine finite-volume grid and implicit time stepping, and an ensemble of particle sizes, so the
fitted model is only its fast-exchange, monodisperse limit and the fit can fail on its data.

Physics (Yuan et al. 2023, p. 13122 and Fig 3f: "Cl- and Br- diffuse within the zinc blende lattice
mainly through interstitial diffusion and interstitial-substitutional exchange", dissociative
mechanism; H. Mehrer, *Diffusion in Solids*, Springer 2007, ch. 25 "Interstitial-substitutional
diffusion"):

* Interstitial Br (concentration ``c_i``, in units of its value in equilibrium with the ZnBr2 bath) is
  mobile with diffusivity ``D_i`` (per layer); it is held at ``c_i = 1`` at the particle surface
  during the treatment and cannot enter the InP core (zero flux at the core/shell interface).
* Substitutional Br on anion sites (``c_s``, same unit) is immobile and exchanges with the interstitial
  pool, ``dc_s/dt = k (K c_i - c_s)`` (first-order dissociative reaction, rate ``k``): at local
  equilibrium ``c_s = K c_i``, with ``K`` the substitutional solubility of the layer - large on Se sites
  (Br- 196 pm vs Se2- 198 pm), small on S sites (S2- 184 pm): ``K = K_Se x_Se + K_S (1 - x_Se)``.
* So ``dc_i/dt = div(D_i grad c_i) - k (K c_i - c_s)``. For fast exchange (``k t >> 1``) the total
  ``c = (1 + K) c_i`` obeys Fick's law with the effective diffusivity ``D_eff = D_i / (1 + K)`` (Mehrer
  eq 25.10); the layer's relative capacity is ``(1 + K) / (1 + K_Se)``. The interstitial mobility is
  parametrised as ``D_i = D_eff (1 + K_Se) [(1 + K)/(1 + K_Se)]^alpha``: ``alpha = 1`` makes ``D_eff``
  the same in every layer (the fitted model's assumption), ``alpha = 0`` gives every layer the same
  interstitial mobility (then ``D_eff`` is ~20x larger in ZnS than in ZnSe).
* Temperature: ``D_eff = D0 exp(-dH/kT)`` and ``k = k0 exp(-E_k/kT)`` (Arrhenius).
* Surface-bound Br (ZnBr2 ligands) is a separate amount per temperature, released by the first etch.
* Ensemble: every radius of a particle is scaled by ``s ~ N(1, relative_sd)`` (Gauss-Hermite
  quadrature); each etch cycle removes ``s^depth_scaling`` times the nominal thickness (the TEM
  diameters after each cycle give the nominal thickness; 1: the same fraction of every particle,
  0: the same thickness, when the small particles of the last shell etches already lose core and
  the large ones still release Br-bearing shell in the core etch).
* Numerics: finite volumes on ``n_cells`` uniform radial cells from the core to the surface (0.01 nm
  scale, several times finer than the analysis grid), harmonic-mean conductances, implicit Euler in
  time on ``n_steps`` geometrically growing steps (the exchange term eliminated per step, so each step
  is one tridiagonal solve for all particle sizes at once). Tested against Crank's uniform-sphere series.

Amounts: ``br_per_etch`` returns, per etch, the Br released per particle in nm^3 of "ZnSe-equivalent
saturated lattice" (total Br / (1 + K_Se)), so ``lattice_scale x amount`` is a concentration in the
supernatant; the surface Br is added to etch 1 in the same unit as the caller's scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.constants import Boltzmann, electron_volt
from scipy.linalg import solve_banded

BOLTZMANN_EV_PER_K = Boltzmann / electron_volt
NM2_PER_M2 = 1e18


@dataclass(frozen=True)
class ShellStack:
    """Concentric layers, core first: names, nominal outer radii (nm) and Se site fractions.

    A layer without a Se fraction (``None``) is impermeable to Br (the InP core); only the innermost
    layer may be.
    """

    names: tuple[str, ...]
    outer_radius_nm: tuple[float, ...]
    se_fraction: tuple[float | None, ...]

    def __post_init__(self):
        if not len(self.names) == len(self.outer_radius_nm) == len(self.se_fraction):
            raise ValueError("layer names, radii and Se fractions differ in length")
        if np.any(np.diff(self.outer_radius_nm) <= 0):
            raise ValueError("layer radii must grow outwards")
        if any(x is None for x in self.se_fraction[1:]):
            raise ValueError("only the innermost layer may be impermeable")

    @property
    def core_radius_nm(self) -> float:
        return float(self.outer_radius_nm[0]) if self.se_fraction[0] is None else 0.0


@dataclass(frozen=True)
class ExchangeKinetics:
    """Material constants of the interstitial-substitutional model (see the module docstring).

    ``k_se``/``k_s``: substitutional solubility on Se / S sites relative to the interstitial pool;
    ``alpha``: how the interstitial mobility follows the layer's solubility (1: uniform ``D_eff``);
    ``exchange_rate0_per_s``/``exchange_ev``: Arrhenius exchange rate (``inf``: local equilibrium).
    """

    d0_m2_s: float
    dh_ev: float
    k_se: float = 40.0
    k_s: float = 1.05
    alpha: float = 1.0
    exchange_rate0_per_s: float = math.inf
    exchange_ev: float = 0.0

    def d_eff_m2_s(self, temperature_C: float) -> float:
        """Effective (fast-exchange) diffusivity ``D_eff = D0 exp(-dH/kT)``.

        Parameters
        ----------
        temperature_C : float
            Treatment temperature, degrees Celsius.

        Returns
        -------
        float
            ``D_eff`` in m^2/s.
        """
        return self.d0_m2_s * math.exp(-self.dh_ev / (BOLTZMANN_EV_PER_K * (temperature_C + 273.15)))

    def exchange_rate_per_s(self, temperature_C: float) -> float:
        """Interstitial-substitutional exchange rate ``k = k0 exp(-E_k/kT)``.

        Parameters
        ----------
        temperature_C : float
            Treatment temperature, degrees Celsius.

        Returns
        -------
        float
            ``k`` in 1/s (``inf`` for local equilibrium).
        """
        if math.isinf(self.exchange_rate0_per_s):
            return math.inf
        return self.exchange_rate0_per_s * math.exp(-self.exchange_ev / (BOLTZMANN_EV_PER_K * (temperature_C + 273.15)))

    def solubility(self, se_fraction: np.ndarray) -> np.ndarray:
        """Substitutional solubility ``K = K_Se x_Se + K_S (1 - x_Se)`` of a layer.

        Parameters
        ----------
        se_fraction : numpy.ndarray
            Se site fraction ``x_Se`` (0..1), any shape.

        Returns
        -------
        numpy.ndarray
            ``K`` (dimensionless), same shape as `se_fraction`.
        """
        return self.k_se * se_fraction + self.k_s * (1.0 - se_fraction)

    def relative_capacity(self, se_fraction: float) -> float:
        """``(1 + K)/(1 + K_Se)``: the layer's Br capacity relative to ZnSe (the fit's partition).

        Parameters
        ----------
        se_fraction : float
            Se site fraction of the layer (0..1).

        Returns
        -------
        float
            Relative capacity (1 for ZnSe).
        """
        return float((1.0 + self.solubility(np.asarray(se_fraction))) / (1.0 + self.k_se))


@dataclass(frozen=True)
class UptakeProfiles:
    """Interstitial and substitutional Br per cell (rows: particle sizes) after the treatment."""

    faces_nm: np.ndarray  # (n_sizes, n_cells + 1)
    interstitial: np.ndarray  # (n_sizes, n_cells)
    substitutional: np.ndarray
    scale: np.ndarray = field(repr=False)  # size factors s
    weight: np.ndarray = field(repr=False)  # quadrature weights (sum 1)

    def total_per_cell_nm3(self, k_se: float) -> np.ndarray:
        """Br in each cell in nm^3 of ZnSe-equivalent saturated lattice.

        Parameters
        ----------
        k_se : float
            Substitutional solubility on Se sites, ``K_Se``.

        Returns
        -------
        numpy.ndarray, shape (n_sizes, n_cells)
            ``(c_i + c_s) x cell volume / (1 + K_Se)``, nm^3.
        """
        volume = 4 * np.pi / 3 * np.diff(self.faces_nm ** 3, axis=1)
        return (self.interstitial + self.substitutional) * volume / (1.0 + k_se)


def _size_nodes(relative_sd: float, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    if relative_sd <= 0 or nodes <= 1:
        return np.ones(1), np.ones(1)
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    return 1.0 + relative_sd * x, w / w.sum()


def _time_steps(total_s: float, n_steps: int, first_fraction: float = 1e-7) -> np.ndarray:
    """``n_steps`` steps growing geometrically from ``first_fraction x total`` and summing to ``total``."""
    if n_steps == 1:
        return np.array([total_s])
    lo, hi = 1.0 + 1e-9, 2.0
    for _ in range(200):  # bisection for the growth ratio q: first (q^n - 1)/(q - 1) = 1
        q = 0.5 * (lo + hi)
        if first_fraction * (q ** n_steps - 1) / (q - 1) > 1.0:
            hi = q
        else:
            lo = q
    steps = first_fraction * q ** np.arange(n_steps)
    return total_s * steps / steps.sum()


def simulate_uptake(stack: ShellStack, kinetics: ExchangeKinetics, temperature_C: float, time_s: float, *,
                    relative_sd: float = 0.0, size_nodes: int = 15, n_cells: int = 400,
                    n_steps: int = 500) -> UptakeProfiles:
    """Interstitial and substitutional Br after ``time_s`` at ``temperature_C`` for an ensemble of sizes.

    Parameters
    ----------
    stack : ShellStack
        The layers (outer radii in nm, Se fractions).
    kinetics : ExchangeKinetics
        Diffusion and exchange constants.
    temperature_C : float
        Treatment temperature, degrees Celsius.
    time_s : float
        Treatment time, s.
    relative_sd : float, optional
        Relative standard deviation of the particle size factor ``s``; 0 for one size. Default is 0.0.
    size_nodes : int, optional
        Gauss-Hermite nodes over the sizes. Default is 15.
    n_cells : int, optional
        Radial finite-volume cells from the core to the surface. Default is 400.
    n_steps : int, optional
        Implicit time steps (geometrically growing). Default is 500.

    Returns
    -------
    UptakeProfiles
        Cell faces (nm) and interstitial and substitutional Br per cell (in units of the interstitial
        concentration in equilibrium with the bath), shape (n_sizes, n_cells), with the size factors and
        their weights.
    """
    scale, weight = _size_nodes(relative_sd, size_nodes)
    radii = np.asarray(stack.outer_radius_nm, dtype=float)
    se = np.array([np.nan if x is None else float(x) for x in stack.se_fraction])
    d_eff = kinetics.d_eff_m2_s(temperature_C) * NM2_PER_M2  # nm^2/s
    rate = kinetics.exchange_rate_per_s(temperature_C)
    n_sizes = scale.size
    faces = np.empty((n_sizes, n_cells + 1))
    for i, s in enumerate(scale):
        faces[i] = np.linspace(stack.core_radius_nm * s, radii[-1] * s, n_cells + 1)
    centres = 0.5 * (faces[:, 1:] + faces[:, :-1])
    layer = np.minimum(np.searchsorted(radii * 1.0, centres / scale[:, None]), radii.size - 1)
    x_se = np.nan_to_num(se[layer], nan=0.0)
    solubility = kinetics.solubility(x_se)
    capacity_ratio = (1.0 + solubility) / (1.0 + kinetics.k_se)
    d_i = d_eff * (1.0 + kinetics.k_se) * capacity_ratio ** kinetics.alpha  # interstitial diffusivity
    volume = 4 * np.pi / 3 * np.diff(faces ** 3, axis=1)
    h = np.diff(faces, axis=1)
    # conductances 4 pi r^2 / (h_j / 2 D_j + h_j+1 / 2 D_j+1) between cells, and to the bath
    inner = 4 * np.pi * faces[:, 1:-1] ** 2 / (h[:, :-1] / (2 * d_i[:, :-1]) + h[:, 1:] / (2 * d_i[:, 1:]))
    surface = 4 * np.pi * faces[:, -1] ** 2 * d_i[:, -1] / (h[:, -1] / 2)

    c_i = np.zeros((n_sizes, n_cells))
    c_s = np.zeros((n_sizes, n_cells))
    equilibrium = math.isinf(rate)
    for dt in _time_steps(time_s, n_steps):
        if equilibrium:  # (1 + K) dc_i/dt = L c_i, c_s = K c_i
            storage = (1.0 + solubility) * volume / dt
            rhs = storage * c_i
        else:  # c_s eliminated: c_s' = (c_s + dt k K c_i') / (1 + k dt)
            storage = volume / dt + volume * rate * solubility / (1.0 + rate * dt)
            rhs = volume / dt * c_i + volume * rate * c_s / (1.0 + rate * dt)
        diagonal = storage.copy()
        diagonal[:, :-1] += inner
        diagonal[:, 1:] += inner
        diagonal[:, -1] += surface
        rhs = rhs.copy()
        rhs[:, -1] += surface * 1.0  # bath: c_i = 1 outside the surface
        # one banded system for all sizes: blocks decoupled by zero off-diagonals at their joints
        upper = np.zeros((n_sizes, n_cells))
        lower = np.zeros((n_sizes, n_cells))
        upper[:, 1:] = -inner
        lower[:, :-1] = -inner
        bands = np.vstack([upper.ravel(), diagonal.ravel(), lower.ravel()])
        c_new = solve_banded((1, 1), bands, rhs.ravel()).reshape(n_sizes, n_cells)
        if equilibrium:
            c_i, c_s = c_new, solubility * c_new
        else:
            c_s = (c_s + dt * rate * solubility * c_new) / (1.0 + rate * dt)
            c_i = c_new
    return UptakeProfiles(faces, c_i, c_s, scale, weight)


def _removed_between(faces: np.ndarray, per_cell: np.ndarray, outer_nm: float, inner_nm: float) -> float:
    """Amount in the spherical shell ``inner < r < outer`` (cells cut by volume fraction)."""
    lo, hi = faces[:-1], faces[1:]
    top, bottom = np.minimum(hi, outer_nm), np.maximum(lo, inner_nm)
    fraction = np.where(top > bottom, (top ** 3 - bottom ** 3) / (hi ** 3 - lo ** 3), 0.0)
    return float(np.sum(per_cell * fraction))


def br_per_etch(profiles: UptakeProfiles, k_se: float, etch_diameter_nm, depth_scaling: float = 1.0) -> np.ndarray:
    """Mean Br released per particle by each etch (nm^3 ZnSe-equivalent), size-ensemble averaged.

    ``etch_diameter_nm[k]`` is the nominal diameter after cycle ``k`` (k = 0: before etching). A
    particle of size factor ``s`` loses ``s^depth_scaling`` times the nominal thickness per cycle
    (1: the same fraction of every particle, 0: the same thickness); a nominal diameter 0 dissolves
    every particle.

    Parameters
    ----------
    profiles : UptakeProfiles
        Br profiles after the treatment (:func:`simulate_uptake`).
    k_se : float
        Substitutional solubility on Se sites, ``K_Se``.
    etch_diameter_nm : array-like, shape (n_cycles + 1,)
        Nominal particle diameter before etching and after each cycle, nm.
    depth_scaling : float, optional
        Exponent of the size factor in the removed thickness. Default is 1.0.

    Returns
    -------
    numpy.ndarray, shape (n_cycles,)
        Br released by each etch, nm^3 of ZnSe-equivalent saturated lattice per particle.
    """
    nominal = np.asarray(etch_diameter_nm, dtype=float) / 2
    depth = nominal[0] - nominal
    per_cell = profiles.total_per_cell_nm3(k_se)
    out = np.zeros(nominal.size - 1)
    for faces, amounts, s, w in zip(profiles.faces_nm, per_cell, profiles.scale, profiles.weight, strict=False):
        outer = np.where(nominal > 0, np.maximum(nominal[0] * s - depth * s ** depth_scaling, 0.0), 0.0)
        for k in range(out.size):
            out[k] += w * _removed_between(faces, amounts, outer[k], outer[k + 1])
    return out


def etch_profile(stack: ShellStack, kinetics: ExchangeKinetics, temperature_C: float, time_s: float,
                 etch_diameter_nm, *, lattice_scale: float, surface_amount: float, relative_sd: float = 0.0,
                 **numerics) -> np.ndarray:
    """Br per etch in the caller's unit: ``lattice_scale x`` lattice Br + ``surface_amount`` in etch 1.

    Parameters
    ----------
    stack : ShellStack
        The layers.
    kinetics : ExchangeKinetics
        Diffusion and exchange constants.
    temperature_C : float
        Treatment temperature, degrees Celsius.
    time_s : float
        Treatment time, s.
    etch_diameter_nm : array-like, shape (n_cycles + 1,)
        Nominal particle diameter before etching and after each cycle, nm.
    lattice_scale : float
        Caller's unit per nm^3 of ZnSe-equivalent saturated lattice (e.g. mg/L in the supernatant).
    surface_amount : float
        Surface-bound Br released by the first etch, in the caller's unit.
    relative_sd : float, optional
        Relative standard deviation of the particle size. Default is 0.0.
    **numerics
        ``size_nodes``, ``n_cells``, ``n_steps`` of :func:`simulate_uptake`.

    Returns
    -------
    numpy.ndarray, shape (n_cycles,)
        Br released by each etch, in the caller's unit.
    """
    profiles = simulate_uptake(stack, kinetics, temperature_C, time_s, relative_sd=relative_sd, **numerics)
    amounts = lattice_scale * br_per_etch(profiles, kinetics.k_se, etch_diameter_nm)
    amounts[0] += surface_amount
    return amounts
