"""Rule compute_plqy: sphere scans -> absolute PLQY by de Mello, windows from the data (qdanalysis.plqy)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.errors import AnalysisError, analysing  # noqa: E402
from qdanalysis.io.fluoracle import read_emission_scan  # noqa: E402
from qdanalysis.plqy import analyse_plqy, plqy_quantities  # noqa: E402
from qdanalysis.results import fit_record, write_json  # noqa: E402

row, settings, curves = snakemake.params.row, snakemake.params.settings, snakemake.params.curves
sample = row["sample"]
paths = [snakemake.input.empty, snakemake.input.in_beam, snakemake.input.out_of_beam or None]
empty = read_emission_scan(paths[0], curve=curves.get("empty"))
in_beam = read_emission_scan(paths[1], curve=curves.get("in_beam"))
out_of_beam = read_emission_scan(paths[2], curve=curves.get("out_of_beam")) if paths[2] else None
with analysing(paths, sample):
    for name, scan in (("in-beam", in_beam), ("out-of-beam", out_of_beam)):
        if scan is not None and (scan.x.shape != empty.x.shape or (scan.x != empty.x).any()):
            raise AnalysisError(f"the {name} scan's wavelength grid differs from the blank's")
    analysis = analyse_plqy(empty.x, empty.counts, in_beam.counts, None if out_of_beam is None else out_of_beam.counts,
                            excitation_window_nm=settings["excitation_window_nm"],
                            emission_window_nm=settings["emission_window_nm"],
                            background_window_nm=settings["background_window_nm"],
                            sys_relative=settings["calibration_sys_relative"])
quantities = plqy_quantities(analysis, sample)
result = analysis.result
log.info("%s: PLQY %.2f +- %.2f (stat) +- %.2f (sys) %%; excitation line %.1f nm, window %.1f-%.1f nm; "
         "emission %.1f-%.1f nm", sample, 100 * result.plqy, 100 * result.plqy_err, 100 * analysis.plqy_sys,
         analysis.excitation.peak_nm, *analysis.excitation.window_nm, *analysis.emission_window_nm)
for reason in analysis.reasons:
    log.warning("%s: %s", sample, reason)
write_json(fit_record(row, quantities, integrals=analysis.integrals,
                      excitation_line_nm=analysis.excitation.peak_nm,
                      excitation_window_nm=list(analysis.excitation.window_nm),
                      emission_window_nm=list(analysis.emission_window_nm)), snakemake.output.fit)
