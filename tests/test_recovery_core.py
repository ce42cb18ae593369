"""The recovery benchmark's statistics (benchmarks/recovery/core.py) on draws with known pull laws."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd

from benchmarks.recovery import core


def _draws(pulls, flags=None, case="c"):
    flags = flags if flags is not None else ["ok"] * len(pulls)
    return pd.DataFrame({"group": "g", "case": case, "draw": range(len(pulls)), "quantity": "q",
                         "truth": 10.0, "value": 10.0 + 0.5 * np.asarray(pulls), "sigma": 0.5, "flag": flags,
                         "pull": pulls, "failed": ""})


def test_calibrated_pulls_meet_the_target_and_biased_ones_do_not():
    rng = np.random.default_rng(1)
    calibrated = core.summarise(_draws(rng.standard_normal(4000)))
    assert calibrated.loc[0, "coverage"] == pytest_approx(0.954, 0.01)
    assert abs(calibrated.loc[0, "bias_sigma"]) < 0.05 and calibrated.loc[0, "meets_target"]
    understated = core.summarise(_draws(2.0 * rng.standard_normal(4000)))  # sigma half the real spread
    assert understated.loc[0, "coverage"] < 0.75 and not understated.loc[0, "meets_target"]
    biased = core.summarise(_draws(rng.standard_normal(4000) + 0.7))
    assert biased.loc[0, "bias_sigma"] > 0.6 and not biased.loc[0, "meets_target"]


def test_flagged_and_failed_draws_are_counted_apart():
    draws = _draws([0.1, -0.3, 5.0, 0.2], flags=["ok", "ok", "warn: model inadequate", "ok"])
    failed = pd.DataFrame([{"group": "g", "case": "c", "draw": 4, "quantity": None, "failed": "x.csv: no peak"}])
    stats = core.summarise(pd.concat([draws, failed], ignore_index=True))
    row = stats.iloc[0]
    assert (row["draws"], row["ok"], row["flagged"], row["failed"]) == (5, 3, 1, 1)
    assert row["coverage"] == 1.0 and row["flagged_coverage"] == 0.0


def test_misspecified_cases_are_judged_by_their_silent_misses():
    # 100 draws, 90 flagged; of the 10 ok values 4 miss: coverage 0.6, but 4 % silent misses overall
    flags = ["warn: model rejected"] * 90 + ["ok"] * 10
    pulls = [0.0] * 90 + [0.1] * 6 + [3.0] * 4
    draws = _draws(pulls, flags=flags)
    plain = core.summarise(draws).iloc[0]
    assert plain["coverage"] == 0.6 and not plain["meets_target"]
    judged = core.summarise(draws, misspecified={"c"}).iloc[0]
    assert judged["silent_misses"] == 4 and judged["meets_target"]
    worse = core.summarise(_draws(pulls[:-10] + [3.0] * 10, flags=flags), misspecified={"c"}).iloc[0]
    assert worse["silent_misses"] == 10 and not worse["meets_target"]
    section = core.markdown_section("g", core.summarise(draws, misspecified={"c"}), n_draws=100, seed=1, notes={})
    assert "met (silent misses 4/100)" in section


def test_recovery_md_sections_are_replaced_not_duplicated(tmp_path):
    path = tmp_path / "RECOVERY.md"
    stats = core.summarise(_draws([0.0, 1.0]))
    core.update_recovery_md(path, "a", core.markdown_section("a", stats, n_draws=2, seed=1, notes={}))
    core.update_recovery_md(path, "b", core.markdown_section("b", stats, n_draws=2, seed=1, notes={}))
    core.update_recovery_md(path, "a", core.markdown_section("a", stats, n_draws=3, seed=1, notes={}))
    text = path.read_text()
    assert text.count("<!-- recovery:a:begin -->") == 1 and text.count("<!-- recovery:b:begin -->") == 1
    assert "3 draws per case" in text and "2 draws per case" in text
    assert text.index("recovery:a:begin") < text.index("recovery:b:begin")


def pytest_approx(value, abs_tol):
    import pytest

    return pytest.approx(value, abs=abs_tol)


def test_a_slow_case_runs_at_most_its_capped_draws_and_the_section_says_so():
    module = types.SimpleNamespace(CASES={"fast": None, "slow": None}, MAX_DRAWS={"slow": 40})
    assert core.case_draws(module, "fast", 200) == 200
    assert core.case_draws(module, "slow", 200) == 40
    assert core.case_draws(module, "slow", 10) == 10
    def by_case(cases, n):
        return {case: core.case_draws(module, case, n) for case in cases}

    assert core.draws_sentence(200, by_case(["fast", "slow"], 200)) == "200 draws per case (slow: 40)"
    assert core.draws_sentence(200, by_case(["fast"], 200)) == "200 draws per case"
    assert core.draws_sentence(30, by_case(["fast", "slow"], 30)) == "30 draws per case"


def test_a_case_with_a_draws_factor_runs_that_many_times_the_request():
    module = types.SimpleNamespace(CASES={"plain": None, "sparse": None}, DRAWS_FACTOR={"sparse": 2},
                                   MAX_DRAWS={"plain": 40})
    assert core.case_draws(module, "sparse", 200) == 400 and core.case_draws(module, "sparse", 10) == 20
    assert core.case_draws(module, "plain", 200) == 40
    assert core.draws_sentence(200, {c: core.case_draws(module, c, 200) for c in module.CASES}) == (
        "200 draws per case (plain: 40, sparse: 400)")


def test_a_group_with_many_rows_sets_its_own_draws_and_a_request_overrides_it():
    plain, many = types.SimpleNamespace(CASES={}), types.SimpleNamespace(CASES={}, DRAWS=400)
    assert core.group_draws(plain, None) == core.DEFAULT_DRAWS == 200
    assert core.group_draws(many, None) == 400
    assert core.group_draws(many, 30) == 30
