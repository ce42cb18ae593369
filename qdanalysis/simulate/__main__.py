"""Command line: write the synthetic raw tree.  ``python -m qdanalysis.simulate --out raw``."""

from __future__ import annotations

import argparse
import importlib
import json
import math
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from qdanalysis.io.samplesheet import SHEET_COLUMNS, sha256_file

DEFAULT_SEED = 20231031  # the paper's acceptance date; any integer works
# technique module -> the sheet techniques it writes
MODULES = {"optical": ("uvvis", "pl", "plqy"), "trpl": ("trpl",), "xps": ("xps",), "xrd": ("xrd",),
           "etching": ("icp", "ic"), "tem": ("tem",)}


def available_modules() -> list[str]:
    """Technique simulators of :data:`MODULES` that can be imported (missing ones are skipped).

    Returns
    -------
    list of str
        Module names, in the order of :data:`MODULES`.

    Raises
    ------
    ModuleNotFoundError
        If a simulator exists but one of its own imports is missing.
    """
    names = []
    for name in MODULES:
        try:
            importlib.import_module(f"qdanalysis.simulate.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"qdanalysis.simulate.{name}":
                raise
            continue
        names.append(name)
    return names


def write_raw_tree(out_dir: Path, seed: int = DEFAULT_SEED, modules: list[str] | None = None) -> pd.DataFrame:
    """Write every selected technique's raw files plus samples.csv and ground_truth.json.

    Each technique draws from its own random stream, seeded by ``[seed, crc32(module name)]``.

    Parameters
    ----------
    out_dir : pathlib.Path
        Directory of the raw tree (created if needed).
    seed : int, optional
        Master seed. Default is :data:`DEFAULT_SEED`.
    modules : list of str, optional
        Technique modules to run. Default (None) is every available module (:func:`available_modules`).

    Returns
    -------
    pandas.DataFrame
        The sample sheet written to ``samples.csv`` (sheet columns, then extra columns, with sha256).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, truth = [], {"seed": seed}
    for name in modules or available_modules():
        module = importlib.import_module(f"qdanalysis.simulate.{name}")
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        technique_rows, technique_truth = module.simulate(out_dir, rng)
        rows += technique_rows
        truth[name] = technique_truth
    sheet = pd.DataFrame(rows)
    for column in SHEET_COLUMNS:
        if column not in sheet:
            sheet[column] = None
    sheet["sha256"] = [sha256_file(out_dir / file) for file in sheet["file"]]
    extra = [c for c in sheet.columns if c not in SHEET_COLUMNS]
    sheet = sheet[SHEET_COLUMNS + extra]
    for column in ("temperature_C", "time_min", "etch_cycle"):
        sheet[column] = sheet[column].astype("Int64")
    sheet.to_csv(out_dir / "samples.csv", index=False, lineterminator="\n")
    (out_dir / "ground_truth.json").write_text(json.dumps(_portable(truth), indent=1, sort_keys=True) + "\n")
    return sheet


TRUTH_DIGITS = 12  # significant digits kept in ground_truth.json


def _portable(value):
    """``value`` with every float rounded to :data:`TRUTH_DIGITS` significant digits.

    Truths that come out of a linear solve (the diffusion profiles' ``solve_banded``) differ in the
    last bits between CPUs (LAPACK/BLAS kernels), which would make the committed file depend on the
    machine that wrote it; 12 digits are far below any uncertainty the analysis reports.
    """
    if isinstance(value, dict):
        return {key: _portable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_portable(item) for item in value]
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{TRUTH_DIGITS}g}")
    return value


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: parse ``--out``, ``--seed``, ``--modules`` and write the raw tree.

    Parameters
    ----------
    argv : list of str, optional
        Arguments. Default (None) is ``sys.argv[1:]``.
    """
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("raw"), help="raw directory to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--modules", nargs="*", choices=list(MODULES), help="default: all available")
    args = parser.parse_args(argv)
    sheet = write_raw_tree(args.out, args.seed, args.modules)
    print(f"wrote {len(sheet)} raw files and samples.csv to {args.out}")


if __name__ == "__main__":
    main()
