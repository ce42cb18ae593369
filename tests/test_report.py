"""Reproduction-report verdicts and Table S1 assembly on small hand-made tables."""

from __future__ import annotations

import pandas as pd
import pytest

from qdanalysis.report import markdown_table, reproduction_report, table_s1

REGENERATED = pd.DataFrame([
    ("plqy_percent", "a", 85.5, 0.3, "%", ""), ("plqy_percent", "b", 73.1, 0.3, "%", ""),
    ("pl_peak_nm", "a", 532.0, 0.05, "nm", ""), ("pl_peak_nm", "b", 531.95, 0.05, "nm", ""),
], columns=["quantity", "sample", "value", "uncertainty", "unit", "method"])


def claim(quantity, sample, published="", tolerance="", relation="equal", reference="", reference_quantity=""):
    return dict(quantity=quantity, sample=sample, published=published, unit="", tolerance=tolerance,
                relation=relation, reference_sample=reference, reference_quantity=reference_quantity,
                source="test")


def test_verdicts():
    published = pd.DataFrame([
        claim("plqy_percent", "a", "86", "2"),              # |85.5 - 86| <= 2 -> pass
        claim("plqy_percent", "b", "80", "2"),              # off by 6.9 -> fail
        claim("plqy_percent", "c", "50", "2"),              # not regenerated -> missing
        claim("plqy_percent", "a", relation="greater_than", reference="b"),  # 12 > 2 sigma -> pass
        claim("pl_peak_nm", "a", relation="greater_than", reference="b"),    # 0.05 < 2 sigma -> fail
        claim("plqy_percent", "a", relation="less_than", reference="b"),     # wrong sign -> fail
        claim("pl_peak_nm", "a", tolerance="0.1", relation="same_as", reference="b"),  # 0.05 apart -> pass
        claim("plqy_percent", "a", tolerance="1", relation="same_as", reference="b"),  # 12.4 apart -> fail
        claim("pl_peak_nm", "a", relation="greater_than", reference="noise", reference_quantity="level"),
        claim("pl_peak_nm", "a", tolerance="0", relation="greater_than", reference="b"),  # margin 0 -> pass
    ])
    noise = pd.DataFrame([("level", "noise", 500.0, float("nan"), "nm", "")], columns=REGENERATED.columns)
    report = reproduction_report(published, pd.concat([REGENERATED, noise]))
    # 532 > 500 with the noise level's missing uncertainty taken as zero -> pass
    assert list(report["verdict"]) == ["pass", "fail", "missing", "pass", "fail", "fail", "pass", "fail", "pass",
                                      "pass"]
    assert report.loc[0, "regenerated"] == 85.5 and report.loc[0, "uncertainty"] == 0.3


def test_unknown_relation_is_an_error():
    with pytest.raises(ValueError, match="unknown relation"):
        reproduction_report(pd.DataFrame([claim("plqy_percent", "a", relation="about")]), REGENERATED)


def test_table_s1_rows_and_missing_cells():
    table = table_s1(REGENERATED, ["b", "a", "z"], ["plqy_percent", "pl_peak_nm"])
    assert list(table["sample"]) == ["b", "a", "z"]
    assert table.loc[1, "plqy_percent"] == 85.5
    assert pd.isna(table.loc[2, "pl_peak_nm"])
    assert markdown_table(table).count("\n") == 5


def test_a_flagged_number_cannot_pass_silently():
    regenerated = REGENERATED.assign(flag="ok")
    regenerated.loc[0, "flag"] = "warn: emission truncated by the scan range"
    published = pd.DataFrame([
        claim("plqy_percent", "a", "86", "2"),                               # would pass, but flagged
        claim("plqy_percent", "a", "80", "2"),                               # fails anyway
        claim("plqy_percent", "b", relation="less_than", reference="a"),     # reference flagged
        claim("pl_peak_nm", "a", "532", "1"),                                # clean pass
    ])
    report = reproduction_report(published, regenerated)
    assert list(report["verdict"]) == ["warn", "fail", "warn", "pass"]
    assert report.loc[0, "flag"] == "warn: emission truncated by the scan range"
    assert report.loc[2, "flag"] == "warn: a: emission truncated by the scan range"
    assert report.loc[3, "flag"] == "ok"


