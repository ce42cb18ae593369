"""Rule fit_trpl_decay: Fluoracle TCSPC decay + its series' IRF -> lifetimes (qdanalysis.trpl)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.io.tcspc import read_tcspc_pair  # noqa: E402
from qdanalysis.trpl import fit_decay, quantities_from_summary  # noqa: E402
from qdanalysis.results import fit_record, write_json  # noqa: E402

row, settings = snakemake.params.row, snakemake.params.settings
# decay or IRF is the sheet's role (measurement / irf), never the file's Type; the reader checks the pair
decay, irf = read_tcspc_pair(snakemake.input.decay, snakemake.input.irf, decay_curve=row.get("curve"),
                             irf_curve=snakemake.params.irf_row.get("curve"))
fit = fit_decay(decay.time_ns, decay.counts, irf.counts,
                n_exponentials=settings.get("n_exponentials", 2),
                objective=settings.get("objective", "poisson"),
                period_ns=decay.repetition_period_ns)
summary = fit.summary()
log.info("%s: tau %s ns (+- %s), A1 %.3f, <tau>_int %.2f ns, dev/dof %.3f, %s", row["sample"], fit.tau_ns,
         fit.tau_err_ns, fit.amplitude_fractions[0], fit.tau_avg_int_ns, fit.deviance_per_dof, fit.message)
curves = {key: [round(float(v), 6) for v in values] for key, values in fit.curves().items()
          if key != "fit_mask"}
write_json(fit_record(row, quantities_from_summary(summary, row["sample"]), fit=summary,
                      irf_file=snakemake.input.irf, curves=curves), snakemake.output.fit)
