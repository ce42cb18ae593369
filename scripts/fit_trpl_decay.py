"""Rule fit_trpl_decay: Fluoracle TCSPC decay + its series' IRF -> lifetimes (qdanalysis.trpl)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.errors import analysing  # noqa: E402
from qdanalysis.io.tcspc import read_tcspc_pair  # noqa: E402
from qdanalysis.results import fit_record, write_json  # noqa: E402
from qdanalysis.trpl import analyse_decay, decay_settings, quantities_from_summary  # noqa: E402

row, settings = snakemake.params.row, snakemake.params.settings
# decay or IRF is the sheet's role (measurement / irf), never the file's Type; the reader checks the pair
decay, irf = read_tcspc_pair(snakemake.input.decay, snakemake.input.irf, decay_curve=row.get("curve"),
                             irf_curve=snakemake.params.irf_row.get("curve"))
with analysing([snakemake.input.decay, snakemake.input.irf], row["sample"]):
    analysis = analyse_decay(decay.time_ns, decay.counts, irf.time_ns, irf.counts,
                             period_ns=decay.repetition_period_ns, **decay_settings(settings))
fit, summary = analysis.fit, analysis.summary()
log.info("%s: %d-exp, tau %s ns (+- %s), A1 %.3f, <tau>_int %.2f ns, %s, %s; %s", row["sample"],
         fit.n_exponentials, fit.tau_ns, fit.tau_err_ns, fit.amplitude_fractions[0], fit.tau_avg_int_ns,
         fit.check.describe(), fit.message, analysis.flag)
curves = {key: [round(float(v), 6) for v in values] for key, values in fit.curves().items()
          if key != "fit_mask"}
write_json(fit_record(row, quantities_from_summary(summary, row["sample"]), fit=summary,
                      irf_file=snakemake.input.irf, curves=curves), snakemake.output.fit)
