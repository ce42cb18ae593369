"""Crash and resume: a run killed with SIGKILL mid-way is finished by a rerun, and the outputs are
byte-identical to a clean run.

SIGKILL gives Snakemake no chance to clean up, so the working directory keeps a stale lock
(.snakemake/locks) and the jobs that were running are recorded as incomplete. Recovery, as the README
should say:

    snakemake --unlock                      # the rerun first says "Directory cannot be locked"
    snakemake --cores N --rerun-incomplete  # then "IncompleteFilesException" without this flag;
                                            # with it, reruns the interrupted jobs, keeps finished ones

This test runs exactly that (checking both messages appear), and checks that (1) the jobs finished
before the kill are not rerun (their outputs keep their mtime), and (2) every file under results/ and
figures/ (logs and benchmarks aside) equals a clean run's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import output_digests, run_snakemake, snakemake_command

pytestmark = pytest.mark.pipeline

FIT_GLOB = "results/*/fits/*.json"


def _start(workdir: Path, raw: Path) -> subprocess.Popen:
    cmd = snakemake_command(workdir, raw, cores=2)
    # Own session = own process group, so the kill reaches Snakemake and every job it started.
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def test_killed_run_resumes_to_identicaloutput_digests(small_run, tmp_path):
    raw, clean = small_run  # the session's clean run on the same raw tree
    n_fits = len(list(clean.glob(FIT_GLOB)))

    crashed = tmp_path / "crashed"
    process = _start(crashed, raw)
    deadline = time.monotonic() + 300
    try:
        while len(list(crashed.glob(FIT_GLOB))) < 3:
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no fit output after 300 s"
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    finished = {p: p.stat().st_mtime_ns for p in crashed.glob(FIT_GLOB)}
    assert 3 <= len(finished) < n_fits, "the kill did not land mid-way"
    assert not (crashed / "results/TableS1.csv").exists()

    # What a user sees after the crash, in order: the stale lock, then the incomplete outputs.
    locked = run_snakemake(crashed, raw, "--rerun-incomplete")
    assert locked.returncode != 0 and "Directory cannot be locked" in locked.stderr, locked.stderr[-2000:]
    unlock = run_snakemake(crashed, raw, "--unlock")
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    if any((crashed / ".snakemake" / "incomplete").glob("*")):  # a job was running at the kill (almost always)
        incomplete = run_snakemake(crashed, raw, "--dry-run")
        assert incomplete.returncode != 0 and "IncompleteFilesException" in incomplete.stderr + incomplete.stdout
    resumed = run_snakemake(crashed, raw, "--rerun-incomplete")
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    kept = [p for p, mtime in finished.items() if p.stat().st_mtime_ns == mtime]
    assert kept, "every job was rerun: the resume restarted from scratch"
    assert output_digests(crashed) == output_digests(clean)
