"""Per-sample fit records of a batch job (``results/<technique>/fits/<sample>.json``), as the kinds read them."""

from __future__ import annotations

from pathlib import Path

from qdanalysis.results import read_json


def records(directory: str, samples: list[str]) -> dict[str, dict]:
    """The records of ``samples`` found in ``directory`` (a failed sample has none; it is left out),
    keyed by sample, in the order given. An empty ``directory`` (technique not in the sheet) gives {}.

    Parameters
    ----------
    directory : str
        Directory of ``<sample>.json`` fit records, or ``""``.
    samples : list of str
        Sample ids, in the order wanted.

    Returns
    -------
    dict of str to dict
        The records found, by sample id.
    """
    if not directory:
        return {}
    found = {}
    for sample in samples:
        path = Path(directory) / f"{sample}.json"
        if path.exists():
            found[sample] = read_json(path)
    return found
