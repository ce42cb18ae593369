"""Scale benchmark: how the pipeline's wall time grows with the number of samples.

    python benchmarks/bench_scale.py --sizes 10 100 --cores 2 [--dry-run-sizes 1000] [--out DIR]

For each size N the script writes a raw tree (benchmarks/_runs/scale_N/raw, git-ignored): the
optical rows of the halide_treatment series (5 samples: UV-vis, PL and three PLQY sphere scans each,
so the paper's optical figures are still drawn) plus N synthetic samples ``SCALE_0001...`` that each
have a UV-vis and a PL file (copies of InP_MS_pristine's, new sample ids, in the ``etching`` series,
which no optical figure draws - so N changes the number of fit jobs and the size of the collected
tables, not the figures). Then, with ``--cores`` cores, it records:

* clean build: wall time of ``snakemake`` from an empty working directory, and the number of jobs;
* the sum of per-job compute times from the rules' ``benchmark:`` files (fit rules only: the
  collect/plot rules have none) - wall x cores / sum says how much is scheduling and start-up;
* per-sample overhead: the slope of wall time between sizes (seconds per added sample);
* no-op: wall time of ``snakemake -n`` on the finished directory (parsing, sheet sha256 check, DAG);
* one raw file (``uvvis/SCALE_0001.csv``) touched (mtime only), then edited (new bytes, sheet
  sha256 updated): which jobs a dry run would rerun after each.

``--dry-run-sizes`` adds sizes for which only the parse/DAG cost is measured (``snakemake -n`` on a
fresh directory), e.g. 1000 samples, whose full build would take ~N x 2 fit jobs x ~1.5 s / cores.
Results are printed as Markdown (benchmarks/RESULTS_scale.md holds a run).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BASE_SERIES = "halide_treatment"
TEMPLATE_SAMPLE = "InP_MS_pristine"


def write_scaled_raw(base_raw: Path, dst: Path, n_samples: int) -> Path:
    """Base optical rows of one series plus ``n_samples`` replicated UV-vis/PL samples."""
    sheet = pd.read_csv(base_raw / "samples.csv", dtype=str, keep_default_na=False)
    base = sheet[(sheet["series"] == BASE_SERIES) & sheet["technique"].isin(["uvvis", "pl", "plqy"])]
    rows, sources = [base], list(base["file"])
    for technique in ("uvvis", "pl"):
        template = sheet[(sheet["technique"] == technique) & (sheet["sample"] == TEMPLATE_SAMPLE)].iloc[0]
        replicas = pd.DataFrame([template] * n_samples)
        ids = [f"SCALE_{i:04d}" for i in range(1, n_samples + 1)]
        replicas["sample"] = ids
        replicas["series"] = "etching"
        replicas["file"] = [f"{technique}/{sample}.csv" for sample in ids]
        rows.append(replicas)
        sources += [template["file"]] * n_samples
    scaled = pd.concat(rows, ignore_index=True)
    if dst.exists():
        shutil.rmtree(dst)
    for file, source in zip(scaled["file"], sources, strict=False):
        (dst / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(base_raw / source, dst / file)
    scaled.to_csv(dst / "samples.csv", index=False, lineterminator="\n")
    return dst


def snakemake(workdir: Path, raw: Path, *extra: str, cores: int) -> tuple[float, subprocess.CompletedProcess]:
    exe = Path(sys.executable).with_name("snakemake")
    cmd = [str(exe), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(ROOT / "config.yaml"), "--cores", str(cores),
           "--config", f"raw_dir={raw}", f"published={ROOT / 'published.csv'}",
           "--cores", str(cores), *extra]  # (the second --cores ends the --config list)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return elapsed, done


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a snakemake run or dry run -> {rule: count}."""
    counts = {}
    table = output.split("Job stats:", 1)[-1]
    for line in table.splitlines()[3:]:
        if line.strip().startswith("total"):
            break
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not match:
            continue
        counts[match.group(1)] = int(match.group(2))
    return counts


def benchmark_seconds(workdir: Path) -> tuple[float, int]:
    total, files = 0.0, 0
    for path in (workdir / "results" / "benchmarks").rglob("*.tsv"):
        with path.open() as stream:
            row = next(csv.DictReader(stream, delimiter="\t"))
        total += float(row["s"])
        files += 1
    return total, files


