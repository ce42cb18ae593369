"""VAMAS reader/writer: real exports (Kratos, CasaXPS re-exports of Kratos/SpecsLab/Scienta data, a PHI
layout), energy convention checked against physics, ``1E+37`` placeholders, ordinate units, IRREGULAR
scans, region labels; round trip (own reader and the independent ``vamas`` package); malformed files ->
RawDataError naming file and block."""

from pathlib import Path

import numpy as np
import pytest
import vamas

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.vamas import VamasRegion, format_vamas, read_vamas, region_key, write_vamas

HV, PHI = 1486.6, 4.5
REAL = Path(__file__).parent / "data" / "real" / "vamas"


def _regions():
    kinetic = np.arange(60)
    return [
        VamasRegion("C 1s", "S1", "C", "1s", 1190.0, 0.05, 100 + 3 * kinetic, dwell_time_s=0.2, n_scans=4,
                    transmission=np.linspace(1.0, 1.5, 60)),
        VamasRegion("In 3d", "S1", "In", "3d", 1025.0, 0.1, 500 + kinetic, dwell_time_s=0.1, n_scans=10),
    ]


@pytest.fixture
def vms(tmp_path) -> Path:
    path = tmp_path / "S1.vms"
    write_vamas(path, _regions(), experiment_id="S1")
    return path


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _write(path: Path, lines: list[str], newline: str = "\r\n") -> Path:
    path.write_bytes((newline.join(lines) + newline).encode("utf-8"))
    return path


def _net_peak_ev(binding_ev, rate, lo, hi):
    """Binding energy of the largest peak above a straight line between the window's ends."""
    inside = (binding_ev >= lo) & (binding_ev <= hi)
    x, y = binding_ev[inside], rate[inside]
    order = np.argsort(x)
    x, y = x[order], y[order]
    line = np.interp(x, [x[0], x[-1]], [y[:3].mean(), y[-3:].mean()])
    return float(x[np.argmax(y - line)])


# ------------------------------------------------------------------ real exports: energy scale

@pytest.mark.parametrize("name, lo, hi", [
    ("kratos_survey.vms", -5.0, 1200.0),  # ESCApe wide scan: KE 286.69-1491.69 eV, hv 1486.69 eV
    ("kratos_multiplex.vms", -5.0, 1200.0),
    ("specs_casa_regular.vms", 0.0, 1350.0),  # SpecsLab survey from KE 136.61 eV, hv 1486.61 eV
    ("specs_casa_irregular.vms", 0.0, 1350.0),
])
def test_survey_binding_range_is_hv_minus_kinetic(name, lo, hi):
    """Instruments scan round binding-energy ranges: they come out exactly with BE = hv - KE, and
    would be off by the analyser work function (-4.5 eV Kratos, 4.1082 eV SpecsLab) if it were
    subtracted."""
    survey = read_vamas(REAL / name).blocks[0]
    assert survey.work_function_ev in (-4.5, 4.1082, None)  # written, not applied
    np.testing.assert_allclose([survey.binding_energy_ev.min(), survey.binding_energy_ev.max()], [lo, hi],
                               atol=1e-6)
    np.testing.assert_allclose(survey.binding_energy_ev, survey.source_energy_ev - survey.kinetic_energy_ev)


@pytest.mark.parametrize("name", ["kratos_survey.vms", "kratos_multiplex.vms", "specs_casa_regular.vms",
                                  "specs_casa_irregular.vms"])
def test_adventitious_carbon_near_285_ev_on_grounded_samples(name):
    """Surveys of grounded samples (Kratos: 'Charge Neutraliser : Off'): the C 1s peak of adventitious
    carbon lies at 284.8-286 eV before any charge correction (1 eV survey steps)."""
    survey = read_vamas(REAL / name).blocks[0]
    if name.startswith("kratos"):
        assert "Charge Neutraliser : Off" in survey.comment
    assert 284.0 <= _net_peak_ev(survey.binding_energy_ev, survey.counts_per_second, 279.0, 295.0) <= 286.5


