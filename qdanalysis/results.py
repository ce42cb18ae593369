"""Typed results shared by every technique: one regenerated number with its uncertainty.

Every technique's collect rule writes ``results/<technique>/quantities.csv`` with the columns of
:data:`QUANTITY_COLUMNS`; Table S1 and the reproduction report are built only from those tables,
so a new technique joins the report by writing one more such table.

Quality flags. Every number carries a ``flag``: ``"ok"``, or ``"warn: <reason>"`` when the analysis
found a reason not to trust it as printed (a fit model the data reject, an emission band cut by the
scan range, an uncertainty that could not be computed). A flagged number is still reported - the
reason travels with it into Table S1 (marker and footnote) and the reproduction report (where it
cannot pass silently) - so one doubtful sample never empties a shared table. :func:`flag_from` builds
the flag from a list of reasons; :func:`merge_flags` combines the flags of numbers a derived number
is computed from.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

QUANTITY_COLUMNS = ["quantity", "sample", "value", "uncertainty", "unit", "method", "flag"]
OK = "ok"
WARN_PREFIX = "warn: "


@dataclass(frozen=True)
class Estimate:
    """A fitted or derived number with its 1-sigma uncertainty (NaN when not determined).

    Attributes
    ----------
    value : float
        The number.
    uncertainty : float
        Its 1-sigma uncertainty, NaN when not determined.
    """

    value: float
    uncertainty: float


@dataclass(frozen=True)
class Quantity:
    """One regenerated number: ``value +- uncertainty`` (1 sigma) in ``unit`` for ``sample``.

    A NaN ``uncertainty`` means "none by nature" (an etch-cycle index, an upper limit, a noise level);
    a fit that should have given one and did not must say so with a warn ``flag``.

    Attributes
    ----------
    quantity : str
        Quantity id, e.g. ``plqy_percent``.
    sample : str
        Sample id.
    value : float
        The number (NaN only with a warn flag).
    uncertainty : float
        Its 1-sigma uncertainty.
    unit : str
        Unit (``""`` for dimensionless).
    method : str
        How it was obtained. Default is "".
    flag : str
        ``'ok'`` (default) or ``'warn: <reason>'``.

    Raises
    ------
    ValueError
        On construction, for a malformed flag or a non-finite value without a warn flag.
    """

    quantity: str
    sample: str
    value: float
    uncertainty: float
    unit: str
    method: str = ""
    flag: str = OK

    def __post_init__(self):
        if self.flag != OK and not (self.flag.startswith(WARN_PREFIX) and len(self.flag) > len(WARN_PREFIX)):
            raise ValueError(f"{self.quantity} for {self.sample}: flag must be 'ok' or 'warn: <reason>', "
                             f"got {self.flag!r}")
        if not math.isfinite(self.value) and self.flag == OK:
            raise ValueError(f"{self.quantity} for {self.sample} is not finite ({self.value}) and carries "
                             "no warn flag saying why")

    @property
    def ok(self) -> bool:
        return self.flag == OK


def flag_from(reasons) -> str:
    """``'ok'`` for no reasons, else ``'warn: r1; r2'`` (empty and repeated reasons dropped).

    Parameters
    ----------
    reasons : iterable of str
        Reasons not to trust the number as printed.

    Returns
    -------
    str
        The flag.
    """
    kept = list(dict.fromkeys(str(r).strip() for r in reasons if r and str(r).strip()))
    return WARN_PREFIX + "; ".join(kept) if kept else OK


def flag_reasons(flag: str | None) -> list[str]:
    """The reasons of a flag (``[]`` for ``'ok'``, missing or NaN).

    Parameters
    ----------
    flag : str or None
        A flag as :func:`flag_from` builds it (any non-string counts as none).

    Returns
    -------
    list of str
        The reasons, in order.
    """
    if not isinstance(flag, str) or not flag.startswith(WARN_PREFIX):
        return []
    return [r.strip() for r in flag[len(WARN_PREFIX):].split(";") if r.strip()]


def merge_flags(*flags: str | None) -> str:
    """Flag of a number derived from others: the union of their reasons.

    Parameters
    ----------
    *flags : str or None
        Flags of the numbers it is computed from.

    Returns
    -------
    str
        ``'ok'`` or ``'warn: <reasons>'``, each reason once, in order of first appearance.
    """
    return flag_from([reason for flag in flags for reason in flag_reasons(flag)])


def quantities_frame(quantities: list[Quantity]) -> pd.DataFrame:
    """Rows sorted by (quantity, sample) so the written table is independent of job order.

    Parameters
    ----------
    quantities : list of Quantity
        The regenerated numbers.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`QUANTITY_COLUMNS`, one row per quantity.
    """
    frame = pd.DataFrame([asdict(q) for q in quantities], columns=QUANTITY_COLUMNS)
    return frame.sort_values(["quantity", "sample"], kind="stable").reset_index(drop=True)


def write_table(frame: pd.DataFrame, path: str | Path, float_format: str = "%.6g") -> None:
    """Write a CSV with fixed float formatting and LF line endings (byte-stable across runs).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table (written without its index).
    path : str or pathlib.Path
        Output CSV (parent directories are created).
    float_format : str, optional
        printf-style float format. Default is "%.6g".
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format=float_format, lineterminator="\n")


