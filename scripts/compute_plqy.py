"""Rule compute_plqy: three sphere scans -> absolute PLQY by de Mello (qdanalysis.plqy)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.io.fluoracle import read_emission_scan  # noqa: E402
from qdanalysis.plqy import de_mello, integrate_band  # noqa: E402
from qdanalysis.results import Quantity, fit_record, write_json  # noqa: E402

row, settings, curves = snakemake.params.row, snakemake.params.settings, snakemake.params.curves
excitation, emission = settings["excitation_window_nm"], settings["emission_window_nm"]
background = settings["background_window_nm"]


def bands(path, position):
    scan = read_emission_scan(path, curve=curves.get(position))
    return (integrate_band(scan.x, scan.counts, excitation, background),
            integrate_band(scan.x, scan.counts, emission, background))


la, _ = bands(snakemake.input.empty, "empty")
lc, ec = bands(snakemake.input.in_beam, "in_beam")
lb, eb = bands(snakemake.input.out_of_beam, "out_of_beam") if snakemake.input.out_of_beam else (None, None)
result = de_mello(la, lb, lc, eb, ec)
sample = row["sample"]
method = "de Mello three-measurement" if lb is not None else "de Mello two-measurement"
quantities = [
    Quantity("plqy_percent", sample, 100 * result.plqy, 100 * result.plqy_err, "%", method),
    Quantity("absorptance", sample, result.absorptance, result.absorptance_err, "", method),
    Quantity("plqy_two_measurement_percent", sample, 100 * result.plqy_two_measurement,
             100 * result.plqy_two_measurement_err, "%", "de Mello two-measurement"),
]
log.info("%s: PLQY %.2f +- %.2f %% (%s)", sample, 100 * result.plqy, 100 * result.plqy_err, method)
write_json(fit_record(row, quantities, integrals={
    "La": la.value, "Lb": None if lb is None else lb.value, "Lc": lc.value,
    "Eb": None if eb is None else eb.value, "Ec": ec.value}), snakemake.output.fit)
