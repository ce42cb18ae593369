"""Build benchmark (issue 12): the pipeline's wall time against the pure compute of the same steps.

    python benchmarks/bench_build.py [--baseline REF] [--cores 2] [--raw raw] [--out benchmarks/_runs/build]

Measured in one run, side by side, each on an empty working directory:

* **clean build** of the shipped data with ``--cores`` cores: wall time, CPU time of all child processes
  (``getrusage(RUSAGE_CHILDREN)``), number of jobs; for this tree and, with ``--baseline``, for a git
  ref (checked out into a temporary worktree and run with ``PYTHONPATH`` pointing at it, on that ref's
  own ``raw/``), the two builds alternating ``--repeats`` times;
* **pure compute in one process**: the clean build is run with ``QDANALYSIS_RECORD_JOBS`` set, so every
  job's script records its Snakemake job object (:func:`qdanalysis.pipeline.log_to`); the same scripts
  are then replayed in that order in *this* process on a copy of the working directory, imports paid
  once - the fits, tables and figures the pipeline makes, without interpreter start-up or scheduling;
* **no-op dry run** (``snakemake -n`` on the finished directory) and the floor of Snakemake itself
  (``-n`` of a one-rule Snakefile whose output exists);
* **edit one raw file** (new bytes in a UV-vis export, the sheet's sha256 updated): wall time of the
  rebuild and the jobs it reruns.

Prints Markdown, and with ``--write`` replaces the "Build benchmark" section of benchmarks/RESULTS.md.
The machine's load average is recorded before and after (the machine may be shared).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import re
import resource
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
SECTION = ("<!-- build-benchmark:begin -->", "<!-- build-benchmark:end -->")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def snakemake(tree: Path, workdir: Path, raw: Path, *extra: str, cores: int, env: dict | None = None):
    """Run the pipeline of ``tree`` on ``raw`` in ``workdir``: (wall s, child CPU s, completed process)."""
    cmd = [str(SNAKEMAKE), "--snakefile", str(tree / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(tree / "config.yaml"), "--cores", str(cores), *extra,
           "--config", f"raw_dir={raw}", f"published={tree / 'published.csv'}"]
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return wall, cpu, done


def jobs_run(done: subprocess.CompletedProcess) -> dict[str, int]:
    """The 'Job stats' table of a run -> {rule: count}."""
    counts = {}
    table = (done.stdout + done.stderr).split("Job stats:", 1)[-1]
    for line in table.splitlines()[3:]:
        if line.strip().startswith("total"):
            break
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if match:
            counts[match.group(1)] = int(match.group(2))
    return counts


def replay_in_one_process(record_dir: Path, workdir: Path, tree: Path) -> tuple[float, float, int]:
    """Run every recorded job's script, in recorded order, in this process (cwd = ``workdir``)."""
    tree, workdir = Path(tree).resolve(), Path(workdir).resolve()
    records = sorted(record_dir.glob("*.pkl"))
    jobs = [pickle.loads(path.read_bytes()) for path in records]
    saved = (sys.stdout, sys.stderr, sys.excepthook, os.getcwd())
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        os.chdir(workdir)
        for job in jobs:
            script = tree / "scripts" / job["script"]
            try:
                runpy.run_path(str(script), init_globals={"snakemake": job["snakemake"]}, run_name="__main__")
            except SystemExit as stop:
                if stop.code not in (0, None):
                    raise RuntimeError(f"replay of {job['script']} exited {stop.code}") from None
            finally:
                sys.stdout.flush()
                sys.stdout, sys.stderr, sys.excepthook = saved[:3]
    finally:
        sys.stdout, sys.stderr, sys.excepthook = saved[:3]
        os.chdir(saved[3])
    return time.perf_counter() - wall0, time.process_time() - cpu0, len(jobs)


