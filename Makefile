# The two commands of the README. Each sets up .venv (Python 3.11 + pip only) on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 4

.PHONY: all test lint report raw clean bench bench-scale bench-recovery

$(BIN)/snakemake: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Regenerate every figure, Table S1 and the reproduction report from raw/.
all: $(BIN)/snakemake
	$(BIN)/snakemake --cores $(CORES)

# Run the test suite (CI calls exactly this): one worker per core (pytest-xdist), a test module's tests
# on one worker so a module's shared pipeline run is made once; the slowest tests are listed at the end.
test: $(BIN)/snakemake
	$(BIN)/python -m pytest -q -n auto --dist loadfile --durations=15

# Linters as CI runs them: ruff (Python), snakefmt (rules), Snakemake's own workflow lint
lint: $(BIN)/snakemake
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile rules/
	$(BIN)/snakemake --lint

report: all
	$(BIN)/snakemake --report report.html

# Rewrite the synthetic stand-in raw data (only on purpose: it changes committed files).
raw: $(BIN)/snakemake
	$(BIN)/python -m qdanalysis.simulate --out raw

# Clean build vs pure compute in one process, no-op, edit-one-file, each beside a baseline commit
# (BASELINE=<git ref>; default: the issue-12 baseline), measured in one run (rewrites the "Build
# benchmark" section of benchmarks/RESULTS.md).
BASELINE ?= 861e7bb
bench: $(BIN)/snakemake
	$(BIN)/python benchmarks/bench_build.py --baseline $(BASELINE) --write

# Wall time against the number of samples (prints Markdown; see benchmarks/RESULTS.md).
bench-scale: $(BIN)/snakemake
	$(BIN)/python benchmarks/bench_scale.py --sizes 10 100 --dry-run-sizes 1000

# Coverage and bias of every reported quantity over randomized truths (writes benchmarks/RECOVERY.md).
bench-recovery: $(BIN)/snakemake
	$(BIN)/python benchmarks/bench_recovery.py

clean:
	rm -rf results figures report.html .snakemake
