# XPS: VAMAS files -> charge-corrected core-level fits -> Figs 1e, 4d, 4e, S3c, S4 and
# results/xps/quantities.csv (In 3d / Cd 3d positions, In-X area fractions, halogen lines).


rule fit_xps_spectrum:
    input:
        spectrum=get_raw_file("xps"),
    output:
        fit=f"{OUT}/xps/fits/{{sample}}.json",
    log:
        f"{OUT}/logs/fit_xps_spectrum/{{sample}}.log",
    benchmark:
        f"{OUT}/benchmarks/fit_xps_spectrum/{{sample}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        row=get_sheet_row("xps"),
        settings=config.get("xps", {}),
    script:
        "../scripts/fit_xps_spectrum.py"


rule collect_xps:
    input:
        fits=fits("xps", samples("xps")),
    output:
        quantities=f"{OUT}/xps/quantities.csv",
        summary=f"{OUT}/xps/summary.csv",
    log:
        f"{OUT}/logs/collect_xps.log",
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/collect_fits.py"


if samples("xps"):
    QUANTITY_TABLES.append(f"{OUT}/xps/quantities.csv")


# ---------------------------------------------------------------- figures
# (figure stem, caption, category, samples, regions (one panel each), panel letters)
_HALIDE_SAMPLES = xps_samples(["halide_treatment", "oam_halide_control"])
XPS_FIGURES = [
    ("Fig1e", "fig1e", "Figure 1", xps_samples("halide_treatment"), ["In 3d"], ["e"]),
    ("Fig4d", "fig4d", "Figure 4", xps_samples("oxidized_core", "CdSe/ZnS"), ["Cd 3d"], ["d"]),
    ("Fig4e", "fig4e", "Figure 4", xps_samples("oxidized_core", "InP/ZnSeS"), ["In 3d"], ["e"]),
    ("FigS3c", "figs3c", "ESI Figure S3", xps_samples("oam_halide_control"), ["In 3d"], ["c"]),
    ("FigS4", "figs4", "ESI Figure S4", _HALIDE_SAMPLES, ["Cl 2p", "Br 3d", "I 3d"], ["a", "b", "c"]),
]

for _stem, _caption, _category, _samples, _regions, _letters in XPS_FIGURES:
    if not _samples:
        continue
    FIGURES.append(f"{FIG}/{_stem}")

    rule:
        name:
            f"plot_{_stem.lower()}"
        input:
            fits=fits("xps", _samples),
        output:
            pdf=report(f"{FIG}/{_stem}.pdf", caption=f"../report/{_caption}.rst", category=_category),
            png=f"{FIG}/{_stem}.png",
        log:
            f"{OUT}/logs/plot_{_stem}.log",
        localrule: True
        conda:
            "../envs/pipeline.yaml"
        params:
            samples=_samples,
            regions=_regions,
            letters=_letters,
        script:
            "../scripts/plot_xps.py"