def edit_raw_file(raw: Path, file: str) -> None:
    """New bytes in a Cary export (one more method-block line), the sheet's sha256 updated to match."""
    import pandas as pd

    path = raw / file
    path.write_bytes(path.read_bytes() + b"Comment,re-exported for the benchmark\r\n")
    sheet = pd.read_csv(raw / "samples.csv", dtype=str, keep_default_na=False)
    sheet.loc[sheet["file"] == file, "sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    sheet.to_csv(raw / "samples.csv", index=False, lineterminator="\n")


def snakemake_floor(tmp: Path) -> float:
    """``snakemake -n`` of a one-rule workflow whose output exists: Snakemake's own start-up."""
    (tmp / "Snakefile").write_text('rule all:\n    input: "a.txt"\n\n\nrule a:\n    output: "a.txt"\n'
                                   '    shell: "touch {output}"\n')
    subprocess.run([str(SNAKEMAKE), "-c1", "-q"], cwd=tmp, capture_output=True, check=True)
    best = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([str(SNAKEMAKE), "-c1", "-n", "-q"], cwd=tmp, capture_output=True, check=True)
        best.append(time.perf_counter() - start)
    return min(best)


def measure_tree(label: str, tree: Path, raw: Path, out: Path, cores: int, env: dict, *, replay: bool,
                 edit_file: str | None) -> dict:
    workdir = out / f"{label}_work"
    shutil.rmtree(workdir, ignore_errors=True)
    record_dir = out / f"{label}_jobs"
    shutil.rmtree(record_dir, ignore_errors=True)
    record_dir.mkdir(parents=True)
    run_env = {**env, "QDANALYSIS_RECORD_JOBS": str(record_dir)} if replay else env
    wall, cpu, done = snakemake(tree, workdir, raw, cores=cores, env=run_env)
    result = {"label": label, "clean_wall_s": wall, "clean_cpu_s": cpu, "jobs": sum(jobs_run(done).values())}
    noop = []
    for _ in range(3):
        noop_wall, _, noop_done = snakemake(tree, workdir, raw, "--dry-run", cores=cores, env=env)
        assert "Nothing to be done" in noop_done.stdout + noop_done.stderr, "the no-op run planned jobs"
        noop.append(noop_wall)
    result["noop_s"] = min(noop)
    if replay:
        copy = out / f"{label}_replay"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(workdir, copy)
        result["replay_wall_s"], result["replay_cpu_s"], result["replayed_jobs"] = replay_in_one_process(
            record_dir, copy, tree)
    if edit_file:
        edited_raw = out / f"{label}_raw_edit"
        shutil.rmtree(edited_raw, ignore_errors=True)
        shutil.copytree(raw, edited_raw)
        # the workdir's records refer to the original raw paths: rebuild once on the copy first
        snakemake(tree, workdir, edited_raw, cores=cores, env=env)
        edit_raw_file(edited_raw, edit_file)
        edit_wall, _, edit_done = snakemake(tree, workdir, edited_raw, cores=cores, env=env)
        result["edit_wall_s"], result["edit_jobs"] = edit_wall, jobs_run(edit_done)
    return result


def markdown(results: list[dict], floor: float, cores: int, load: tuple[str, str], edit_file: str) -> str:
    lines = [SECTION[0], "## Build benchmark (benchmarks/bench_build.py)", "",
             f"Clean build of the shipped `raw/` on an empty directory with `--cores {cores}`, measured side by side "
             f"in one run. Load average before: {load[0]}; after: {load[1]}.", "",
             "| tree | jobs | clean build wall (s) | CPU of all processes (s) | pure compute, one process (s) "
             "| wall / pure compute | no-op `-n` (s) | edit one raw file: rebuild (s), jobs |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        replay = r.get("replay_wall_s")
        ratio = f"{r['clean_wall_s'] / replay:.2f}" if replay else "–"
        edit = (f"{r['edit_wall_s']:.1f}, {sum(r['edit_jobs'].values())}" if "edit_wall_s" in r else "–")
        lines.append(f"| {r['label']} | {r['jobs']} | {r['clean_wall_s']:.1f} | {r['clean_cpu_s']:.1f} | "
                     f"{'–' if replay is None else f'{replay:.1f}'} | {ratio} | {r['noop_s']:.2f} | {edit} |")
    lines += ["", f"Snakemake's own floor (`snakemake -n` of a one-rule workflow, no-op): {floor:.2f} s.",
              f"Edited file: `{edit_file}` (new bytes, sheet sha256 updated).", ""]
    for r in results:
        if "edit_jobs" in r:
            lines.append(f"- {r['label']}, rerun after the edit: "
                         + ", ".join(f"{rule} x{n}" for rule, n in r["edit_jobs"].items()))
    lines += ["", SECTION[1]]
    return "\n".join(lines) + "\n"


def write_section(text: str, path: Path = ROOT / "benchmarks" / "RESULTS.md") -> None:
    current = path.read_text() if path.exists() else ""
    if SECTION[0] in current and SECTION[1] in current:
        head, rest = current.split(SECTION[0], 1)
        current = head + text.rstrip("\n") + rest.split(SECTION[1], 1)[1]
    else:
        current = text + "\n" + current
    path.write_text(current)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git ref to measure beside this tree (e.g. the start of the change)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--raw", type=Path, default=ROOT / "raw")
    parser.add_argument("--edit-file", default="uvvis/InP_MS_ZnBr2.csv")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "_runs" / "build")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    trees = [("this tree", ROOT, args.raw, {}, True)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.baseline:
            base = tmp / "baseline"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.baseline],
                           check=True, capture_output=True)
            trees.insert(0, (f"baseline {args.baseline}", base, base / "raw", {"PYTHONPATH": str(base)}, False))
        try:
            results = []
            for repeat in range(args.repeats):
                for label, tree, raw, env, replay in trees:
                    name = re.sub(r"\W+", "_", label)
                    results.append(measure_tree(name if args.repeats == 1 else f"{name}_{repeat}", tree, raw,
                                                args.out, args.cores, env, replay=replay,
                                                edit_file=args.edit_file if (tree / "raw" / args.edit_file).exists()
                                                or (raw / args.edit_file).exists() else None))
                    results[-1]["label"] = label if args.repeats == 1 else f"{label} (run {repeat + 1})"
            floor_dir = tmp / "floor"
            floor_dir.mkdir()
            floor = snakemake_floor(floor_dir)
        finally:
            if args.baseline:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "baseline")],
                               capture_output=True)
    load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = markdown(results, floor, args.cores, (load_before, load_after), args.edit_file)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
