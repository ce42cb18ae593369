"""The sample sheet ``samples.csv``: one row per raw file (the raw-data contract, raw/README.md).

Column types and allowed values are checked against ``schemas/samples.schema.yaml`` row by row
(:func:`validate_sample_sheet`, whose errors name samples.csv and the line - snakemake's own
``validate`` says only "row 1 of data frame"); :func:`check_sample_sheet` checks what a per-row schema
cannot: unique files (or,
with the optional ``curve`` column, unique (file, curve): one multi-curve export may feed several rows),
the files exist, one measurement per (technique, sample, role, sphere_position), and that each file
still has the sha256 recorded in the sheet (provenance: a changed raw file stops the run before any job).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from qdanalysis.io.errors import RawDataError

SHEET_COLUMNS = ["file", "technique", "sample", "role", "series", "material", "treatment",
                 "temperature_C", "time_min", "etch_cycle", "sha256"]
KEY = ["technique", "sample", "role", "sphere_position"]
INTEGER_COLUMNS = ("temperature_C", "time_min", "etch_cycle")
FLOAT_COLUMNS = ("concentration_mg_L",)  # optional columns


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (TEM frames need not be held twice in memory).

    Parameters
    ----------
    path : str or Path
        The file to hash.

    Returns
    -------
    str
        The 64-character lower-case hex digest.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: str | Path, expected: str, digest: str | None = None) -> str:
    """The file's sha256 (or ``digest`` if already known), checked against the sheet's ``expected``.

    Parameters
    ----------
    path : str or Path
        The raw file.
    expected : str
        The hex sha256 recorded in the sample sheet.
    digest : str or None, optional
        The file's hex sha256 if already computed (e.g. from :class:`HashCache`). Default is None (hash
        the file).

    Returns
    -------
    str
        The file's hex sha256 (equal to ``expected``).

    Raises
    ------
    RawDataError
        Naming the file, if the digest differs from ``expected`` (the raw file changed).
    """
    digest = sha256_file(path) if digest is None else digest
    if digest != expected:
        raise RawDataError(path, None, f"sha256 {digest[:12]}... differs from the sample sheet "
                                       f"({str(expected)[:12]}...): the raw file changed")
    return digest


def read_sample_sheet(raw_dir: str | Path) -> pd.DataFrame:
    """Read ``raw_dir/samples.csv`` as strings (empty cells -> NA), numeric columns as Int64.

    The optional ``sphere_position`` and ``curve`` columns are added as all-NA when absent; the optional
    float columns (:data:`FLOAT_COLUMNS`, e.g. ``concentration_mg_L``) are read as float when present.

    Parameters
    ----------
    raw_dir : str or Path
        The raw-data directory holding ``samples.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per raw file; :data:`INTEGER_COLUMNS` (``temperature_C``, ``time_min``, ``etch_cycle``)
        as nullable Int64, the rest as strings with NA for empty cells.

    Raises
    ------
    RawDataError
        If the sheet is missing or not parseable as CSV, lacks a column of :data:`SHEET_COLUMNS`, or a
        numeric column holds a non-number (naming the line).
    """
    path = Path(raw_dir) / "samples.csv"
    if not path.is_file():
        raise RawDataError(path, None, "sample sheet not found")
    try:
        sheet = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise RawDataError(path, None, f"cannot parse as CSV: {err}") from None
    missing = [c for c in SHEET_COLUMNS if c not in sheet.columns]
    if missing:
        raise RawDataError(path, "line 1", f"missing column(s) {missing}")
    for optional in ("sphere_position", "curve"):
        if optional not in sheet:
            sheet[optional] = pd.NA
    for column in (*INTEGER_COLUMNS, *(c for c in FLOAT_COLUMNS if c in sheet)):
        numeric = pd.to_numeric(sheet[column], errors="coerce")
        bad = sheet[column].notna() & numeric.isna()
        if bad.any():
            line = int(bad.idxmax()) + 2
            raise RawDataError(path, f"line {line}", f"{column} is not a number: {sheet.at[bad.idxmax(), column]!r}")
        sheet[column] = numeric.astype("Int64") if column in INTEGER_COLUMNS else numeric.astype(float)
    return sheet


def validate_sample_sheet(sheet: pd.DataFrame, raw_dir: str | Path, schema_path: str | Path) -> None:
    """Check each row against the sheet schema; the error names samples.csv, the line and the column.

    Empty cells are left out of the record, as snakemake's ``validate`` does.

    Parameters
    ----------
    sheet : pandas.DataFrame
        The sheet as :func:`read_sample_sheet` returns it.
    raw_dir : str or Path
        The raw-data directory (names ``samples.csv`` in the error).
    schema_path : str or Path
        The JSON schema, as YAML (``schemas/samples.schema.yaml``).

    Raises
    ------
    RawDataError
        For the first row that violates the schema (best-matching error of that row).
    """
    import jsonschema
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    path = Path(raw_dir) / "samples.csv"
    for index, record in enumerate(sheet.to_dict("records")):
        record = {key: (value.item() if hasattr(value, "item") else value)
                  for key, value in record.items() if not pd.isna(value)}
        error = jsonschema.exceptions.best_match(validator.iter_errors(record))
        if error is not None:
            column = f"column {error.path[0]}: " if error.path else ""
            raise RawDataError(path, f"line {index + 2}", f"{column}{error.message}")


class HashCache:
    """sha256 of raw files remembered by (size, mtime in ns), so a rerun does not re-read every file.

    The pre-flight check runs at every ``snakemake`` invocation (and, on a cluster, in every job); with a
    thousand samples re-hashing gigabytes of micrographs each time would dominate a no-op run. A file
    whose size and modification time are unchanged is taken to have the hash computed before - the
    convention of git's index and of make. ``results/provenance.json`` always recomputes every hash.
    The cache is a JSON file in the working directory's ``.snakemake/``; it never lives in ``raw/``.

    Parameters
    ----------
    path : str or Path or None
        The JSON cache file; a missing or unreadable file starts an empty cache. None keeps the cache
        in memory only (nothing is saved).
    """

    def __init__(self, path: str | Path | None):
        import json

        self.path = None if path is None else Path(path)
        self.entries: dict[str, list] = {}
        self.changed = False
        if self.path is not None and self.path.is_file():
            try:
                self.entries = json.loads(self.path.read_text())
            except ValueError:
                self.entries = {}

    def sha256(self, path: Path) -> str:
        """The file's hex sha256, from the cache if its size and mtime are unchanged.

        A newly computed hash is remembered (and marks the cache as changed, for :meth:`save`).

        Parameters
        ----------
        path : Path
            The file to hash (keyed by its resolved path).

        Returns
        -------
        str
            The hex sha256 digest.
        """
        stat = path.stat()
        key = str(path.resolve())
        entry = self.entries.get(key)
        if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            return entry[2]
        digest = sha256_file(path)
        self.entries[key] = [stat.st_size, stat.st_mtime_ns, digest]
        self.changed = True
        return digest

    def save(self) -> None:
        """Write the cache (atomically, via a ``.tmp`` file) if it has a path and new entries."""
        import json

        if self.path is not None and self.changed:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.entries, sort_keys=True))
            tmp.replace(self.path)


def check_sample_sheet(sheet: pd.DataFrame, raw_dir: str | Path, *, check_hashes: bool = True,
                       hash_cache: str | Path | None = None) -> None:
    """Raise RawDataError (naming samples.csv and the line, or the raw file) for an inconsistent sheet.

    Checks: each file (or, with a ``curve`` column, each (file, curve)) is listed once, each
    (technique, sample, role, sphere_position) once, every file exists, and, with ``check_hashes``, its
    sha256 equals the sheet's.

    Parameters
    ----------
    sheet : pandas.DataFrame
        The sheet as :func:`read_sample_sheet` returns it.
    raw_dir : str or Path
        The raw-data directory the ``file`` column is relative to.
    check_hashes : bool, optional
        Verify every file's sha256 against the sheet. Default is True.
    hash_cache : str or Path or None, optional
        A JSON file remembering hashes by (size, mtime) (:class:`HashCache`); None re-hashes every file.
        Default is None.

    Raises
    ------
    RawDataError
        For a duplicated file (and curve), a duplicated key, a missing raw file, or a changed sha256.
    """
    raw_dir = Path(raw_dir)
    sheet_path = raw_dir / "samples.csv"
    # A multi-curve export may back several rows, one curve each; the same curve twice is a copy-paste slip.
    curves = sheet["curve"] if "curve" in sheet else pd.Series(pd.NA, index=sheet.index)
    duplicated = pd.DataFrame({"file": sheet["file"], "curve": curves.fillna("")}).duplicated(keep=False)
    if duplicated.any():
        line = int(duplicated.idxmax()) + 2
        curve = curves.loc[duplicated.idxmax()]
        which = "" if pd.isna(curve) else f" with curve {curve!r}"
        raise RawDataError(sheet_path, f"line {line}", f"file {sheet.at[duplicated.idxmax(), 'file']!r}{which} "
                                                       "is listed twice")
    key = sheet[KEY].fillna("")
    duplicated = key.duplicated(keep=False)
    if duplicated.any():
        line = int(duplicated.idxmax()) + 2
        raise RawDataError(sheet_path, f"line {line}",
                           f"duplicate (technique, sample, role, sphere_position) "
                           f"{tuple(key.loc[duplicated.idxmax()])}")
    cache = HashCache(hash_cache)
    for index, (file, expected) in enumerate(zip(sheet["file"], sheet["sha256"], strict=False)):
        path = raw_dir / file
        if not path.is_file():
            raise RawDataError(sheet_path, f"line {index + 2}", f"raw file {file!r} does not exist")
        if check_hashes:
            verify_sha256(path, expected, cache.sha256(path))
    cache.save()


def row_dict(row: pd.Series) -> dict:
    """A sheet row as a plain dict with NA -> None (what rules pass to scripts as params).

    Parameters
    ----------
    row : pandas.Series
        One row of the sample sheet.

    Returns
    -------
    dict
        Column name to value: :data:`INTEGER_COLUMNS` as int, :data:`FLOAT_COLUMNS` as float, the rest as
        written, NA as None.
    """
    return {key: (None if pd.isna(value) else (int(value) if key in INTEGER_COLUMNS
                                                else float(value) if key in FLOAT_COLUMNS else value))
            for key, value in row.items()}
