"""Small shared helpers for the text-format readers: decoding and numeric parsing with locations."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from qdanalysis.io.errors import RawDataError


def read_text_lines(path: str | Path, *, allow_utf16: bool = False, hint: str = "",
                    nul_padding: bool = False) -> list[str]:
    """Return the file's lines, or raise RawDataError for a missing, empty, binary or non-UTF-8 file.

    Instrument software writes ASCII or UTF-8 (a BOM is tolerated), and some (Chromeleon's "Unicode"
    export) UTF-16 with a byte-order mark (``allow_utf16``); anything else is refused rather than
    guessed, because a wrong guess silently turns 'µS' or '°C' into junk.

    Parameters
    ----------
    path : str or Path
        The text file to read.
    allow_utf16 : bool, optional
        Accept UTF-16 text that starts with a byte-order mark. Default is False.
    hint : str, optional
        Appended to the encoding error (e.g. how to re-export). Default is ``""`` (no hint).
    nul_padding : bool, optional
        Drop NUL bytes that end a line (C-string padding, as PHI MultiPak leaves after VAMAS text
        fields); a NUL anywhere else is still binary. Default is False.

    Returns
    -------
    list of str
        The decoded lines, without line endings.

    Raises
    ------
    RawDataError
        If the file is missing, a directory, empty, binary (NUL bytes) or not valid UTF-8 (or UTF-16
        with a byte-order mark, when allowed); the encoding error names the line.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RawDataError(path, None, "file not found") from None
    except IsADirectoryError:
        raise RawDataError(path, None, "is a directory, not a file") from None
    if not raw.strip():
        raise RawDataError(path, None, "file is empty")
    if allow_utf16 and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.decode("utf-16").splitlines()
        except UnicodeDecodeError:
            raise RawDataError(path, None, "UTF-16 byte-order mark but not valid UTF-16 text") from None
    if nul_padding:
        raw = re.sub(rb"\x00+(?=\r?\n|\r|\Z)", b"", raw)
    if b"\x00" in raw:
        raise RawDataError(path, None, "binary content (NUL bytes); expected a text export")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise RawDataError(path, f"line {line}", "not valid UTF-8 text" + (f" ({hint})" if hint else "")) from None
    return text.splitlines()


def parse_float(path: str | Path, lineno: int, token: str, what: str) -> float:
    """Parse one number; non-numeric, NaN and infinite values are errors naming the line.

    Parameters
    ----------
    path : str or Path
        The file the token comes from (for the error message).
    lineno : int
        1-based line number of the token (for the error message).
    token : str
        The text to parse.
    what : str
        What the number is (e.g. ``"wavelength"``), used in the error message.

    Returns
    -------
    float
        The finite value.

    Raises
    ------
    RawDataError
        If ``token`` is not a number or is NaN or infinite.
    """
    try:
        value = float(token)
    except ValueError:
        raise RawDataError(path, f"line {lineno}", f"non-numeric {what} {token.strip()!r}") from None
    if not np.isfinite(value):
        raise RawDataError(path, f"line {lineno}", f"{what} is not finite ({token.strip()})")
    return value


def check_monotonic(path: str | Path, x: np.ndarray, name: str, first_line: int) -> None:
    """Require a strictly monotonic axis (either direction); name the first offending line.

    Parameters
    ----------
    path : str or Path
        The file the axis comes from (for the error message).
    x : numpy.ndarray, shape (n,)
        The axis values, in file order. Fewer than two values always pass.
    name : str
        Name of the axis (e.g. ``"wavelength"``), used in the error message.
    first_line : int
        1-based line number of ``x[0]`` in the file, so the error can name the offending line.

    Raises
    ------
    RawDataError
        If two consecutive steps differ in sign or a step is zero.
    """
    if x.size < 2:
        return
    steps = np.diff(x)
    sign = np.sign(steps[0])
    bad = np.flatnonzero(np.sign(steps) != sign) if sign != 0 else np.array([0])
    if bad.size:
        raise RawDataError(path, f"line {first_line + bad[0] + 1}",
                           f"{name} axis is not strictly monotonic")