def test_kratos_casa_region_scans_sit_at_literature_energies():
    """A lead-iodide film measured grounded on a Kratos instrument (CasaXPS re-export, labels without a
    space): C 1s, I 3d5/2, Pb 4f7/2 at their literature binding energies, and the He I secondary-electron
    cut-off at a physical work function (it would be negative with 4.5 eV subtracted)."""
    experiment = read_vamas(REAL / "kratos_casa_single_sample.vms")
    assert experiment.labels == ("wide", "I3d", "Pb4f", "O1s", "N1s", "C 1s", "S 2p", "HeI VBM", "HeI SECO")

    def peak(label, lo, hi):
        block = experiment.block(label)
        return _net_peak_ev(block.binding_energy_ev, block.counts_per_second, lo, hi)

    assert 284.3 <= peak("C 1s", 283.0, 287.0) <= 286.0  # adventitious C-C/C-H
    assert 618.8 <= peak("I 3d", 615.0, 625.0) <= 620.0  # iodide I 3d5/2 ~619.3 eV
    assert 138.0 <= peak("Pb 4f", 134.0, 141.0) <= 139.3  # Pb2+ 4f7/2 ~138.6 eV
    seco = experiment.block("HeI SECO")
    assert seco.source_energy_ev == pytest.approx(21.22)
    order = np.argsort(seco.binding_energy_ev)
    be, rate = seco.binding_energy_ev[order], seco.counts_per_second[order]
    top = np.argmax(rate)
    cutoff_be = be[top + np.argmax(rate[top:] < rate[top] / 2)]  # half-height on the high-BE edge
    assert 3.5 <= seco.source_energy_ev - cutoff_be <= 5.5  # sample work function, eV


def test_irregular_feo_fe2p_at_literature_energy():
    """SpecsLab IRREGULAR scan via CasaXPS (abscissa = first corresponding variable): Fe 2p3/2 of FeO at
    709.5-710.5 eV."""
    experiment = read_vamas(REAL / "specs_casa_irregular_FeO.vms")
    assert experiment.scan_mode == "IRREGULAR"
    fe2p = experiment.block("Fe 2p")
    assert fe2p.work_function_ev is None and fe2p.metadata["dead_time_s"] is None  # 1e+037 = not given
    assert 709.0 <= _net_peak_ev(fe2p.binding_energy_ev, fe2p.counts_per_second, 700.0, 716.0) <= 711.0


def test_irregular_and_regular_layouts_of_one_survey_agree():
    """pynxtools-xps ships the same SpecsLab survey as REGULAR (counts, dwell 0.1 s) and IRREGULAR (CasaXPS
    wrote counts/s with dwell 1 s): same binding energies, same count rates."""
    regular = read_vamas(REAL / "specs_casa_regular.vms").blocks[0]
    irregular = read_vamas(REAL / "specs_casa_irregular.vms").blocks[0]
    np.testing.assert_allclose(irregular.binding_energy_ev, regular.binding_energy_ev, atol=1e-9)
    np.testing.assert_allclose(irregular.counts_per_second, regular.counts_per_second, rtol=1e-4)
    assert irregular.transmission is not None and irregular.metadata["variables"][0] == ("Kinetic Energy", "eV")


def test_charged_sample_lines_shift_together():
    """ARXPS of an insulated Al foil with the neutraliser on (MAP mode, tilt 0-63 deg): every line is shifted
    by the same surface charge (C 1s sits near 281 eV, not 285), so only separations are physical.
    O 1s - Al 2p of Al2O3 is 456.6-457.0 eV at normal emission; grazing angles see more surface
    hydroxide (higher O 1s). O 1s - adventitious C 1s stays at 246.2-247.0 eV."""
    experiment = read_vamas(REAL / "kratos_ARXPS.vms")
    assert experiment.experiment_mode == "MAP" and len(experiment.blocks) == 15
    assert "Charge Neutraliser : On" in experiment.blocks[0].comment
    for angle in range(5):
        o1s, c1s, al2p = experiment.blocks[3 * angle: 3 * angle + 3]
        assert (o1s.label, c1s.label, al2p.label) == ("O 1s", "C 1s", "Al 2p")
        o_peak = _net_peak_ev(o1s.binding_energy_ev, o1s.counts_per_second, 523.0, 543.0)
        al_peak = _net_peak_ev(al2p.binding_energy_ev, al2p.counts_per_second, 66.0, 86.0)
        c_peak = _net_peak_ev(c1s.binding_energy_ev, c1s.counts_per_second, 275.0, 295.0)
        assert 456.5 <= o_peak - al_peak <= (457.1 if angle == 0 else 457.8)
        assert 246.2 <= o_peak - c_peak <= 247.0
        assert c_peak < 283.0  # charged: uncorrected C 1s is not at 285 eV


