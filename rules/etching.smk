# Etching chemistry: ICP-OES In:Zn (Fig 2e) and ion-chromatography Br- (Fig 2f) of the etch
# supernatants, and the diffusion model fitted to the Br- profiles (Fig 2g, Arrhenius figure).
# ICP: one export per etch run (sheet row = the etched sample; Solution Labels etch1..etchN are the
# cycles). IC: one chromatogram per injection (blanks, standards with concentration_mg_L, supernatants).
# Settings: config["icp"], config["ic"], config["diffusion"].


rule quantify_icp:
    input:
        exports=[raw_file(f) for f in rows("icp", "measurement")["file"]],
    output:
        quantities=f"{OUT}/icp/quantities.csv",
        summary=f"{OUT}/icp/summary.csv",
        calibration=f"{OUT}/icp/calibration.csv",
    log:
        f"{OUT}/logs/quantify_icp.log",
    benchmark:
        f"{OUT}/benchmarks/quantify_icp.tsv"
    conda:
        "../envs/pipeline.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        rows=sample_metadata("icp"),
        settings=config["icp"],
    script:
        "../scripts/quantify_icp.py"


rule quantify_ic:
    input:
        chromatograms=[raw_file(f) for f in rows("ic")["file"]],
    output:
        quantities=f"{OUT}/ic/quantities.csv",
        summary=f"{OUT}/ic/summary.csv",
        peaks=f"{OUT}/ic/peaks.csv",
        calibration=f"{OUT}/ic/calibration.csv",
    log:
        f"{OUT}/logs/quantify_ic.log",
    benchmark:
        f"{OUT}/benchmarks/quantify_ic.tsv"
    conda:
        "../envs/pipeline.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        rows=sample_metadata("ic", role=None),
        settings=config["ic"],
    script:
        "../scripts/quantify_ic.py"


rule fit_diffusion:
    input:
        ic=f"{OUT}/ic/summary.csv",
        # etch radii from TEM when the sheet has TEM rows of the etching series, else config
        tem=[f"{OUT}/tem/summary.csv"] if samples("tem", series="etching") else [],
    output:
        quantities=f"{OUT}/diffusion/quantities.csv",
        arrhenius=report(
            f"{OUT}/diffusion/arrhenius.csv", caption="../report/diffusion_table.rst", category="Diffusion model"
        ),
        profiles=f"{OUT}/diffusion/profiles.csv",
        fit=f"{OUT}/diffusion/fit.json",
    log:
        f"{OUT}/logs/fit_diffusion.log",
    benchmark:
        f"{OUT}/benchmarks/fit_diffusion.tsv"
    conda:
        "../envs/pipeline.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        settings=config["diffusion"],
    script:
        "../scripts/fit_diffusion.py"


if samples("icp"):
    QUANTITY_TABLES.append(f"{OUT}/icp/quantities.csv")
if samples("ic"):
    QUANTITY_TABLES += [f"{OUT}/ic/quantities.csv", f"{OUT}/diffusion/quantities.csv"]


# ---------------------------------------------------------------- figures
# (stem, caption, category, inputs, whether the sheet has the data)
ETCHING_FIGURES = [
    ("Fig2e", "fig2e", "Figure 2", {"icp": f"{OUT}/icp/summary.csv"}, bool(samples("icp"))),
    ("Fig2f", "fig2f", "Figure 2", {"ic": f"{OUT}/ic/summary.csv"}, bool(samples("ic"))),
    ("Fig2g", "fig2g", "Figure 2", {"profiles": f"{OUT}/diffusion/profiles.csv"}, bool(samples("ic"))),
    (
        "FigArrhenius",
        "figarrhenius",
        "Diffusion model",
        {"arrhenius": f"{OUT}/diffusion/arrhenius.csv", "quantities": f"{OUT}/diffusion/quantities.csv"},
        bool(samples("ic")),
    ),
]

for _stem, _caption, _category, _inputs, _present in ETCHING_FIGURES:
    if not _present:
        continue
    FIGURES.append(f"{FIG}/{_stem}")

    rule:
        name:
            f"plot_{_stem.lower()}"
        input:
            **_inputs,
        output:
            pdf=report(f"{FIG}/{_stem}.pdf", caption=f"../report/{_caption}.rst", category=_category),
            png=f"{FIG}/{_stem}.png",
        log:
            f"{OUT}/logs/plot_{_stem}.log",
        localrule: True
        conda:
            "../envs/pipeline.yaml"
        params:
            figure=_stem,
            figure_temperatures_C=config["ic"].get("figure_temperatures_C"),
        script:
            "../scripts/plot_etching.py"
