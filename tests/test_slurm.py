"""SLURM: the profile in profiles/slurm drives snakemake-executor-plugin-slurm, and the pipeline run
through a real (one-node, localhost) SLURM cluster gives the same outputs as a local run.

* ``test_profile_dry_run`` (always runs, no cluster needed): ``snakemake -n --profile profiles/slurm``
  plans the same jobs as a local dry run and every job carries the resources SLURM needs
  (runtime, mem_mb, cpus_per_task).
* ``test_pipeline_through_slurm_matches_local_run``: the fixture installs Debian's slurm-wlm and
  munge when missing (apt-get, root only), starts munged, slurmctld and slurmd in the foreground as
  children of the test, with a minimal slurm.conf, key, sockets, state and logs in a temporary
  directory and free localhost ports, waits for the node to be idle, runs the pipeline on a small
  dataset with ``--profile profiles/slurm`` and compares every result with a local run. If the
  cluster cannot start, the test is skipped with the exact error (daemon log tail), not failed:
  the sandbox may forbid what slurmd needs.

Two details of a cluster living in a temporary directory (a real cluster has /etc/slurm/slurm.conf):
the plugin's job step (snakemake-executor-plugin-slurm-jobstep 0.6.1) removes every SLURM_* variable
except the job's identity before calling ``srun``, SLURM_CONF included, so a two-line ``srun``
wrapper first on PATH restores it; and there is no slurmdbd, so job status comes from ``squeue``
(``--slurm-status-command squeue``; MinJobAge=300 keeps finished jobs visible).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, output_digests, run_snakemake

PROFILE = ROOT / "profiles" / "slurm"
DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "sinfo", "scancel")
PLUGIN_HINT = ("snakemake-executor-plugin-slurm is not installed in this environment: add "
               "'snakemake-executor-plugin-slurm==2.8.0' to pyproject.toml (see profiles/slurm/config.yaml)")


def _plugin_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("snakemake_executor_plugin_slurm") is not None


def _job_blocks(dry_run_output: str) -> dict[str, str]:
    """Dry-run text -> {'rule[wildcards]': resources line} (one entry per planned job)."""
    jobs = {}
    for block in re.split(r"\n(?=rule |localrule )", dry_run_output):
        head = re.match(r"(?:local)?rule (\w+):", block)
        if not head:
            continue
        wildcards = re.search(r"\n\s+wildcards: (.*)", block)
        resources = re.search(r"\n\s+resources: (.*)", block)
        key = f"{head.group(1)}[{wildcards.group(1) if wildcards else ''}]"
        jobs[key] = resources.group(1) if resources else ""
    return jobs


@pytest.fixture(scope="module")
def small_raw(small_run):
    return small_run[0]


def test_profile_dry_run(small_raw, tmp_path):
    assert _plugin_installed(), PLUGIN_HINT
    local = run_snakemake(tmp_path / "local", small_raw, "--dry-run", timeout=300)
    assert local.returncode == 0, local.stderr[-2000:]
    result = run_snakemake(tmp_path / "slurm", small_raw, "--dry-run", "--profile", str(PROFILE), timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert f"Using profile {PROFILE}" in output
    planned, planned_locally = _job_blocks(output), _job_blocks(local.stdout + local.stderr)
    assert planned.keys() == planned_locally.keys()
    for job, resources in planned.items():
        if job == "all[]":
            continue
        for name in ("runtime=", "mem_mb=", "cpus_per_task="):
            assert name in resources, f"{job}: no {name[:-1]} for SLURM ({resources!r})"


# ---------------------------------------------------------------- a one-node cluster on localhost
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_slurm_installed() -> None:
    if all(shutil.which(tool) for tool in DAEMONS + CLIENTS):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("slurm-wlm/munge are not installed and this is not root with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "slurm-wlm", "munge"]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


class OneNodeCluster:
    """munged + slurmctld + slurmd for this host, all state in ``base``; started and stopped by us."""

    def __init__(self, base: Path):
        self.base = base
        self.node = socket.gethostname().split(".")[0]
        self.processes: dict[str, subprocess.Popen] = {}
        for sub in ("state", "spool", "log", "run", "bin"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        self.conf = base / "slurm.conf"
        self.munge_socket = base / "run" / "munge.socket"
        self.env = dict(os.environ, SLURM_CONF=str(self.conf),
                        PATH=f"{base / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
        # See the module docstring: the job step strips SLURM_CONF before calling srun.
        wrapper = base / "bin" / "srun"
        wrapper.write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec {shutil.which("srun")} "$@"\n')
        wrapper.chmod(0o755)

    def write_config(self) -> None:
        key = self.base / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
        b = self.base
        self.conf.write_text(f"""\