def test_binding_energy_abscissa_and_placeholders():
    """Scienta ESCA300 data (SurfaceSpectra PEG) via CasaXPS: 'Binding energy' abscissa taken as written,
    work function and dead time 1e+037 = not given (no dead-time 'correction' by 1e37 s), PEG's C-O
    line at 286.5 eV and O 1s at 532.9 eV (the database is charge-referenced)."""
    experiment = read_vamas(REAL / "scienta_casa_polyethyleneglycol.vms")
    c1s = experiment.block("C 1s")
    assert c1s.abscissa_label == "Binding energy" and c1s.work_function_ev is None
    assert c1s.metadata["dead_time_s"] is None
    np.testing.assert_allclose(c1s.kinetic_energy_ev, 1486.6 - c1s.binding_energy_ev)
    np.testing.assert_allclose(c1s.counts_per_second, c1s.counts / (c1s.dwell_time_s * c1s.n_scans))
    assert np.all(c1s.counts_per_second > 0)
    assert 286.2 <= _net_peak_ev(c1s.binding_energy_ev, c1s.counts_per_second, 281.5, 293.0) <= 286.8
    o1s = experiment.block("O 1s")
    assert 532.5 <= _net_peak_ev(o1s.binding_energy_ev, o1s.counts_per_second, 528.5, 538.0) <= 533.3


# ------------------------------------------------------------------ region labels

def test_region_labels_match_without_spaces_or_case():
    experiment = read_vamas(REAL / "kratos_casa_single_sample.vms")
    assert region_key("I 3d") == region_key("I3d") == region_key("i3D")
    assert experiment.block("I 3d").species == "I3d"
    matched, unmatched = experiment.regions(["C 1s", "I 3d", "Pb 4f", "Br 3d"])
    assert {name: block.label for name, block in matched.items()} == {"I 3d": "I3d", "Pb 4f": "Pb4f",
                                                                      "C 1s": "C 1s"}
    assert [b.label for b in unmatched] == ["wide", "O1s", "N1s", "S 2p", "HeI VBM", "HeI SECO"]


def test_a_region_in_two_blocks_is_refused():
    experiment = read_vamas(REAL / "kratos_ARXPS.vms")
    with pytest.raises(RawDataError, match=r"kratos_ARXPS.vms, block 5: region 'C 1s' appears again"):
        experiment.regions(["C 1s"])
    with pytest.raises(RawDataError, match="in 5 blocks"):
        experiment.block("O 1s")


# ------------------------------------------------------------------ PHI layout: blank lines, NULs

def _phi_like(vms: Path, tmp_path: Path, nul_inside: bool = False) -> Path:
    """Our file laid out as PHI MultiPak writes it: blank lines before the identifier, its SOFH header as
    the experiment comment (real, tests/data/real/vamas/phi_multipak_header_comment.txt), NUL padding
    after the transition labels, LF line ends."""
    lines = _lines(vms)
    comment = (REAL / "phi_multipak_header_comment.txt").read_text().splitlines()
    assert lines[5] == "0" and int(comment[0]) == len(comment) - 1
    lines = ["", ""] + lines[:5] + comment + lines[6:]
    for i, line in enumerate(lines):
        if line in ("1s", "3d") and lines[i - 1] in ("C", "In"):
            lines[i] = line + "\x00" * 3 if not nul_inside else line[0] + "\x00" + line[1:]
    return _write(tmp_path / "phi.vms", lines, newline="\n")


def test_phi_blank_lines_and_nul_padding_are_tolerated(vms, tmp_path):
    phi = read_vamas(_phi_like(vms, tmp_path))
    clean = read_vamas(vms)
    assert phi.labels == clean.labels == ("C 1s", "In 3d")
    assert phi.comment.startswith("SOFH") and "AnalyserWorkFcn: 4.506 eV" in phi.comment
    for a, b in zip(phi.blocks, clean.blocks, strict=False):
        np.testing.assert_array_equal(a.binding_energy_ev, b.binding_energy_ev)
        np.testing.assert_array_equal(a.counts_per_second, b.counts_per_second)


def test_nul_inside_a_line_is_still_binary(vms, tmp_path):
    with pytest.raises(RawDataError, match=r"phi.vms: binary content \(NUL bytes\)"):
        read_vamas(_phi_like(vms, tmp_path, nul_inside=True))


