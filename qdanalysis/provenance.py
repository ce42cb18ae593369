"""Provenance record of one pipeline run: what went in (raw files, config, code, packages) and what came out.

``results/provenance.json`` answers "which raw bytes, which settings, which code and which library
versions produced these numbers?" without a timestamp, hostname or path-dependent field that changes
from run to run, so the file is byte-identical between two runs on the same inputs (the determinism
test compares every file under results/). Fields:

* ``raw_files``: one entry per sample-sheet row with the sha256 recomputed from the bytes on disk and
  checked against the sheet (a mismatch raises :class:`RawDataError` naming the file, as the
  pre-flight check in ``rules/common.smk`` does);
* ``inputs`` / ``outputs``: sha256 of the sample sheet and of the result tables (per-technique
  quantities, Table S1, reproduction report - the last one stands for the published table, which
  only the report rule may read);
* ``packages``: versions (``importlib.metadata``) of the dependencies pinned in ``pyproject.toml``,
  read from the installed ``qdanalysis`` distribution's own requirements so the list is not kept
  twice, plus Python's version;
* ``code``: the git commit of the workflow checkout and whether tracked files differ from it
  ('unknown' outside a git work tree, or without git: provenance never fails a run for that);
* ``config``: the Snakemake config the run used.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import re
import subprocess
from pathlib import Path

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.samplesheet import sha256_file, verify_sha256

UNKNOWN = "unknown"
# Used only when the qdanalysis distribution metadata is missing (e.g. run from a bare source tree).
FALLBACK_PACKAGES = ("snakemake", "numpy", "scipy", "pandas", "matplotlib", "lmfit", "jsonschema", "pyyaml",
                     "vamas", "ptufile", "tifffile", "scikit-image")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def pinned_packages(distribution: str = "qdanalysis") -> list[str]:
    """Names of the distribution's runtime requirements (extras such as ``test`` excluded).

    Parameters
    ----------
    distribution : str, optional
        The installed distribution whose requirements are read. Default is "qdanalysis".

    Returns
    -------
    list of str
        Requirement names, sorted case-insensitively; :data:`FALLBACK_PACKAGES` (sorted) when the
        distribution is not installed.
    """
    try:
        requirements = importlib.metadata.requires(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return sorted(FALLBACK_PACKAGES)
    names = []
    for requirement in requirements:
        if "extra ==" in requirement:
            continue
        match = _REQUIREMENT_NAME.match(requirement)
        if match:
            names.append(match.group(1))
    return sorted(set(names), key=str.lower)


def package_versions(names: list[str] | None = None) -> dict[str, str]:
    """Installed version of each package (``'not installed'`` rather than an error).

    Parameters
    ----------
    names : list of str or None, optional
        Package names; None (default) means :func:`pinned_packages`.

    Returns
    -------
    dict of str to str
        ``{name: version}``, plus ``"python"``: the interpreter's version.
    """
    versions = {}
    for name in names if names is not None else pinned_packages():
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["python"] = platform.python_version()
    return versions


def git_state(directory: str | Path) -> dict[str, object]:
    """``{"commit": sha or 'unknown', "dirty": bool or 'unknown'}`` of the work tree holding ``directory``.

    ``dirty`` looks at tracked files only: results/ and figures/ are git-ignored and untracked scratch
    files do not change what the code computes.

    Parameters
    ----------
    directory : str or pathlib.Path
        A directory inside the workflow's git work tree.

    Returns
    -------
    dict of str to object
        ``commit`` (the HEAD sha, or 'unknown') and ``dirty`` (bool, or 'unknown' when git cannot tell).
    """
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True,
                                  timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "--verify", "HEAD")
    if not commit:
        return {"commit": UNKNOWN, "dirty": UNKNOWN}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": UNKNOWN if status is None else bool(status)}


def raw_file_hashes(sheet_rows: list[dict], raw_dir: str | Path) -> list[dict]:
    """Sheet rows -> ``[{file, technique, sample, role, bytes, sha256}]``, verified against the sheet.

    Sorted by file name so the record does not depend on the sheet's row order.

    Parameters
    ----------
    sheet_rows : list of dict
        Sample-sheet rows: ``file`` (relative to ``raw_dir``) and optionally ``technique``, ``sample``,
        ``role`` and ``sha256``.
    raw_dir : str or pathlib.Path
        Directory of the raw files.

    Returns
    -------
    list of dict
        One entry per row, with the file size in bytes and its recomputed sha256.

    Raises
    ------
    RawDataError
        A listed file does not exist, or its sha256 differs from the sheet's.
    """
    raw_dir = Path(raw_dir)
    entries = []
    for row in sheet_rows:
        path = raw_dir / row["file"]
        if not path.is_file():
            raise RawDataError(path, None, "raw file listed in the sample sheet does not exist")
        digest = verify_sha256(path, row.get("sha256"))
        entries.append({"file": row["file"], "technique": row.get("technique"), "sample": row.get("sample"),
                        "role": row.get("role"), "bytes": path.stat().st_size, "sha256": digest})
    return sorted(entries, key=lambda entry: entry["file"])


def file_hashes(paths: dict[str, list[str] | str]) -> dict[str, dict[str, str]]:
    """``{group: {path: sha256}}`` for named groups of files, paths as the rule gave them.

    Parameters
    ----------
    paths : dict of str to (list of str or str)
        Group name -> one path or a list of paths.

    Returns
    -------
    dict of str to dict of str to str
        Group name -> ``{POSIX path: sha256 hex digest}``.
    """
    out = {}
    for group, files in paths.items():
        files = [files] if isinstance(files, str) else list(files)
        out[group] = {Path(f).as_posix(): sha256_file(f) for f in files}
    return out


def provenance_record(*, sheet_rows: list[dict], raw_dir: str | Path, config: dict,
                      workflow_dir: str | Path, inputs: dict[str, list[str] | str],
                      outputs: dict[str, list[str] | str]) -> dict:
    """The whole provenance record (plain JSON types, no timestamps).

    Parameters
    ----------
    sheet_rows : list of dict
        Sample-sheet rows (see :func:`raw_file_hashes`).
    raw_dir : str or pathlib.Path
        Directory of the raw files.
    config : dict
        The Snakemake config of the run.
    workflow_dir : str or pathlib.Path
        The workflow checkout (for :func:`git_state`).
    inputs, outputs : dict of str to (list of str or str)
        Named groups of input and output files to hash (see :func:`file_hashes`).

    Returns
    -------
    dict
        ``schema``, ``raw_files``, ``inputs``, ``outputs``, ``packages``, ``code`` and ``config``.

    Raises
    ------
    RawDataError
        A raw file is missing or does not match its sha256 in the sheet.
    """
    return {
        "schema": "qdanalysis-provenance/1",
        "raw_files": raw_file_hashes(sheet_rows, raw_dir),
        "inputs": file_hashes(inputs),
        "outputs": file_hashes(outputs),
        "packages": package_versions(),
        "code": git_state(workflow_dir),
        "config": config,
    }


def provenance_bytes(record: dict) -> bytes:
    """Canonical bytes: sorted keys, fixed indentation, LF, UTF-8 (byte-stable between runs).

    Parameters
    ----------
    record : dict
        A provenance record (JSON types only; NaN is refused).

    Returns
    -------
    bytes
        The JSON text, ending in a newline, encoded as UTF-8.
    """
    return (json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n").encode()


def write_provenance(record: dict, path: str | Path) -> None:
    """Write a provenance record as its canonical bytes (:func:`provenance_bytes`).

    Parameters
    ----------
    record : dict
        The provenance record.
    path : str or pathlib.Path
        Output file (parent directories are created).
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(provenance_bytes(record))