def run_size(base_raw: Path, out: Path, n_samples: int, cores: int) -> dict:
    raw = write_scaled_raw(base_raw, out / f"scale_{n_samples}" / "raw", n_samples)
    workdir = out / f"scale_{n_samples}" / "work"
    if workdir.exists():
        shutil.rmtree(workdir)
    wall, done = snakemake(workdir, raw, cores=cores)
    jobs = job_counts(done.stdout + done.stderr)
    compute, n_bench = benchmark_seconds(workdir)
    noop, noop_done = snakemake(workdir, raw, "--dry-run", cores=cores)
    assert "Nothing to be done" in noop_done.stdout + noop_done.stderr, "the no-op run planned jobs"
    edited = raw / "uvvis" / "SCALE_0001.csv"
    edited.touch()  # newer mtime, same bytes
    _, after_touch = snakemake(workdir, raw, "--dry-run", cores=cores)
    # new bytes (one more method-block line, same spectrum) and the sheet's sha256 updated to match
    edited.write_text(edited.read_text() + "Comment,re-exported\n")
    sheet = pd.read_csv(raw / "samples.csv", dtype=str, keep_default_na=False)
    sheet.loc[sheet["file"] == "uvvis/SCALE_0001.csv", "sha256"] = hashlib.sha256(edited.read_bytes()).hexdigest()
    sheet.to_csv(raw / "samples.csv", index=False, lineterminator="\n")
    _, after_edit = snakemake(workdir, raw, "--dry-run", cores=cores)
    return {"samples": n_samples, "jobs": sum(jobs.values()), "wall_s": wall, "compute_s": compute,
            "benchmarked_jobs": n_bench, "noop_s": noop, "touch": job_counts(after_touch.stdout + after_touch.stderr),
            "edit": job_counts(after_edit.stdout + after_edit.stderr)}


def dry_run_size(base_raw: Path, out: Path, n_samples: int, cores: int) -> dict:
    raw = write_scaled_raw(base_raw, out / f"scale_{n_samples}" / "raw", n_samples)
    workdir = out / f"scale_{n_samples}" / "dry"
    if workdir.exists():
        shutil.rmtree(workdir)
    elapsed, done = snakemake(workdir, raw, "--dry-run", cores=cores)
    return {"samples": n_samples, "jobs": sum(job_counts(done.stdout + done.stderr).values()), "dry_run_s": elapsed}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--dry-run-sizes", type=int, nargs="*", default=[1000])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "_runs")
    args = parser.parse_args(argv)

    from qdanalysis.simulate.__main__ import write_raw_tree

    base_raw = args.out / "scale_base"
    if not (base_raw / "samples.csv").exists():
        write_raw_tree(base_raw, seed=12345, modules=["optical"])
    runs = [run_size(base_raw, args.out, n, args.cores) for n in sorted(args.sizes)]
    dry = [dry_run_size(base_raw, args.out, n, args.cores) for n in sorted(args.dry_run_sizes)]

    print(f"| samples | jobs | clean build (s) | sum of benchmarked job times (s), n | wall x {args.cores} cores "
          "/ sum | no-op `-n` (s) |")
    print("|---|---|---|---|---|---|")
    for r in runs:
        print(f"| {r['samples']} | {r['jobs']} | {r['wall_s']:.1f} | {r['compute_s']:.1f} ({r['benchmarked_jobs']}) | "
              f"{r['wall_s'] * args.cores / r['compute_s']:.2f} | {r['noop_s']:.1f} |")
    for a, b in zip(runs, runs[1:], strict=False):
        slope = (b["wall_s"] - a["wall_s"]) / (b["samples"] - a["samples"])
        print(f"\nper added sample ({a['samples']} -> {b['samples']}, 2 fit jobs each): {slope:.2f} s wall "
              f"on {args.cores} cores")
    for r in runs:
        for what, label in (("touch", "touching (mtime only)"), ("edit", "editing (new bytes, sheet sha256 updated)")):
            print(f"\nN={r['samples']}: {label} uvvis/SCALE_0001.csv reruns {sum(r[what].values())} jobs"
                  + (": " + ", ".join(f"{rule} x{n}" for rule, n in r[what].items()) if r[what] else ""))
    for d in dry:
        print(f"\nN={d['samples']} (dry run only): {d['jobs']} jobs planned, `snakemake -n` {d['dry_run_s']:.1f} s")


if __name__ == "__main__":
    main()