# ------------------------------------------------------------------ ordinate units and placeholders

def _edit(vms: Path, tmp_path: Path, edit) -> Path:
    return _write(tmp_path / "edited.vms", edit(_lines(vms)))


def _first_block_rates_in_cps(lines: list[str]) -> list[str]:
    """Relabel block 1's counts as c/s and replace each count by its rate counts / (dwell x scans)."""
    i = lines.index("Intensity")
    lines[i + 1] = "c/s"
    start = lines.index("120") + 5  # ordinate count, 2 x (min, max), then (counts, transmission) pairs
    for k in range(60):
        lines[start + 2 * k] = f"{int(lines[start + 2 * k]) / 0.8:.4f}"
    return lines


def test_counts_per_second_ordinates_are_not_divided_again(vms, tmp_path):
    c1s = read_vamas(_edit(vms, tmp_path, _first_block_rates_in_cps)).block("C 1s")
    counts, transmission = 100 + 3 * np.arange(60), np.linspace(1.0, 1.5, 60)
    assert c1s.ordinate_unit == "c/s"
    np.testing.assert_allclose(c1s.counts_per_second, counts / 0.8 / transmission, rtol=1e-6)
    # Poisson from rate x dwell x scans counts
    np.testing.assert_allclose(c1s.cps_uncertainty, np.sqrt(counts) / 0.8 / transmission, rtol=1e-6)
    np.testing.assert_allclose(c1s.counts, counts, rtol=1e-6)


@pytest.mark.parametrize("label, unit, message", [
    ("count rate", "d", "labelled a count rate but its unit is 'd'"),
    ("Intensity", "V", "signal 'Intensity' in 'V': expected counts"),
])
def test_ambiguous_or_unknown_ordinate_units_are_refused(vms, tmp_path, label, unit, message):
    def relabel(lines):
        i = lines.index("Intensity")
        lines[i], lines[i + 1] = label, unit
        return lines

    with pytest.raises(RawDataError, match=r"edited.vms, block 1 of 2 \('C 1s'\).*" + message):
        read_vamas(_edit(vms, tmp_path, relabel))


def _block_parameter(lines: list[str], after: str, offset: int, block: int = 0) -> int:
    return [i for i, line in enumerate(lines) if line == after][block] + offset


@pytest.mark.parametrize("after, offset, message", [
    ("Al (mono)", 1, "kinetic-energy abscissa but the source energy is not given"),
    ("pulse counting", 1, "dwell time and number of scans must be given"),
])
def test_placeholders_where_a_number_is_needed_are_refused(vms, tmp_path, after, offset, message):
    def unset(lines):
        lines[_block_parameter(lines, after, offset)] = "1E+37"
        return lines

    with pytest.raises(RawDataError, match=message):
        read_vamas(_edit(vms, tmp_path, unset))


def test_placeholder_dead_time_and_work_function_mean_not_given(vms, tmp_path):
    def unset(lines):
        lines[_block_parameter(lines, "pulse counting", 3)] = "1E+37"  # signal time correction
        lines[_block_parameter(lines, "FAT", 3)] = "1e+037"  # analyser work function
        return lines

    c1s = read_vamas(_edit(vms, tmp_path, unset)).block("C 1s")
    clean = read_vamas(vms).block("C 1s")
    assert c1s.work_function_ev is None and c1s.metadata["dead_time_s"] is None
    np.testing.assert_array_equal(c1s.counts_per_second, clean.counts_per_second)
    np.testing.assert_array_equal(c1s.binding_energy_ev, clean.binding_energy_ev)


def _irregular(lines: list[str], swap: bool = False) -> list[str]:
    """Our REGULAR file rewritten as CasaXPS writes IRREGULAR scans."""
    out = list(lines)
    out[out.index("REGULAR")] = "IRREGULAR"
    for block in range(2):
        i = out.index("Kinetic energy")  # the next REGULAR block still to rewrite
        start, step = float(out[i + 2]), float(out[i + 3])
        n_var = int(out[i + 4])
        names = out[i + 5: i + 5 + 2 * n_var]
        out[i: i + 5 + 2 * n_var] = [str(n_var + 1), "Kinetic Energy", "eV", *names]
        j = i + 3 + 2 * n_var + 8  # number of ordinate values
        n_points = int(out[j]) // n_var
        values = out[j + 1 + 2 * n_var: j + 1 + 2 * n_var + n_points * n_var]
        rows = []
        for k in range(n_points):
            rows += [f"{start + step * k:.6f}", *values[k * n_var:(k + 1) * n_var]]
        if swap and block == 0:
            rows[(n_var + 1) * 5], rows[(n_var + 1) * 6] = rows[(n_var + 1) * 6], rows[(n_var + 1) * 5]
        out[j: j + 1 + 2 * n_var + n_points * n_var] = [str(n_points * (n_var + 1)), "0", "1",
                                                         *out[j + 1: j + 1 + 2 * n_var], *rows]
    return out


