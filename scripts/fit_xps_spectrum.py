"""Rule fit_xps_spectrum: one sample's VAMAS file -> charge-corrected core-level fits (qdanalysis.xps)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.errors import analysing
from qdanalysis.io.vamas import read_vamas
from qdanalysis.results import fit_record, write_json
from qdanalysis.xps import (
    REGIONS,
    fit_sample,
    region_spectra,
    sample_fit_details,
    sample_quantities,
    settings_with_defaults,
)

row = snakemake.params.row
settings = settings_with_defaults(snakemake.params.settings)
experiment = read_vamas(snakemake.input.spectrum)
# Block labels are matched to the configured regions without regard to spaces or case ('I3d' = 'I 3d').
spectra, unmatched = region_spectra(experiment)
for block in unmatched:
    log.info("%s: block %d %r (%s) is not fitted: no region entry named %r (known: %s)", experiment.path,
             block.index, block.block_id, block.label, block.label, ", ".join(REGIONS))
with analysing(snakemake.input.spectrum, row["sample"]):  # errors name the region; this adds file and sample
    result = fit_sample(row["sample"], spectra, row.get("treatment"), settings)
log.info("%s: charge shift %+.3f +- %.3f eV", row["sample"], result.charge.shift_ev, result.charge.fitted_stderr)
for label, region in result.regions.items():
    states = ", ".join(f"{s.name} {s.center_ev:.2f} eV ({100 * s.area_fraction:.1f} %)" for s in region.states)
    log.info("  %s: %s; %s(%d), reduced chi2 %.2f", label, states, region.lineshape, round(100 * region.mixing),
             region.redchi)
    for reasons in region.flags.values():
        log.warning("  flag: %s", "; ".join(reasons))
    last = region.model_checks[-1]
    if last.f_test_p is not None and last.f_test_p > 0.01:
        log.warning("  %s: the last of %d states is not justified (F-test p = %.3g)", label, last.n_states,
                    last.f_test_p)
write_json(fit_record(row, sample_quantities(result), **sample_fit_details(result)), snakemake.output.fit)
