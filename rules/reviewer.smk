# Reviewer package (issue 13): the paper's figures as composites of the single-panel files, the
# regenerated numbers as LaTeX macros, the report's front page with the verdict, and one PDF dossier.
# Included last: it reads FIGURES and QUANTITY_TABLES after every technique has appended to them, and
# adds outputs only. The paper's figure layouts live in qdanalysis/data/figure_layouts.yaml.

from qdanalysis.composite import load_layouts, panels_made

LAYOUTS = load_layouts()
# Panel stems of each paper figure that this run draws (the others become placeholders); a
# composite is built when this data set has at least one of its data panels.
PANELS_MADE = {name: panels_made(layout, FIGURES) for name, layout in LAYOUTS.items()}
COMPOSITES = [name for name, stems in PANELS_MADE.items() if stems]

# The report's front page (Snakefile ``report:``): this run's verdict page once rule
# write_verdict_page has written it, else the static stand-in that says how to get it.
_VERDICT_RST = Path(OUT, "report_verdict.rst").resolve()
VERDICT_PAGE = str(_VERDICT_RST) if _VERDICT_RST.exists() else "report/workflow.rst"


# Every composite in one job (one interpreter start for all of them; issue 12).
if COMPOSITES:

    rule compose_figures:
        input:
            pdf=sorted({f"{FIG}/{stem}.pdf" for name in COMPOSITES for stem in PANELS_MADE[name]}),
            png=sorted({f"{FIG}/{stem}.png" for name in COMPOSITES for stem in PANELS_MADE[name]}),
        output:
            **{
                f"{name}_pdf": report(
                    f"{FIG}/{name}.pdf", caption="../report/composite.rst", category=LAYOUTS[name].category
                )
                for name in COMPOSITES
            },
            **{f"{name}_png": f"{FIG}/{name}.png" for name in COMPOSITES},
        log:
            f"{OUT}/logs/compose_figures.log",
        benchmark:
            f"{OUT}/benchmarks/compose_figures.tsv"
        localrule: True
        conda:
            "../envs/pipeline.yaml"
        params:
            figures=COMPOSITES,
        script:
            "../scripts/compose_figures.py"


rule write_numbers:
    input:
        quantities=QUANTITY_TABLES,
    output:
        tex=f"{OUT}/numbers.tex",
        json=f"{OUT}/numbers.json",
    log:
        f"{OUT}/logs/write_numbers.log",
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/write_numbers.py"


rule write_verdict_page:
    input:
        report=f"{OUT}/reproduction_report.csv",
    output:
        rst=f"{OUT}/report_verdict.rst",
    log:
        f"{OUT}/logs/write_verdict_page.log",
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    params:
        figures=[
            {
                "name": name,
                "title": layout.title,
                "category": layout.category,
                "panels_present": len(PANELS_MADE[name]),
                "panels_total": len(layout.stems),
                "built": name in COMPOSITES,
            }
            for name, layout in LAYOUTS.items()
        ],
        # report categories and result files that exist in this run: the page links only to these
        targets=sorted(
            {LAYOUTS[name].category for name in COMPOSITES}
            | {"Table S1", "Reproduction report", "reproduction_report.csv", "reproduction_dossier.pdf"}
        ),
        raw_dir=config["raw_dir"],
    script:
        "../scripts/write_verdict_page.py"


rule build_dossier:
    input:
        composites=[f"{FIG}/{name}.pdf" for name in COMPOSITES],
        report=f"{OUT}/reproduction_report.csv",
        table_s1=f"{OUT}/TableS1.csv",
        provenance=f"{OUT}/provenance.json",
    output:
        pdf=report(f"{OUT}/reproduction_dossier.pdf", caption="../report/dossier.rst", category="Reproduction report"),
    log:
        f"{OUT}/logs/build_dossier.log",
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    params:
        figures=list(LAYOUTS),
        composites=COMPOSITES,
    script:
        "../scripts/build_dossier.py"


REVIEWER_OUTPUTS = [
    *[f"{FIG}/{name}.{ext}" for name in COMPOSITES for ext in ("pdf", "png")],
    f"{OUT}/numbers.tex",
    f"{OUT}/numbers.json",
    f"{OUT}/report_verdict.rst",
    f"{OUT}/reproduction_dossier.pdf",
]
