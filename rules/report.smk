# Table S1 and the reproduction report: built only from the techniques' quantities tables.
# published.csv is read here and nowhere else.


rule build_table_s1:
    input:
        quantities=QUANTITY_TABLES,
    output:
        csv=report(f"{OUT}/TableS1.csv", caption="../report/table_s1.rst", category="Table S1"),
        md=f"{OUT}/TableS1.md",
    log:
        f"{OUT}/logs/build_table_s1.log",
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    params:
        # samples only: the series' TRPL IRF and XRD line standard are references, not rows of the table
        samples=list(
            dict.fromkeys(SHEET[SHEET["series"].isin(TABLE_S1_SERIES) & (SHEET["role"] == "measurement")]["sample"])
        ),
        quantities=TABLE_S1_QUANTITIES,
    script:
        "../scripts/build_table_s1.py"


rule build_reproduction_report:
    input:
        quantities=QUANTITY_TABLES,
        published=config["published"],
    output:
        csv=report(
            f"{OUT}/reproduction_report.csv",
            caption="../report/reproduction_report.rst",
            category="Reproduction report",
        ),
        md=f"{OUT}/reproduction_report.md",
    log:
        f"{OUT}/logs/build_reproduction_report.log",
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/build_reproduction_report.py"


# Batch jobs keep going past a sample whose raw file cannot be read or analysed (qdanalysis.batch), so
# the other samples' tables and figures are still written; this terminal check then fails the run,
# repeating each failure's one-line error, until the file is fixed.
rule check_failures:
    input:
        failures=FAILURE_TABLES,
    output:
        checked=f"{OUT}/run_check.txt",
    log:
        f"{OUT}/logs/check_failures.log",
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/check_failures.py"