def test_table_s1_markdown_footnotes_flagged_values():
    from qdanalysis.report import table_s1_markdown

    regenerated = REGENERATED.assign(flag="ok")
    regenerated.loc[1, "flag"] = "warn: fit rejected (deviance/dof 3.1)"
    table = table_s1(regenerated, ["a", "b"], ["plqy_percent"])
    assert list(table["plqy_percent_flag"]) == ["ok", "warn: fit rejected (deviance/dof 3.1)"]
    text = table_s1_markdown(table, ["plqy_percent"], {"plqy_percent": "%"})
    assert "73.10 ± 0.30 [1]" in text
    assert "[1] b, plqy_percent: fit rejected (deviance/dof 3.1)" in text


def test_a_claim_whose_reference_is_not_in_the_sheet_is_missing_not_failed():
    published = pd.DataFrame([claim("plqy_percent", "a", relation="greater_than", reference="absent"),
                              claim("plqy_percent", "a", "1", "0.5", relation="same_as", reference="absent"),
                              claim("plqy_percent", "b", relation="less_than", reference="a")])
    report = reproduction_report(published, REGENERATED)
    assert list(report["verdict"]) == ["missing", "missing", "pass"]


def test_table_s1_of_a_sheet_without_its_samples_is_a_header():
    """A sheet with none of Table S1's samples (one series only) gives the table's header, not a crash."""
    from qdanalysis.report import table_s1_markdown

    table = table_s1(REGENERATED, [], ["plqy_percent", "pl_peak_nm"])
    assert table.empty and list(table.columns[:4]) == ["sample", "plqy_percent", "plqy_percent_err",
                                                      "plqy_percent_flag"]
    text = table_s1_markdown(table, ["plqy_percent", "pl_peak_nm"], {"plqy_percent": "%", "pl_peak_nm": "nm"})
    assert text.count("\n") == 2 and text.startswith("| Sample |")


def test_quantity_flags_are_validated():
    from qdanalysis.results import Quantity, flag_from, merge_flags

    assert Quantity("q", "s", 1.0, float("nan"), "").flag == "ok"  # an upper limit, an index, ...
    with pytest.raises(ValueError, match="flag must be"):
        Quantity("q", "s", 1.0, 0.1, "", flag="bad")
    with pytest.raises(ValueError, match="no warn flag"):
        Quantity("q", "s", float("nan"), 0.1, "")
    assert Quantity("q", "s", float("nan"), 0.1, "", flag="warn: no fit").value != 0
    assert flag_from([]) == "ok" and flag_from(["a", "", "a", "b"]) == "warn: a; b"
    assert merge_flags("ok", "warn: a", "warn: b; a") == "warn: a; b"


def test_a_common_calibration_systematic_cancels_in_a_comparison_between_samples():
    """PLQYs 79 and 76 % with +-2.7 % total sigma, of which +-2.7 % sphere calibration shared by both:
    the difference of 3 % is significant (stat 0.1 each), though the totals overlap."""
    regenerated = pd.DataFrame([
        ("plqy_percent", "hot", 79.0, 2.77, "%", ""), ("plqy_percent", "cold", 76.0, 2.66, "%", ""),
        ("plqy_sys_percent", "hot", 2.765, float("nan"), "%", ""),
        ("plqy_sys_percent", "cold", 2.658, float("nan"), "%", ""),
    ], columns=["quantity", "sample", "value", "uncertainty", "unit", "method"])
    published = pd.DataFrame([claim("plqy_percent", "hot", relation="greater_than", reference="cold"),
                              claim("plqy_percent", "hot", "80", "2")])
    report = reproduction_report(published, regenerated)
    assert list(report["verdict"]) == ["pass", "pass"]
    assert report.loc[1, "uncertainty"] == 2.77  # the report still shows the total
    without_sys = reproduction_report(published, regenerated[regenerated["quantity"] == "plqy_percent"])
    assert without_sys.loc[0, "verdict"] == "fail"  # 3 < 2 * hypot(2.77, 2.66): the totals cannot show it
