"""Rule fit_xps_spectrum: one sample's VAMAS file -> charge-corrected core-level fits (qdanalysis.xps)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.io.vamas import read_vamas  # noqa: E402
from qdanalysis.results import fit_record, write_json  # noqa: E402
from qdanalysis.xps import REGIONS  # noqa: E402
from qdanalysis.xps import fit_sample, sample_fit_details, sample_quantities, settings_with_defaults  # noqa: E402

row = snakemake.params.row
settings = settings_with_defaults(snakemake.params.settings)
experiment = read_vamas(snakemake.input.spectrum)
# Block labels are matched to the configured regions without regard to spaces or case ('I3d' = 'I 3d').
blocks, unmatched = experiment.regions(REGIONS)
for block in unmatched:
    log.info("%s: block %d %r (%s) is not fitted: no region entry named %r (known: %s)", experiment.path,
             block.index, block.block_id, block.label, block.label, ", ".join(REGIONS))
spectra = {name: (block.binding_energy_ev, block.counts_per_second, block.cps_uncertainty)
           for name, block in blocks.items()}
result = fit_sample(row["sample"], spectra, row.get("treatment"), settings)
log.info("%s: charge shift %+.3f +- %.3f eV", row["sample"], result.charge.shift_ev, result.charge.fitted_stderr)
for label, region in result.regions.items():
    states = ", ".join(f"{s.name} {s.center_ev:.2f} eV ({100 * s.area_fraction:.1f} %)" for s in region.states)
    log.info("  %s: %s; reduced chi2 %.2f", label, states, region.redchi)
    last = region.model_checks[-1]
    if last.f_test_p is not None and last.f_test_p > 0.01:
        log.warning("  %s: the last of %d states is not justified (F-test p = %.3g)", label, last.n_states,
                    last.f_test_p)
write_json(fit_record(row, sample_quantities(result), **sample_fit_details(result)), snakemake.output.fit)
