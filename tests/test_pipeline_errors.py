"""A pipeline step that fails on bad input says so in one line naming the file (no traceback), exits
non-zero, and a bug still shows its traceback (qdanalysis.pipeline.log_to, qdanalysis.errors)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qdanalysis.errors import AnalysisError, analysing

STEP = """
from qdanalysis.pipeline import log_to
log = log_to({log!r})
from qdanalysis.errors import AnalysisError, analysing
from qdanalysis.io.errors import RawDataError
{body}
"""


def _run(tmp_path, body):
    log = tmp_path / "step.log"
    script = tmp_path / "step.py"
    script.write_text(STEP.format(log=str(log), body=body))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    return result, log.read_text()


def test_analysis_error_is_one_line_naming_file_and_sample(tmp_path):
    result, log = _run(tmp_path, "with analysing('raw/uvvis/x.csv', 'S1'):\n"
                                 "    raise AnalysisError('no first-exciton peak in 400-750 nm')")
    assert result.returncode == 1
    assert log == "error: raw/uvvis/x.csv: sample S1: no first-exciton peak in 400-750 nm\n"
    assert result.stderr.strip() == log.strip()


def test_raw_data_error_is_one_line(tmp_path):
    result, log = _run(tmp_path, "raise RawDataError('raw/pl/x.csv', 'line 12', \"non-numeric value 'abc'\")")
    assert result.returncode == 1
    assert log.strip() == "error: raw/pl/x.csv, line 12: non-numeric value 'abc'"


def test_a_bug_keeps_its_traceback(tmp_path):
    result, log = _run(tmp_path, "{}['missing']")
    assert result.returncode == 1
    assert "Traceback" in log and "KeyError" in log


def test_analysing_names_several_files_and_keeps_an_inner_location():
    with pytest.raises(AnalysisError, match=r"^a\.csv, b\.csv: sample S: fit did not converge$"):
        with analysing(["a.csv", "b.csv"], "S"):
            raise AnalysisError("fit did not converge")
    with pytest.raises(AnalysisError, match=r"^inner\.csv: sample S: x$"):
        with analysing("outer.csv", "S"):
            raise AnalysisError("x", path="inner.csv")
