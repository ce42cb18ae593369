"""Shared fixtures: repository paths and small generated raw trees with seeds other than the shipped one."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks.recovery (the recovery benchmark's machinery) is importable
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def optical_raw(tmp_path_factory) -> Path:
    """The optical slice of the raw tree, generated with a non-shipped seed."""
    from qdanalysis.simulate.__main__ import write_raw_tree

    raw = tmp_path_factory.mktemp("raw_optical")
    write_raw_tree(raw, seed=12345, modules=["optical"])
    return raw


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """``base/name``, made by ``build`` once per test session however many pytest-xdist workers ask.

    Under xdist every worker has its own session fixtures; the first worker to get here builds (under
    an exclusive file lock) in the directory all workers share, the others wait for it and reuse it.
    Callers must treat the result as read-only.
    """
    base = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        base = base.parent  # pytest-of-<user>/pytest-<n>: shared by this session's workers
    target, done = base / name, base / f"{name}.complete"
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)  # what a failed earlier attempt left
            target.mkdir(parents=True)
            build(target)
            done.touch()
    return target


@pytest.fixture(scope="session")
def full_raw(tmp_path_factory) -> Path:
    """Every technique's raw files, generated with a non-shipped seed (once per session; read-only)."""
    from qdanalysis.simulate.__main__ import write_raw_tree

    return built_once(tmp_path_factory, "raw_full", lambda raw: write_raw_tree(raw, seed=12345))


SMALL_SAMPLES = ("InP_MS_pristine", "InP_MS_ZnBr2")


def make_small_raw(full_raw: Path, dst: Path, samples=SMALL_SAMPLES, series="halide_treatment") -> Path:
    """Copy a few samples of one series (every technique, with the series' IRF and XRD standard).

    About 18 raw files: the full pipeline runs on it in ~30 s on 2 cores, yet every reader and every
    per-sample rule type (absorption, PL, PLQY, TRPL with IRF, XPS, XRD with standard) is exercised.
    """
    sheet = pd.read_csv(full_raw / "samples.csv", dtype=str, keep_default_na=False)
    in_series = sheet["series"] == series
    keep = in_series & (sheet["sample"].isin(samples) | sheet["role"].isin(["irf", "standard"]))
    small = sheet[keep]
    for file in small["file"]:
        (dst / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(full_raw / file, dst / file)
    small.to_csv(dst / "samples.csv", index=False, lineterminator="\n")
    return dst


@pytest.fixture(scope="session")
def small_run(full_raw, tmp_path_factory) -> tuple[Path, Path]:
    """``(raw, workdir)``: the small raw tree and one clean 2-core pipeline run on it, made once per session.

    Tests that compare with a clean run (crash-resume, SLURM) or read its outputs (HTML report,
    provenance) share it; both are read-only, so a test that changes the run works on a copy
    (:func:`copy_run`). Outputs record the raw directory (provenance), so a run compared with this
    one must read the same ``raw``.
    """
    def build(base: Path) -> None:
        raw = make_small_raw(full_raw, base / "raw")
        result = run_snakemake(base / "work", raw)
        if result.returncode != 0:
            raise RuntimeError(f"the shared small-tree run failed:\n{result.stderr[-3000:]}")

    base = built_once(tmp_path_factory, "small_run", build)
    return base / "raw", base / "work"


def copy_run(workdir: Path, dst: Path) -> Path:
    """A copy of a finished run (outputs, modification times and Snakemake's metadata) to change."""
    return shutil.copytree(workdir, dst, symlinks=True)


def snakemake_command(workdir: Path, raw_dir: Path, *extra: str, cores: int = 2,
                      targets: tuple[str, ...] = ()) -> list[str]:
    """Command line running this repository's pipeline on ``raw_dir`` with outputs under ``workdir``.

    ``targets`` (paths relative to ``workdir``) restrict the run; default: rule all.
    """
    snakemake = Path(sys.executable).with_name("snakemake")
    return [str(snakemake), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(ROOT / "config.yaml"), "--cores", str(cores), *extra, *targets,
            "--config", f"raw_dir={raw_dir}", f"published={ROOT / 'published.csv'}"]


def run_snakemake(workdir: Path, raw_dir: Path, *extra: str, cores: int = 2, targets: tuple[str, ...] = (),
                  timeout: int = 1200) -> subprocess.CompletedProcess:
    """Run the pipeline to completion (see :func:`snakemake_command`), capturing its output."""
    cmd = snakemake_command(workdir, raw_dir, *extra, cores=cores, targets=targets)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def digests(path: Path) -> dict[str, str]:
    """sha256 of every file below ``path``, keyed by its relative POSIX path."""
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def output_digests(workdir: Path) -> dict[str, str]:
    """Digests of a run's results/ and figures/, leaving out logs and rule benchmarks (timings)."""
    out = {}
    for sub in ("results", "figures"):
        out.update({f"{sub}/{k}": v for k, v in digests(workdir / sub).items()
                    if not k.startswith(("logs/", "benchmarks/"))})
    return out
