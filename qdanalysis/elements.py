"""Tabulated element data shared by the analysis and the simulators (data, not model code).

Standard atomic weights: IUPAC Commission on Isotopic Abundances and Atomic Weights, "Standard atomic
weights of the elements 2021" (Pure Appl. Chem. 2022, 94, 573); abridged values, which are what an
analyst converts mass concentrations to moles with. Avogadro constant: SI 2019 exact value.
"""

from __future__ import annotations

ATOMIC_MASS_G_MOL = {"In": 114.818, "Zn": 65.38, "Br": 79.904, "Cl": 35.45, "I": 126.90, "Se": 78.971,
                     "S": 32.06, "P": 30.974, "Cd": 112.41}
AVOGADRO_PER_MOL = 6.02214076e23