def test_irregular_scan_reads_like_regular(vms, tmp_path):
    irregular = read_vamas(_edit(vms, tmp_path, _irregular))
    regular = read_vamas(vms)
    assert irregular.scan_mode == "IRREGULAR"
    for a, b in zip(irregular.blocks, regular.blocks, strict=False):
        np.testing.assert_allclose(a.binding_energy_ev, b.binding_energy_ev, atol=1e-6)
        np.testing.assert_array_equal(a.counts_per_second, b.counts_per_second)


def test_irregular_abscissa_must_be_monotonic(vms, tmp_path):
    with pytest.raises(RawDataError, match=r"block 1 of 2 \('C 1s'\), line \d+: IRREGULAR abscissa is not strictly"):
        read_vamas(_edit(vms, tmp_path, lambda lines: _irregular(lines, swap=True)))


# ------------------------------------------------------------------ writer: round trip and real layout

def test_round_trip_own_reader(vms):
    experiment = read_vamas(vms)
    assert experiment.labels == ("C 1s", "In 3d")
    assert experiment.experiment_mode == "NORM" and experiment.scan_mode == "REGULAR"
    c1s = experiment.block("C 1s")
    np.testing.assert_allclose(c1s.kinetic_energy_ev, 1190.0 + 0.05 * np.arange(60))
    np.testing.assert_allclose(c1s.binding_energy_ev, HV - c1s.kinetic_energy_ev)  # work function not applied
    assert c1s.work_function_ev == PHI
    counts = 100 + 3 * np.arange(60)
    np.testing.assert_array_equal(c1s.counts, counts)
    transmission = np.linspace(1.0, 1.5, 60)
    np.testing.assert_allclose(c1s.counts_per_second, counts / (0.2 * 4) / transmission)
    np.testing.assert_allclose(c1s.cps_uncertainty, np.sqrt(counts) / (0.2 * 4) / transmission)
    in3d = experiment.block("In 3d")
    assert in3d.transmission is None and in3d.n_scans == 10
    np.testing.assert_allclose(in3d.counts_per_second, (500 + np.arange(60)) / 1.0)


def test_round_trip_independent_vamas_package(vms):
    blocks = vamas.Vamas(str(vms)).blocks
    assert [(b.species_label, b.transition_or_charge_state_label) for b in blocks] == [("C", "1s"), ("In", "3d")]
    for block, region in zip(blocks, _regions(), strict=False):
        assert block.x_label == "Kinetic energy" and block.x_units == "eV"
        assert block.x_start == region.kinetic_start_ev and block.x_step == region.kinetic_step_ev
        assert block.analysis_source_characteristic_energy == HV
        assert block.analyzer_work_function_or_acceptance_energy == PHI
        assert block.signal_collection_time == region.dwell_time_s
        assert block.num_scans_to_compile_block == region.n_scans
        np.testing.assert_array_equal(block.corresponding_variables[0].y_values, region.counts)


def test_writer_is_byte_deterministic():
    assert format_vamas(_regions(), experiment_id="S1") == format_vamas(_regions(), experiment_id="S1")


def _shape(lines: list[str]) -> list[str]:
    """Block 1 from its identifier to its ordinate count, with numbers as '#', placeholders as 'UNSET',
    comment lines as their key, and what names the data (ids, scan range, species, transition) as '<label>'."""
    first, last = 23, lines.index("pulse counting") + 9
    species = lines.index("FAT") + 9
    labels = {first, first + 1, species, species + 1}
    out = []
    for i in range(first, last):
        line = lines[i].strip()
        if i in labels or "eV, Sweeps" in line:
            out.append("<label>")
            continue
        try:
            out.append("UNSET" if abs(float(line)) >= 1e37 else "#")
        except ValueError:
            out.append(line.split(" : ")[0])
    return out