def read_quantities(paths: list[str | Path]) -> pd.DataFrame:
    """Concatenate quantities tables, checking each has the contract's columns.

    Parameters
    ----------
    paths : list of str or pathlib.Path
        ``quantities.csv`` files.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`QUANTITY_COLUMNS` (a missing flag read as ``'ok'``); empty with those columns
        when ``paths`` is empty.

    Raises
    ------
    ValueError
        A table lacks one of the columns.
    """
    frames = []
    for path in paths:
        frame = pd.read_csv(path)
        missing = set(QUANTITY_COLUMNS) - set(frame.columns)
        if missing:
            raise ValueError(f"{path}: quantities table lacks columns {sorted(missing)}")
        frames.append(frame[QUANTITY_COLUMNS].fillna({"flag": OK}))
    if not frames:
        return pd.DataFrame(columns=QUANTITY_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def _jsonable(value):
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return round(value, 10) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def write_json(payload: dict, path: str | Path) -> None:
    """Write a result record as sorted, rounded JSON (byte-stable; NaN -> null).

    Floats are rounded to 10 decimal places; numpy scalars and arrays become plain JSON types.

    Parameters
    ----------
    payload : dict
        The record.
    path : str or pathlib.Path
        Output file (parent directories are created).
    """
    import json

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(_jsonable(payload), indent=1, sort_keys=True, allow_nan=False) + "\n")


def read_json(path: str | Path) -> dict:
    """Read a JSON result record.

    Parameters
    ----------
    path : str or pathlib.Path
        The JSON file.

    Returns
    -------
    dict
        The parsed record (nulls as None).
    """
    import json

    return json.loads(Path(path).read_text())


def fit_record(row: dict, quantities: list[Quantity], **details) -> dict:
    """The per-sample fit file: the sheet row, the regenerated quantities, and any curves/details.

    Parameters
    ----------
    row : dict
        The sample-sheet row (must hold ``sample``).
    quantities : list of Quantity
        The sample's regenerated numbers.
    **details
        Further entries of the record (curves, fit parameters, ...).

    Returns
    -------
    dict
        ``sample``, ``row``, ``quantities`` (as dicts) and the ``details``.
    """
    return {"sample": row["sample"], "row": row, "quantities": [asdict(q) for q in quantities], **details}


def collect_fit_records(records: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(long quantities table, wide per-sample summary with sheet metadata) from fit records.

    Parameters
    ----------
    records : list of dict
        Fit records as :func:`fit_record` builds them.

    Returns
    -------
    long : pandas.DataFrame
        Columns :data:`QUANTITY_COLUMNS`, sorted by (quantity, sample).
    summary : pandas.DataFrame
        One row per sample, sorted by sample: the sheet metadata (``sample``, ``series``,
        ``material``, ``treatment``, ``temperature_C``, ``time_min``, ``etch_cycle``) and, per quantity
        ``q``, columns ``q``, ``q_err`` and ``q_flag``; header only when there are no records.
    """
    quantities = [Quantity(**q) for record in records for q in record["quantities"]]
    long = quantities_frame(quantities)
    meta_keys = ["sample", "series", "material", "treatment", "temperature_C", "time_min", "etch_cycle"]
    wide_rows = []
    for record in records:
        wide = {key: record["row"].get(key) for key in meta_keys}
        for q in record["quantities"]:
            wide[q["quantity"]] = q["value"]
            wide[q["quantity"] + "_err"] = q["uncertainty"]
            wide[q["quantity"] + "_flag"] = q.get("flag", OK)
        wide_rows.append(wide)
    # every sample may have failed (a batch job still writes its tables): a header-only summary then
    summary = pd.DataFrame(wide_rows, columns=None if wide_rows else meta_keys)
    return long, summary.sort_values("sample", kind="stable").reset_index(drop=True)