ClusterName=qdtest
SlurmctldHost={self.node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={b / 'state'}
SlurmdSpoolDir={b / 'spool'}
SlurmctldPidFile={b / 'run' / 'slurmctld.pid'}
SlurmdPidFile={b / 'run' / 'slurmd.pid'}
SlurmctldLogFile={b / 'log' / 'slurmctld.log'}
SlurmdLogFile={b / 'log' / 'slurmd.log'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=300
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={memory_mb // 2}
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.base / "log" / f"{name}.stderr", "w")
        self.processes[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                                start_new_session=True)

    def start(self) -> str | None:
        """Start the daemons; None when the node is idle, else the reason it is not."""
        self.write_config()
        b = self.base
        # munged refuses root without --force; -F = foreground, so we own the process.
        self._spawn("munged", ["munged", "-F", "--force", f"--key-file={b / 'munge.key'}",
                               f"--socket={self.munge_socket}", f"--pid-file={b / 'run' / 'munged.pid'}",
                               f"--log-file={b / 'log' / 'munged.log'}", f"--seed-file={b / 'run' / 'munge.seed'}"])
        if not self._wait(lambda: self.munge_socket.exists(), 15):
            return f"munged did not start: {self._why('munged')}"
        self._spawn("slurmctld", ["slurmctld", "-D", "-c", "-f", str(self.conf)])
        self._spawn("slurmd", ["slurmd", "-D", "-f", str(self.conf)])
        if not self._wait(self._node_idle, 60):
            return (f"node {self.node} not idle after 60 s: slurmctld: {self._why('slurmctld')} | "
                    f"slurmd: {self._why('slurmd')}")
        probe = subprocess.run(["srun", "-N1", "-n1", "true"], capture_output=True, text=True, env=self.env,
                               timeout=60)
        if probe.returncode != 0:
            return f"srun on the idle node failed: {probe.stderr.strip()[-800:]}"
        return None

    def _node_idle(self) -> bool:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}")
        state = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=self.env,
                               timeout=30)
        return state.returncode == 0 and state.stdout.strip() == "idle"

    @staticmethod
    def _wait(condition, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if condition():
                    return True
            except RuntimeError:
                return False
            time.sleep(0.5)
        return False

    def _why(self, name: str) -> str:
        process = self.processes.get(name)
        status = "running" if process and process.poll() is None else f"exit {process and process.returncode}"
        text = _tail(self.base / "log" / f"{name}.stderr", 6) + " / " + _tail(self.base / "log" / f"{name}.log", 6)
        return f"{status}; {' '.join(text.split())[-1200:]}"

    def stop(self) -> None:
        subprocess.run(["scancel", "--user", str(os.getuid())], env=self.env, capture_output=True, timeout=30)
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    _ensure_slurm_installed()
    # Short path: munge and slurm sockets must fit in sun_path (108 bytes).
    base = Path(tmp_path_factory.mktemp("slurm-cluster"))
    instance = OneNodeCluster(base)
    try:
        reason = instance.start()
        if reason:
            pytest.skip(f"cannot start a one-node SLURM cluster in this sandbox: {reason}")
        yield instance
    finally:
        instance.stop()


@pytest.mark.pipeline
def test_pipeline_through_slurm_matches_local_run(cluster, small_run, tmp_path):
    assert _plugin_installed(), PLUGIN_HINT
    small_raw, local = small_run  # the session's local run on the same raw tree

    on_slurm = tmp_path / "slurm"
    snakemake = Path(sys.executable).with_name("snakemake")
    cmd = [str(snakemake), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(on_slurm),
           "--configfile", str(ROOT / "config.yaml"), "--profile", str(PROFILE),
           "--config", f"raw_dir={small_raw}", f"published={ROOT / 'published.csv'}",
           # test-cluster settings (no accounts, no slurmdbd) and a fast status poll
           "--slurm-no-account", "--slurm-status-command", "squeue",
           "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "2"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=cluster.env, timeout=1500)
    assert result.returncode == 0, (result.stderr[-3000:] + "\n--- slurmctld log:\n"
                                    + _tail(cluster.base / "log" / "slurmctld.log"))
    # The plugin logs "Job <n> has been submitted with SLURM jobid <id>" per job (and deletes the
    # logs of successful jobs), so count the submissions: every technique's fit job(s) (one batch job or
    # one job per sample, each writing into results/<technique>/fits) and more went through sbatch.
    submitted = set(re.findall(r"has been submitted with SLURM jobid (\d+)", result.stdout + result.stderr))
    fit_jobs = len(list(local.glob("results/*/fits")))
    assert len(submitted) > fit_jobs, f"only {len(submitted)} jobs went through SLURM"
    assert output_digests(on_slurm) == output_digests(local)