def test_writer_lays_out_blocks_as_a_kratos_export(tmp_path):
    """Header, block comment keys, parameter positions, placeholders and variables line up with a real
    Kratos ESCApe export (kratos_survey.vms), CRLF line ends included."""
    real_bytes = (REAL / "kratos_survey.vms").read_bytes()
    ours_path = tmp_path / "ours.vms"
    write_vamas(ours_path, _regions()[:1], experiment_id="S1")
    ours_bytes = ours_path.read_bytes()
    for text in (real_bytes, ours_bytes):
        assert text.count(b"\r\n") == text.count(b"\n")
    real, ours = real_bytes.decode().splitlines(), ours_bytes.decode().splitlines()
    assert real[5:22] == ours[5:22]  # comment count .. inclusion list, experimental variables
    assert _shape(real) == _shape(ours)


# ------------------------------------------------------------------ malformed files

def _broken(vms: Path, tmp_path: Path, edit) -> Path:
    return _write(tmp_path / "broken.vms", edit(_lines(vms)))


BLOCK_COUNT = 22  # 0-based line of the header's number of blocks


def _second_block_value(lines):
    start = lines.index("In 3d")
    lines[len(lines) - 10] = "12x"
    assert len(lines) - 10 > start
    return lines


def test_header_layout_assumed_by_the_edits(vms):
    lines = _lines(vms)
    assert lines[BLOCK_COUNT] == "2" and lines[BLOCK_COUNT + 1] == "C 1s" and lines[18] == "0"


@pytest.mark.parametrize("edit, message", [
    (lambda lines: lines[: lines.index("In 3d") + 60], "block 2 of 2"),  # truncated inside block 2
    (lambda lines: ["VAMAS Surface Chemical Analysis Standard Data Transfer Format 1990"] + lines[1:],
     "not a VAMAS file"),
    (_second_block_value, "block 2 of 2 ('In 3d')"),
    (lambda lines: lines[:BLOCK_COUNT] + ["3"] + lines[BLOCK_COUNT + 1:], "block 3 of 3"),
    (lambda lines: lines[:BLOCK_COUNT] + ["1"] + lines[BLOCK_COUNT + 1:], "block count"),
    (lambda lines: lines[:-1], "end of experiment"),  # terminator missing
    (lambda lines: lines[:7] + ["MAPPING"] + lines[8:], "scan mode 'MAPPING' not supported"),
])
def test_bad_files_name_file_and_block(vms, tmp_path, edit, message):
    path = _broken(vms, tmp_path, edit)
    with pytest.raises(RawDataError, match="broken.vms") as info:
        read_vamas(path)
    assert message in str(info.value)


def test_exclusion_list_repeats_first_block(vms, tmp_path):
    """A negative inclusion count excludes parameters from blocks 2..N (ISO 14976); the vamas
    package mis-indexes this, our reader takes block 1's value."""
    lines = _lines(vms)
    lines[18:19] = ["-1", "1"]  # exclude (1) the year
    second = lines.index("In 3d")
    del lines[second + 2]
    blocks = read_vamas(_write(tmp_path / "excl.vms", lines)).blocks
    assert blocks[1].metadata["date"] == blocks[0].metadata["date"]
    np.testing.assert_array_equal(blocks[1].counts, 500 + np.arange(60))


def test_non_numeric_names_kind_and_line(vms, tmp_path):
    path = _broken(vms, tmp_path, _second_block_value)
    with pytest.raises(RawDataError, match=r"line \d+: non-numeric ordinate value '12x'"):
        read_vamas(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.vms"
    path.write_text("\n")
    with pytest.raises(RawDataError, match="empty.vms: file is empty"):
        read_vamas(path)


def test_block_without_ordinates(vms, tmp_path):
    def empty_block(lines):
        # The In 3d block's ordinate count is the line after its last 'additional parameters' 0.
        n = 60
        end = len(lines) - 1  # 'end of experiment'
        count_line = end - n - 2 - 1
        assert lines[count_line] == str(n)
        return lines[:count_line] + ["0"] + lines[end:]

    with pytest.raises(RawDataError, match=r"block 2 of 2 \('In 3d'\).*no ordinate values"):
        read_vamas(_broken(vms, tmp_path, empty_block))
