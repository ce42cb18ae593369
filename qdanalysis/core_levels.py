"""Tabulated XPS core-level constants (``qdanalysis/data/xps_core_levels.csv``).

Spin-orbit splittings and the statistical branching ratios of the core levels this work measures.
They are literature data, not model code, so the analysis (:mod:`qdanalysis.xps`) and the forward
model (:mod:`qdanalysis.simulate.xps`) both read them from here; everything that turns them into
line shapes is written separately in each.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class CoreLevel:
    """One core level: its spin-orbit lines (major first) and doublet constants."""

    region: str  # 'In 3d', as a VAMAS block names it
    key: str  # prefix of quantity names: 'in3d52'
    lines: tuple[str, ...]  # ('3d5/2', '3d3/2') or ('1s',)
    splitting_ev: float | None  # minor - major line binding energy
    branching_ratio: float | None  # minor / major area, (2j+1) ratio

    @property
    def is_doublet(self) -> bool:
        return self.splitting_ev is not None

    @property
    def species(self) -> str:
        return self.region.split()[0]


@cache
def load_core_levels() -> dict[str, CoreLevel]:
    """Core levels by region label, read from the packaged table (sources in the file).

    Cached: the table is read once per process.

    Returns
    -------
    dict of str to CoreLevel
        Region label (``'In 3d'``) -> its lines, quantity key, spin-orbit splitting (eV) and branching
        ratio (minor / major area, from the (2j+1) degeneracies); splitting and ratio are None for
        singlets.
    """
    text = resources.files("qdanalysis").joinpath("data/xps_core_levels.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    levels = {}
    for row in csv.DictReader(lines):
        doublet = bool(row["minor_line"])
        levels[row["region"]] = CoreLevel(
            region=row["region"], key=row["key"],
            lines=(row["major_line"], row["minor_line"]) if doublet else (row["major_line"],),
            splitting_ev=float(row["splitting_ev"]) if doublet else None,
            branching_ratio=(float(row["minor_degeneracy"]) / float(row["major_degeneracy"]) if doublet
                             else None))
    return levels
