"""Recovery benchmark: coverage and bias of every reported quantity over randomized truths.

Run: ``.venv/bin/python benchmarks/bench_recovery.py [--draws N] [--groups optical trpl ...]
[--jobs 2]``; rewrites each group's section of ``benchmarks/RECOVERY.md`` (see
:mod:`benchmarks.recovery.core` for the method and ``benchmarks/recovery/<group>.py`` for the truths
and forward models of each group). Seeded: the same command gives the same table.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one BLAS thread per worker process
os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.recovery import core  # noqa: E402


def available_groups() -> list[str]:
    package = ROOT / "benchmarks" / "recovery"
    return [m.name for m in pkgutil.iter_modules([str(package)]) if m.name != "core"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=None,
                        help=f"draws per case (default: the group's DRAWS, else {core.DEFAULT_DRAWS})")
    parser.add_argument("--groups", nargs="*", default=None, help=f"default: all ({available_groups()})")
    parser.add_argument("--cases", nargs="*", default=None, help="only these cases of the group(s)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=core.DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RECOVERY.md")
    parser.add_argument("--save-draws", type=Path, default=None, metavar="DIR",
                        help="also write every draw's truth, value, sigma, flag and pull to DIR/<group>.csv")
    args = parser.parse_args(argv)
    for group in args.groups or available_groups():
        module = importlib.import_module(f"benchmarks.recovery.{group}")
        start = time.perf_counter()
        n_draws = core.group_draws(module, args.draws)
        draws = core.run_cases(group, n_draws, seed=args.seed, cases=args.cases, jobs=args.jobs)
        if args.save_draws:
            args.save_draws.mkdir(parents=True, exist_ok=True)
            draws.to_csv(args.save_draws / f"{group}.csv", index=False)
        stats = core.summarise(draws, getattr(module, "UNITS", {}), getattr(module, "MISSPECIFIED", ()))
        draws_by_case = {case: core.case_draws(module, case, n_draws) for case in args.cases or module.CASES}
        section = core.markdown_section(group, stats, n_draws=n_draws, seed=args.seed,
                                        draws_by_case=draws_by_case,
                                        notes=getattr(module, "NOTES", {}),
                                        preamble=(module.__doc__ or "").split("\n\n", 1)[-1],
                                        failures=core.first_failures(draws))
        core.update_recovery_md(args.out, group, section)
        met = int(stats["meets_target"].sum())
        print(f"{group}: {met}/{len(stats)} quantities meet the target "
              f"({time.perf_counter() - start:.0f} s, {core.draws_sentence(n_draws, draws_by_case)})")


if __name__ == "__main__":
    main()
