"""Figure groups: every panel of a group drawn in one process (rule ``plot_<group>_figures``).

A panel spec (registered in ``rules/*.smk`` with ``add_figure``) names a *kind* - a function of this
package - its inputs (per-sample fit-record directories or summary tables under ``results/``), the
figure-specific parameters, and its PDF and PNG paths. The kinds only draw: they read records and tables
that the analysis steps wrote and never fit.

=================  ==================================================  =====================
kind               what it draws                                       module
=================  ==================================================  =====================
``spectra``        normalised PL (solid) and absorbance (dashed)       :mod:`.spectra`
``bars``           one quantity per sample, bars +- 1 sigma            :mod:`.bars`
``trend``          a quantity against a sheet variable, one line/group :mod:`.trend`
``decays``         normalised PL decays with fits, log axis, inset     :mod:`.decays`
``decay_residuals`` each decay with its fit and weighted residuals     :mod:`.decays`
=================  ==================================================  =====================
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from qdanalysis.figures import bars, decays, spectra, trend
from qdanalysis.plotting import use_style

KINDS: dict[str, Callable[[dict, dict, str, str], None]] = {
    "spectra": spectra.draw,
    "bars": bars.draw,
    "trend": trend.draw,
    "decays": decays.draw,
    "decay_residuals": decays.draw_residuals,
}


def draw_all(specs: list[dict], log: logging.Logger) -> None:
    """Draw every panel spec (keys ``stem``, ``kind``, ``inputs``, ``params``, ``pdf``, ``png``) in order.

    Parameters
    ----------
    specs : list of dict
        The panel specs: ``stem`` (figure name), ``kind`` (a key of :data:`KINDS`), ``inputs`` and
        ``params`` (dicts handed to the kind) and the ``pdf`` and ``png`` output paths.
    log : logging.Logger
        Receives one line per panel drawn.

    Raises
    ------
    ValueError
        A spec names an unknown kind.
    """
    use_style()
    for spec in specs:
        try:
            draw = KINDS[spec["kind"]]
        except KeyError:
            raise ValueError(f"figure {spec['stem']}: unknown figure kind {spec['kind']!r} "
                             f"(known: {', '.join(KINDS)})") from None
        draw(dict(spec["inputs"]), dict(spec["params"]), spec["pdf"], spec["png"])
        log.info("drew %s (%s) -> %s, %s", spec["stem"], spec["kind"], spec["pdf"], spec["png"])
