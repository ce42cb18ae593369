"""The single error type every reader raises for malformed raw input."""

from __future__ import annotations

from pathlib import Path


class RawDataError(ValueError):
    """A raw file (or sample-sheet row) that cannot be read as its format requires.

    The message always names the file and, where known, the line or block, so a user can go straight
    to the offending place: ``raw/pl/x.csv, line 12: non-numeric value 'abc'``.

    Parameters
    ----------
    path : str or Path
        The offending file (kept as ``self.path``, a str).
    where : str or None
        Where in the file (``"line 12"``, ``"block 3"``, ``"header"``), or None for the whole file.
    what : str
        What is wrong.
    """

    def __init__(self, path: str | Path, where: str | None, what: str):
        self.path = str(path)
        self.where = where
        self.what = what
        location = f"{self.path}, {where}" if where else self.path
        super().__init__(f"{location}: {what}")
