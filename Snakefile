# Reproducible pipeline for Yuan et al., "Interface defects repair of core/shell quantum dots
# through halide ion penetration", Chem. Sci. 2023, 14, 13119 (doi:10.1039/d3sc04136k).
# This file is the table of contents: config, sample sheet, one include per technique, rule all.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/optical.smk"
include: "rules/trpl.smk"
include: "rules/xps.smk"
include: "rules/xrd.smk"
include: "rules/tem.smk"
include: "rules/etching.smk"
include: "rules/figures.smk"
include: "rules/report.smk"
include: "rules/provenance.smk"
include: "rules/reviewer.smk"


# The HTML report opens on the reproduction verdict (rules/reviewer.smk, rule write_verdict_page).
report: VERDICT_PAGE


rule all:
    default_target: True
    input:
        expand("{stem}.{ext}", stem=FIGURES, ext=("pdf", "png")),
        f"{OUT}/TableS1.csv",
        f"{OUT}/TableS1.md",
        f"{OUT}/reproduction_report.csv",
        f"{OUT}/reproduction_report.md",
        f"{OUT}/provenance.json",
        REVIEWER_OUTPUTS,
        f"{OUT}/run_check.txt",
