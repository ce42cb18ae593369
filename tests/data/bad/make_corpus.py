"""Write the bad-input corpus (tests/data/bad/) and its MANIFEST.csv.

Run ``python tests/data/bad/make_corpus.py`` to rewrite the committed files; the output is
byte-deterministic (no random numbers, fixed float formats). Each case starts from a small valid
template written with the package's own formatters (kept in ``good/`` as the control: the test checks
the templates read cleanly, so a failure on a bad file is caused by its defect) and breaks one thing.

MANIFEST.csv columns:
  file        path relative to this directory
  format      cary | fluoracle_pl | fluoracle_plqy | tcspc | vamas | xy | xrdml | phu | icp | chromeleon |
              tem_tiff | dm | sheet
  reader      which reader the test calls (see tests/test_bad_inputs.py READERS)
  defect      what is wrong, in words
  expected    fragment the RawDataError message must contain
  where       location fragment the message must contain ("line 12", "block 2 of 2", ...); empty = none
  status      ok = the reader must refuse it; gap = a known hole in validation (xfail, reported)
  swap_into   for the pipeline-level subset: the raw file (relative to the raw dir) it replaces
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from qdanalysis.io.cary import format_cary_csv
from qdanalysis.io.chromeleon import format_chromeleon_txt, write_chromeleon_txt
from qdanalysis.io.digital_micrograph import write_dm
from qdanalysis.io.fluoracle import format_fluoracle_csv
from qdanalysis.io.icp import format_icp_csv
from qdanalysis.io.tem_tiff import write_tem_tiff
from qdanalysis.io.vamas import VamasRegion, format_vamas
from qdanalysis.io.xrdml import format_xrdml
from qdanalysis.io.xy import format_xy

HERE = Path(__file__).resolve().parent
CASES: list[dict] = []
PNG_JUNK = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(range(256)) * 2


def case(file, fmt, reader, defect, expected, where="", status="ok", swap_into="", content=None):
    path = HERE / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    CASES.append(dict(file=file, format=fmt, reader=reader, defect=defect, expected=expected, where=where,
                      status=status, swap_into=swap_into))


def lines_of(text: str) -> list[str]:
    return text.splitlines()


def joined(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ templates (valid, tiny)
def gaussian(x, center, width, height, floor):
    return floor + height * np.exp(-0.5 * ((x - center) / width) ** 2)


wl_uv = np.arange(350.0, 751.0, 10.0)  # 41 points, written 750 -> 350 (Cary order)
absorbance = 0.05 + 0.4 * np.exp(-(wl_uv - 350) / 120) + gaussian(wl_uv, 560, 25, 0.08, 0)
CARY = format_cary_csv("InP_MS_ZnBr2", wl_uv, absorbance, {"Instrument": "Cary 60", "Y Mode": "Abs"})

wl_pl = np.arange(460.0, 720.5, 5.0)  # 53 points
PL = format_fluoracle_csv(wl_pl, gaussian(wl_pl, 610, 20, 5000, 20).round(), label="InP_MS_ZnBr2",
                          scan_type="Emission Scan", x_axis="Wavelength", y_axis="Counts", fixed_offset=450.0,
                          comment="Ex 450 nm", x_format="{:.2f}")
wl_sphere = np.arange(430.0, 720.5, 5.0)
PLQY = format_fluoracle_csv(wl_sphere, (gaussian(wl_sphere, 450, 3, 90000, 30)
                                        + gaussian(wl_sphere, 610, 20, 3000, 0)).round(),
                            label="InP_MS_ZnBr2 in_beam", scan_type="Emission Scan", x_axis="Wavelength",
                            y_axis="Counts", fixed_offset=450.0, comment="Integrating sphere; in beam",
                            x_format="{:.2f}")
t_ns = np.arange(0, 64) * 0.5  # 64 channels, Stop 31.5 ns
decay_counts = np.where(t_ns < 5, 2, 2 + 1000 * np.exp(-np.clip(t_ns - 5, 0, None) / 8)).round()
irf_counts = (2 + gaussian(t_ns, 5, 0.4, 3000, 0)).round()


def tcspc(counts, scan_type="Time Scan", x_axis="Time(ns)", times=t_ns, label="InP_MS_ZnBr2"):
    return format_fluoracle_csv(times, counts, label=label, scan_type=scan_type, x_axis=x_axis,
                                y_axis="Counts", x_format="{:.2f}")


DECAY, IRF = tcspc(decay_counts), tcspc(irf_counts, scan_type="Instrument Response Time Scan",
                                        label="IRF_halide_treatment")

ke = 1486.6 - 4.5 - np.arange(450.0, 440.0, -0.5)  # In 3d-like window, 20 channels
VMS_REGIONS = [VamasRegion("C 1s", "InP_MS_ZnBr2", "C", "1s", 1486.6 - 4.5 - 290.0, 0.5,
                           (100 + gaussian(np.arange(20.0), 10, 2, 900, 0)).round()),
               VamasRegion("In 3d", "InP_MS_ZnBr2", "In", "3d", float(ke[0]), 0.5,
                           (200 + gaussian(np.arange(20.0), 9, 2, 4000, 0)).round())]
VMS = format_vamas(VMS_REGIONS, experiment_id="InP_MS_ZnBr2")

two_theta = np.arange(20.0, 40.0, 0.5)  # 40 points
XY = format_xy(two_theta, gaussian(two_theta, 26.5, 0.8, 900, 300).round(), wavelength_A=1.5406,
               comments=["sample InP_MS_ZnBr2", "columns 2theta_deg counts"], two_theta_format="{:.2f}")

for name, text in {"good/cary.csv": CARY, "good/pl.csv": PL, "good/plqy.csv": PLQY, "good/decay.csv": DECAY,
                   "good/irf.csv": IRF, "good/spectrum.vms": VMS, "good/pattern.xy": XY}.items():
    (HERE / name).parent.mkdir(parents=True, exist_ok=True)
    (HERE / name).write_text(text)


def replace_line(text: str, lineno: int, new: str) -> str:
    lines = lines_of(text)
    lines[lineno - 1] = new
    return joined(lines)


def first_line(text: str, startswith: str) -> int:
    return next(i for i, line in enumerate(lines_of(text), start=1) if line.startswith(startswith))


# ------------------------------------------------------------------ Cary UV-vis CSV
C = "cary"
case("cary/empty.csv", C, C, "empty file (0 bytes)", "file is empty", content=b"")
case("cary/whitespace_only.csv", C, C, "only blank lines", "file is empty", content="\n \n\n")
case("cary/binary_junk.csv", C, C, "PNG bytes saved with a .csv name", "binary content", content=PNG_JUNK,
     swap_into="uvvis/InP_MS_ZnBr2.csv")
case("cary/latin1_method.csv", C, C, "method block written in Latin-1 (degree sign)", "not valid UTF-8",
     where=f"line {len(lines_of(CARY)) + 1}",
     content=CARY.encode() + "Temperature,25 \u00b0C\n".encode("latin-1"))
case("cary/missing_title_row.csv", C, C, "name and title rows missing (starts with data)",
     "expected 'Wavelength (nm),Abs' titles", where="line 2", content=joined(lines_of(CARY)[2:]))
CARY_T = joined(lines_of(CARY)[:1] + ["Wavelength (nm),%T,"]
                + [f"{ln.split(',')[0]},{10 ** (2 - float(ln.split(',')[1])):.10g}," for ln in lines_of(CARY)[2:43]]
                + lines_of(CARY)[43:])
case("cary/transmittance_nonpositive.csv", C, C, "%T export with a value <= 0 (noise beyond the photometric range)",
     "has no absorbance", where="line 40", content=replace_line(CARY_T, 40, "380.0,-0.012,"))
case("cary/reflectance.csv", C, C, "%R export (reflectance, not absorbance)", "expected 'Abs' or '%T', found '%R'",
     where="line 2", content=CARY.replace("Wavelength (nm),Abs,", "Wavelength (nm),%R,"))
case("cary/wavenumber_units.csv", C, C, "x axis in wavenumbers (wrong units)", "wrong units?", where="line 2",
     content=CARY.replace("Wavelength (nm),Abs,", "Wavelength (cm-1),Abs,"))
case("cary/truncated_row.csv", C, C, "file cut in the middle of a data row", "expected 2 values, found 1",
     where="line 43", content=joined(lines_of(CARY)[:42] + ["350.0"]))
case("cary/truncated_short.csv", C, C, "file cut after 3 data rows", "only 3 data rows", where="line",
     content=joined(lines_of(CARY)[:5]))
case("cary/nan_value.csv", C, C, "NaN absorbance", "value is not finite (nan)", where="line 20",
     content=replace_line(CARY, 20, "580.0,nan,"))
case("cary/inf_value.csv", C, C, "infinite absorbance (detector saturation)", "value is not finite (inf)",
     where="line 9", content=replace_line(CARY, 9, "690.0,inf,"))
case("cary/text_value.csv", C, C, "typo in a number", "non-numeric value '0.1a3'", where="line 30",
     content=replace_line(CARY, 30, "480.0,0.1a3,"))
case("cary/non_monotonic.csv", C, C, "wavelength repeated (two scans pasted)", "not strictly monotonic",
     where="line 13", content=replace_line(CARY, 12, "650.0,0.1,"))
case("cary/two_spectra.csv", C, C, "two spectra in a one-sample file", "expected one spectrum, found 2",
     where="line 1", content=joined(["A,,B,,", "Wavelength (nm),Abs,Wavelength (nm),Abs,"]
                                    + [f"{w:.1f},{a:.5f},{w:.1f},{a:.5f}," for w, a in
                                       zip(wl_uv[::-1], absorbance[::-1], strict=False)]))

# ------------------------------------------------------------------ Fluoracle steady-state PL
F = "fluoracle_pl"
data_start = first_line(PL, "460.00")
case("pl/empty.csv", F, "fluoracle", "empty file", "file is empty", content=b"")
case("pl/binary_junk.csv", F, "fluoracle", "binary junk", "binary content", content=PNG_JUNK)
case("pl/utf16.csv", F, "fluoracle", "exported as UTF-16 (wrong encoding)", "binary content",
     content=PL.encode("utf-16"))
case("pl/latin1_comment.csv", F, "fluoracle", "comment in Latin-1 (micro sign)", "not valid UTF-8",
     where="line 3", content=PL.replace("Ex 450 nm", "Ex 450 nm; slit 500 \u00b5m").encode("latin-1"))
case("pl/missing_header.csv", F, "fluoracle", "header block deleted (data only)", "missing header key(s)",
     where="header", content=joined(lines_of(PL)[data_start - 1:]), swap_into="pl/InP_MS_ZnBr2.csv")
case("pl/missing_xaxis.csv", F, "fluoracle", "XAxis/YAxis header rows missing", "['XAxis', 'YAxis']",
     where="header", content=joined([ln for ln in lines_of(PL) if not ln.startswith(("Xaxis", "Yaxis"))]))
case("pl/header_only.csv", F, "fluoracle", "header but no data (export aborted)", "header but no data rows",
     where="line", content=joined(lines_of(PL)[:data_start - 1]))
case("pl/truncated_row.csv", F, "fluoracle", "last row cut after the x value", "expected 2 columns, found 1",
     where=f"line {data_start + 30}", content=joined(lines_of(PL)[:data_start + 29] + ["610.00"]))
case("pl/truncated_short.csv", F, "fluoracle", "only 3 data rows", "only 3 data rows", where="line",
     content=joined(lines_of(PL)[:data_start + 2]))
case("pl/nan_count.csv", F, "fluoracle", "NaN count", "value is not finite (nan)", where=f"line {data_start + 10}",
     content=replace_line(PL, data_start + 10, "510.00,nan"))
case("pl/inf_count.csv", F, "fluoracle", "-inf count", "value is not finite (-inf)",
     where=f"line {data_start + 11}", content=replace_line(PL, data_start + 11, "515.00,-inf"))
case("pl/text_count.csv", F, "fluoracle", "overflow marker instead of a number", "non-numeric value '####'",
     where=f"line {data_start + 20}", content=replace_line(PL, data_start + 20, "560.00,####"))
case("pl/decimal_comma.csv", F, "fluoracle", "decimal commas (German locale export)",
     "expected 2 columns, found 4", where=f"line {data_start}",
     content=joined(lines_of(PL)[:data_start - 1] + [ln.replace(".", ",") for ln in lines_of(PL)[data_start - 1:]]))
case("pl/non_monotonic.csv", F, "fluoracle", "wavelength goes back (two scans concatenated)",
     "not strictly monotonic", where=f"line {data_start + 5}",
     content=replace_line(PL, data_start + 5, "470.00,25"))
case("pl/wavenumber_units.csv", F, "fluoracle", "XAxis in wavenumbers (wrong units) for an emission scan",
     "XAxis", content=PL.replace("Xaxis,Wavelength", "Xaxis,Wavenumber (cm-1)"))
case("pl/negative_counts.csv", F, "fluoracle", "negative counts in a raw emission scan", "negative",
     content=replace_line(PL, data_start + 3, "475.00,-40"))
case("pl/decay_as_pl.csv", F, "fluoracle", "a TCSPC decay exported under the PL file name (Type/XAxis Time)",
     "Type", content=DECAY)
case("pl/synchronous_scan.csv", F, "fluoracle",
     "a synchronous absorptance scan (Type Synchronous Scan, Yaxis Absorbance)",
     "Type 'Synchronous Scan'", where="line 2",
     content=PL.replace("Emission Scan", "Synchronous Scan").replace("Yaxis,Counts", "Yaxis,Absorbance"))
case("pl/excitation_scan.csv", F, "fluoracle", "an excitation scan exported for a PL row", "Type 'Excitation Scan'",
     where="line 2", content=PL.replace("Emission Scan", "Excitation Scan"))
case("pl/two_curves_no_curve.csv", F, "fluoracle", "a two-curve export and no curve named in the sheet",
     "2 curves ['InP_MS_ZnBr2', 'repeat']", where="header Labels",
     content=format_fluoracle_csv(wl_pl, np.stack([gaussian(wl_pl, 610, 20, 5000, 20).round()] * 2, axis=1),
                                  label=["InP_MS_ZnBr2", "repeat"], scan_type="Emission Scan", x_axis="Wavelength",
                                  fixed_offset=450.0, title="S1-Multi-Scan InP_MS_ZnBr2"))

# ------------------------------------------------------------------ Fluoracle PLQY sphere scans
Q = "fluoracle_plqy"
q_start = first_line(PLQY, "430.00")
case("plqy/empty.csv", Q, "fluoracle", "empty file", "file is empty", content=b"")
case("plqy/truncated_midrow.csv", Q, "fluoracle", "file cut in the middle of a row (no comma)",
     "expected 2 columns, found 1", where=f"line {q_start + 40}",
     content=joined(lines_of(PLQY)[:q_start + 39] + ["630.0"]), swap_into="plqy/InP_MS_ZnBr2_in_beam.csv")
case("plqy/extra_column.csv", Q, "fluoracle", "a row with two count columns", "expected 2 columns, found 3",
     where=f"line {q_start + 2}", content=replace_line(PLQY, q_start + 2, "440.00,31,31"))
case("plqy/missing_labels_type.csv", Q, "fluoracle", "Labels and Type rows missing", "['Labels', 'Type']",
     where="header", content=joined(lines_of(PLQY)[2:]))
case("plqy/fixed_offset_nan.csv", Q, "fluoracle", "Fixed/Offset (excitation) is NaN",
     "Fixed/Offset is not finite", where="line 7", content=PLQY.replace("Fixed/Offset,450.00", "Fixed/Offset,nan"))
case("plqy/crlf_inf.csv", Q, "fluoracle", "CRLF line ends and an inf count", "value is not finite (inf)",
     where=f"line {q_start + 4}", content=replace_line(PLQY, q_start + 4, "450.00,inf").replace("\n", "\r\n"))
case("plqy/time_axis.csv", Q, "fluoracle", "XAxis Time (wrong units) for a sphere scan", "XAxis",
     content=PLQY.replace("Xaxis,Wavelength", "Xaxis,Time(ns)"))

# ------------------------------------------------------------------ TCSPC (Fluoracle CSV decays and IRFs)
T = "tcspc"
t_start = first_line(DECAY, "0.00,")
case("tcspc/binary_junk.csv", T, "tcspc_decay", "binary junk", "binary content", content=PNG_JUNK)
case("tcspc/wavelength_axis.csv", T, "tcspc_decay", "XAxis Wavelength (an emission scan, wrong units)",
     "expected a TCSPC export with XAxis 'Time(ns)'", where="line 8",
     content=DECAY.replace("XAxis,Time(ns)", "XAxis,Wavelength"), swap_into="trpl/InP_MS_ZnBr2.csv")
case("tcspc/bare_time_axis.csv", T, "tcspc_decay", "XAxis 'Time' without a unit (ns or us?)",
     "gives no known time unit", where="line 8", content=DECAY.replace("XAxis,Time(ns)", "XAxis,Time"))
case("tcspc/steady_state_type.csv", T, "tcspc_decay", "Type Emission Scan with a time axis",
     "is not a TCSPC time scan", where="line 2", content=DECAY.replace("Type,Time Scan", "Type,Emission Scan"))
case("tcspc/decay_as_irf.csv", T, "tcspc_irf", "decay file where the IRF is expected (sheet roles swapped)",
     "a decay, not an instrument response", content=DECAY, swap_into="trpl/IRF_halide_treatment.csv")
case("tcspc/irf_other_channels.csv", T, "tcspc_irf", "IRF recorded with another channel width than the decay",
     "channels of 0.25 ns, but the decay", content=tcspc(irf_counts, scan_type="Instrument Response Time Scan",
                                                          times=t_ns / 2, label="IRF_halide_treatment"))
case("tcspc/truncated.csv", T, "tcspc_decay", "data end before the header's Stop", "truncated file?",
     content=joined(lines_of(DECAY)[:t_start + 38]))
case("tcspc/negative_counts.csv", T, "tcspc_decay", "negative counts", "negative counts (-3)",
     where=f"line {t_start + 20}",
     content=replace_line(DECAY, t_start + 20, "10.00,-3"))
case("tcspc/non_integer_counts.csv", T, "tcspc_decay", "fractional counts (rescaled export)",
     "non-integer counts (2.5)", where=f"line {t_start + 3}", content=replace_line(DECAY, t_start + 3, "1.50,2.5"))
case("tcspc/all_zero.csv", T, "tcspc_decay", "all counts zero (shutter closed)", "all counts are zero",
     content=tcspc(np.zeros_like(t_ns)))
case("tcspc/no_rise.csv", T, "tcspc_irf", "flat histogram (no laser)", "no rise",
     content=tcspc(np.full_like(t_ns, 50.0), scan_type="Instrument Response Time Scan"))
case("tcspc/uneven_axis.csv", T, "tcspc_decay", "uneven channel spacing", "not evenly spaced",
     content=tcspc(decay_counts, times=np.concatenate([t_ns[:32], t_ns[32:] + 0.2])))
case("tcspc/stop_text.csv", T, "tcspc_decay", "non-numeric Stop header", "non-numeric Stop 'end'",
     where="line 5", content=DECAY.replace("Stop,31.50", "Stop,end"))
case("tcspc/nan_count.csv", T, "tcspc_decay", "NaN count", "value is not finite (nan)",
     where=f"line {t_start + 12}", content=replace_line(DECAY, t_start + 12, "6.00,nan"))
case("tcspc/time_backwards.csv", T, "tcspc_irf", "time axis goes back", "not strictly monotonic",
     where=f"line {t_start + 8}", content=replace_line(IRF, t_start + 8, "1.00,2"))

# ------------------------------------------------------------------ VAMAS (ISO 14976) XPS
V = "vamas"
vms = lines_of(VMS)
# the first block's ordinate count line: "20" right after the 'additional parameters' "0"
ordinate_count_line = next(i for i in range(len(vms)) if vms[i] == "20" and vms[i - 1] == "0"
                           and vms[i - 2] == "1E+37") + 1
first_ordinate = ordinate_count_line + 3  # min, max, then values
second_block_start = vms.index("In 3d") + 1
block_count_line = vms.index("C 1s") - 1  # 0-based index of the header's block count: the line before block 1


def first_block_parameter(after: str, offset: int) -> int:
    """0-based index of a block-1 parameter, ``offset`` lines after the line ``after``."""
    return vms.index(after) + offset
case("vamas/empty.vms", V, V, "empty file", "file is empty", content=b"")
case("vamas/not_vamas.vms", V, V, "a CasaXPS .csv export renamed .vms", "not a VAMAS file", where="line 1",
     content="Binding Energy (E),Counts\n450.0,200\n449.5,210\n")
case("vamas/binary_junk.vms", V, V, "binary junk", "binary content", content=PNG_JUNK)
case("vamas/truncated.vms", V, V, "file cut inside the second block", "file ends while reading",
     where="block 2 of 2", content=joined(vms[:second_block_start + 60]), swap_into="xps/InP_MS_ZnBr2.vms")
case("vamas/block_count.vms", V, V, "header declares 1 block, file holds 2",
     "block count in the header does not match", where=f"line {second_block_start}",
     content=joined(vms[:block_count_line] + ["1"] + vms[block_count_line + 1:]))
case("vamas/nan_ordinate.vms", V, V, "NaN ordinate", "ordinate value is not finite (nan)",
     where=f"block 1 of 2 ('C 1s'), line {first_ordinate + 4}",
     content=joined(vms[:first_ordinate + 3] + ["nan"] + vms[first_ordinate + 4:]))
case("vamas/text_ordinate.vms", V, V, "text in the ordinates", "non-numeric ordinate value '12O'",
     where=f"line {first_ordinate + 6}", content=joined(vms[:first_ordinate + 5] + ["12O"] + vms[first_ordinate + 6:]))
case("vamas/negative_counts.vms", V, V, "negative pulse counts", "negative counts in a pulse-counting block",
     where="block 1 of 2", content=joined(vms[:first_ordinate + 1] + ["-5"] + vms[first_ordinate + 2:]))
case("vamas/bad_mode.vms", V, V, "unknown experiment mode", "unknown experiment mode 'SPECTRUM'",
     where="line 7", content=joined(vms[:6] + ["SPECTRUM"] + vms[7:]))
case("vamas/wrong_units.vms", V, V, "abscissa in keV (wrong units)",
     "expected 'Kinetic Energy' or 'Binding Energy' in eV",
     where="block 1 of 2", content=joined([("keV" if (ln == "eV" and vms[i - 1] == "Kinetic energy") else ln)
                                           for i, ln in enumerate(vms)]))
case("vamas/latin1_identifier.vms", V, V, "experiment identifier in Latin-1", "not valid UTF-8", where="line 5",
     content=joined(vms[:4] + ["Probe \u00c5ngstr\u00f6m-scale spot"] + vms[5:]).encode("latin-1"))

case("vamas/mapping_scan.vms", V, V, "MAPPING scan mode (an image, not a spectrum)",
     "scan mode 'MAPPING' not supported", where="line 8", content=joined(vms[:7] + ["MAPPING"] + vms[8:]))
case("vamas/kinetic_without_source.vms", V, V, "kinetic-energy abscissa, source energy 1E+37 (not given)",
     "source energy is not given", where="block 1 of 2",
     content=replace_line(VMS, first_block_parameter("Al (mono)", 1) + 1, "1E+37"))
case("vamas/dwell_not_given.vms", V, V, "dwell time 1E+37 (not given): counts cannot become rates",
     "dwell time and number of scans must be given", where="block 1 of 2",
     content=replace_line(VMS, first_block_parameter("pulse counting", 1) + 1, "1E+37"))
case("vamas/rate_label_in_counts.vms", V, V, "signal labelled 'count rate' but in 'd' (counts or c/s?)",
     "labelled a count rate but its unit is 'd'", where="block 1 of 2",
     content=replace_line(VMS, first_block_parameter("Intensity", 0) + 1, "count rate"))
case("vamas/unknown_ordinate_unit.vms", V, V, "signal in volts (analogue detector, not counts)",
     "signal 'Intensity' in 'V'", where="block 1 of 2",
     content=replace_line(VMS, first_block_parameter("Intensity", 1) + 1, "V"))
case("vamas/nul_inside_line.vms", V, V, "NUL byte inside a text line (not trailing padding)", "binary content",
     content=joined(vms[:first_block_parameter("FAT", 9)] + ["C\x001s"] + vms[first_block_parameter("FAT", 10):]))

# ------------------------------------------------------------------ .xy powder patterns
X = "xy"
xy = lines_of(XY)
xy_start = first_line(XY, "20.00")
case("xy/empty.xy", X, X, "empty file", "file is empty", content=b"")
case("xy/binary_junk.xy", X, X, "binary junk (a .raw Bruker file renamed)", "binary content",
     content=b"RAW1.01" + PNG_JUNK)
case("xy/only_comments.xy", X, X, "comments only, no data", "no data rows", content=joined(xy[:xy_start - 1]))
case("xy/single_column.xy", X, X, "counts only, no 2theta column", "a single column", where=f"line {xy_start}",
     content=joined(xy[:xy_start - 1] + [ln.split()[1] for ln in xy[xy_start - 1:]]))
case("xy/four_columns.xy", X, X, "four columns (multi-scan export)", "4 columns", where=f"line {xy_start + 3}",
     content=replace_line(XY, xy_start + 3, "21.50 310 17 5"))
case("xy/truncated_row.xy", X, X, "last row cut after 2theta", "expected 2 values, found 1",
     where=f"line {len(xy)}", content=joined(xy[:-1] + ["39.50"]))
case("xy/negative_counts.xy", X, X, "negative counts (background-subtracted export)", "negative counts -12",
     where=f"line {xy_start + 4}", content=replace_line(XY, xy_start + 4, "22.00 -12"),
     swap_into="xrd/InP_MS_ZnBr2.xy")
case("xy/nan_counts.xy", X, X, "NaN counts", "counts is not finite (nan)", where=f"line {xy_start + 6}",
     content=replace_line(XY, xy_start + 6, "23.00 nan"))
case("xy/non_monotonic.xy", X, X, "2theta goes back", "not strictly monotonic", where=f"line {xy_start + 9}",
     content=replace_line(XY, xy_start + 9, "22.00 305"))
case("xy/radians.xy", X, X, "2theta in radians (wrong units: all points < 1 but one)", "outside (0, 180) deg",
     where=f"line {xy_start}", content=replace_line(XY, xy_start, "0.00 300"))
case("xy/wavelength_nm.xy", X, X, "wavelength in nm (wrong units)", "is not in angstrom", where="line 3",
     content=XY.replace("# wavelength 1.54060", "# wavelength 0.0154"))
case("xy/unknown_radiation.xy", X, X, "unknown anode", "unknown radiation 'Xx'", where="line 1",
     content="# radiation Xx\n" + joined(xy[3:]))
case("xy/latin1_header.xy", X, X, "header in Latin-1 (degree sign)", "not valid UTF-8", where="line 1",
     content=("# scan 20-40 \u00b0 2theta\n" + XY).encode("latin-1"), swap_into="xrd/SRM640_halide_treatment.xy")

xye = [f"{t:.2f} {c:.0f} {np.sqrt(c):.3f}" for t, c in
       zip(two_theta, gaussian(two_theta, 26.5, 0.8, 900, 300).round(), strict=False)]
case("xy/zero_esd_with_counts.xy", X, X, "esd 0 on a point with counts (sigma = 0 weight)", "esd 0 for counts",
     where="line 6", content=joined(xye[:5] + [xye[5].rsplit(" ", 1)[0] + " 0"] + xye[6:]))
case("xy/negative_esd.xy", X, X, "negative esd", "negative esd", where="line 3",
     content=joined(xye[:2] + [xye[2].rsplit(" ", 1)[0] + " -17.4"] + xye[3:]))

# ------------------------------------------------------------------ PANalytical .xrdml
XRDML = format_xrdml(20.0, 39.5, gaussian(two_theta, 26.5, 0.8, 900, 300).round(), counting_time_s=1.0,
                     sample_id="InP_MS_ZnBr2")
(HERE / "good" / "pattern.xrdml").write_bytes(XRDML.encode("utf-8"))
R = "xrdml"
case("xrdml/empty.xrdml", R, R, "empty file", "file is empty", content=b"")
case("xrdml/truncated.xrdml", R, R, "file cut inside the intensities", "not well-formed XML",
     content=XRDML[: len(XRDML) * 9 // 10])
case("xrdml/not_xrdml.xrdml", R, R, "an XML file of another program", "not an XRDML file",
     where="root element", content='<?xml version="1.0"?>\n<brml><data/></brml>\n')
case("xrdml/no_data_points.xrdml", R, R, "scan aborted before the first point (empty intensities)",
     "no data points", where="<dataPoints>",
     content=XRDML[:XRDML.index('<intensities unit="counts">') + 27] + XRDML[XRDML.index("</intensities>"):])
case("xrdml/two_scans.xrdml", R, R, "two scans in one measurement (repeated scan)", "2 <scan> element(s)",
     where="<xrdMeasurement>", content=XRDML.replace("</scan>", "</scan>\r\n\t\t<scan appendNumber=\"1\"/>"))
case("xrdml/omega_scan.xrdml", R, R, "rocking curve: 2Theta fixed", "not a 2theta scan",
     where='<positions axis="2Theta">',
     content=XRDML.replace("<startPosition>20.00000000</startPosition>\r\n\t\t\t\t\t<endPosition>39.50000000"
                           "</endPosition>", "<commonPosition>26.00</commonPosition>"))
case("xrdml/no_wavelength.xrdml", R, R, "usedWavelength without kAlpha1", "no <kAlpha1> wavelength",
     where="<usedWavelength>", content=XRDML.replace('<kAlpha1 unit="Angstrom">1.5405980</kAlpha1>', ""))

# ------------------------------------------------------------------ PicoQuant .phu (reader only)
P = "phu"
case("phu/empty.phu", P, P, "empty file", "PHU", content=b"")
case("phu/junk.phu", P, P, "not a PicoQuant file", "PHU", content=PNG_JUNK)
case("phu/truncated_magic.phu", P, P, "PQHISTO magic then nothing", "PHU", content=b"PQHISTO\x00" + b"1.0\x00" * 2)

# ------------------------------------------------------------------ Agilent ICP Expert CSV (ICP-OES)
ICP = format_icp_csv(
    [dict(label="Blank", type="Blank", element_line="In 230.606", intensity_cps=612.4, rsd_percent=3.1,
          replicates=3, std_conc=None, time="2023-03-14 10:02:11"),
     dict(label="Std 1", type="Cal Std", element_line="In 230.606", intensity_cps=10532.0, rsd_percent=0.8,
          replicates=3, std_conc=0.5, time="2023-03-14 10:05:40"),
     dict(label="Std 2", type="Cal Std", element_line="In 230.606", intensity_cps=21011.0, rsd_percent=0.7,
          replicates=3, std_conc=1.0, time="2023-03-14 10:08:40"),
     dict(label="etch1", type="Sample", element_line="In 230.606", intensity_cps=8211.5, rsd_percent=0.9,
          replicates=3, std_conc=None, time="2023-03-14 10:21:02")],
    metadata={"Worksheet": "InP_MS_ZnBr2 etching", "Instrument": "Agilent 5110 ICP-OES (SVDV)"})
(HERE / "good" / "icp.csv").write_text(ICP)
icp = lines_of(ICP)
ICP_FMT = "icp"
case("icp/empty.csv", ICP_FMT, ICP_FMT, "empty file", "file is empty", content=b"")
case("icp/no_header.csv", ICP_FMT, ICP_FMT, "column header row deleted", "no header row starting with 'Solution Label'",
     content=joined(icp[:2] + icp[3:]))
case("icp/kcps_units.csv", ICP_FMT, ICP_FMT, "intensity exported in kc/s (wrong units)", "expected 'Int (c/s)'",
     where="line 3", content=ICP.replace("Int (c/s)", "Int (kc/s)"))
case("icp/truncated_row.csv", ICP_FMT, ICP_FMT, "last row cut after the element",
     "fields, header has 10 (truncated row?)", where="line 7", content=joined(icp[:6] + ["etch1,Sample,In 230.606"]))
case("icp/nan_intensity.csv", ICP_FMT, ICP_FMT, "NaN intensity (overrange)", "intensity is not finite (nan)",
     where="line 5", content=ICP.replace("10532.0", "nan"))
case("icp/unknown_unit.csv", ICP_FMT, ICP_FMT, "concentration unit g/L", "concentration unit 'g/L'", where="line 4",
     content=replace_line(ICP, 4, icp[3].replace("mg/L", "g/L")))
case("icp/negative_rsd.csv", ICP_FMT, ICP_FMT, "negative %RSD", "out of range", where="line 7",
     content=replace_line(ICP, 7, icp[6].replace(",0.90,", ",-0.90,")))
case("icp/bad_type.csv", ICP_FMT, ICP_FMT, "solution Type 'Standard' (not an ICP Expert type)",
     "unknown Type 'Standard'", where="line 5", content=replace_line(ICP, 5, icp[4].replace("Cal Std", "Standard")))
case("icp/latin1_units.csv", ICP_FMT, ICP_FMT, "exported in Latin-1 (µg/L)", "not valid UTF-8", where="line 4",
     content=ICP.replace("mg/L", "\u00b5g/L").encode("latin-1"))

# ------------------------------------------------------------------ Thermo Chromeleon ASCII (ion chromatography)
t_ic = np.arange(0, 40) * 0.05
CHROM = format_chromeleon_txt(t_ic, 0.5 + gaussian(t_ic, 1.0, 0.05, 12.0, 0),
                              injection={"Injection": "etch1", "Type": "Unknown", "Dilution Factor": "1"})
write_chromeleon_txt(HERE / "good" / "chromatogram.txt", t_ic, 0.5 + gaussian(t_ic, 1.0, 0.05, 12.0, 0),
                     injection={"Injection": "etch1", "Type": "Unknown", "Dilution Factor": "1"})
chrom = lines_of(CHROM)
ic_header = chrom.index("Chromatogram Data:") + 2
G = "chromeleon"
case("ic/empty.txt", G, G, "empty file", "file is empty", content=b"")
case("ic/binary_junk.txt", G, G, "binary junk (a .cmbx archive renamed)", "binary content", content=PNG_JUNK)
case("ic/latin1_export.txt", G, G, "ANSI/Latin-1 export (µS as byte 0xB5)", "re-export from Chromeleon as Unicode",
     where="line", content=CHROM.encode("latin-1"))
case("ic/not_chromeleon.txt", G, G, "two-column text without sections", "not a Chromeleon ASCII export",
     content="time\tsignal\n0.0\t0.5\n")
case("ic/report_text.txt", G, G, "a printed report saved as text (no key<TAB>value lines)",
     "neither a 'key<TAB>value' line nor a section title", where="line 1",
     content="Sample report etch1\nBr- 0.12 mg/L\n")
case("ic/no_data_section.txt", G, G, "export without the data table", "no 'Chromatogram Data:' section",
     content=joined(chrom[:ic_header - 2]))
case("ic/millisiemens.txt", G, G, "signal in mS (wrong units)", "signal unit 'mS'", where=f"line {ic_header}",
     content=CHROM.replace("Value (\u00b5S)", "Value (mS)").replace("Signal Unit\t\u00b5S", "Signal Unit\tmS"))
case("ic/nanocoulomb.txt", G, G, "amperometric detector export (nC) on a conductivity row", "signal unit 'nC'",
     where=f"line {ic_header}",
     content=CHROM.replace("Value (\u00b5S)", "Value (nC)").replace("Signal Unit\t\u00b5S", "Signal Unit\tnC"))
case("ic/unit_mismatch.txt", G, G, "column unit disagrees with the header's Signal Unit",
     "disagrees with Signal Unit", where=f"line {ic_header}", content=CHROM.replace("Value (\u00b5S)", "Value (mS)"))
case("ic/mixed_decimal_marks.txt", G, G, "decimal point in the first row, commas after it",
     "has a ',' but the table's decimal mark is '.'", where=f"line {ic_header + 2}",
     content=joined(chrom[:ic_header + 1] + [ln.replace(".", ",") for ln in chrom[ic_header + 1:]]))
case("ic/truncated.txt", G, G, "file cut after 30 of 40 data rows", "header says Data Points 40 (truncated?)",
     where=f"line {ic_header + 30}", content=joined(chrom[:ic_header + 30]))
case("ic/nan_signal.txt", G, G, "NaN conductivity", "signal is not finite (nan)", where=f"line {ic_header + 5}",
     content=replace_line(CHROM, ic_header + 5, chrom[ic_header + 4].rsplit("\t", 1)[0] + "\tnan"))

# ------------------------------------------------------------------ TEM micrographs (16-bit ImageJ TIFF)
import tifffile  # noqa: E402

yy, xx = np.mgrid[0:48, 0:48]
micrograph = (20000 + 3000 * np.cos(xx / 4.0) * np.cos(yy / 5.0)).astype(np.uint16)
write_tem_tiff(HERE / "good" / "micrograph.tif", micrograph, 0.25)
TIF = (HERE / "good" / "micrograph.tif").read_bytes()


def tiff_bytes(image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, image, **kwargs)
    return buffer.getvalue()


M = "tem_tiff"
case("tem/empty.tif", M, M, "empty file", "not a readable TIFF file", content=b"")
case("tem/junk.tif", M, M, "PNG saved with a .tif name", "not a readable TIFF file", content=PNG_JUNK)
case("tem/truncated.tif", M, M, "file cut in the middle of the image data", "truncated or corrupt",
     content=TIF[:len(TIF) * 2 // 3])
case("tem/complex.tif", M, M, "complex samples (an FFT saved as TIFF)", "complex samples", where="page 0",
     content=tiff_bytes(micrograph.astype(np.complex64), resolution=(4e7, 4e7), resolutionunit="CENTIMETER"))
case("tem/rgb.tif", M, M, "colour RGB image (annotated display copy)", "colour RGB image", where="page 0",
     content=tiff_bytes(np.stack([micrograph // 256, micrograph // 512, micrograph // 1024], axis=-1).astype(np.uint8),
                        photometric="rgb", resolution=(4e7, 4e7), resolutionunit="CENTIMETER"))
case("tem/no_pixel_size.tif", M, M, "no calibration (no unit, no resolution)", "missing pixel size",
     where="TIFF tags", content=tiff_bytes(micrograph))
case("tem/unknown_unit.tif", M, M, "ImageJ unit 'furlong' (wrong units)", "unknown length unit 'furlong'",
     where="ImageJ metadata", content=tiff_bytes(micrograph, imagej=True, resolution=(4.0, 4.0),
                                                 metadata={"unit": "furlong"}))
case("tem/optical_scale.tif", M, M, "pixel size 1 mm (a photo, not a TEM magnification)",
     "not a particle-sizing magnification", where="ImageJ metadata",
     content=tiff_bytes(micrograph, imagej=True, resolution=(1.0, 1.0), metadata={"unit": "mm"}))
case("tem/print_resolution.tif", M, M, "72 dpi print resolution (Gatan 'Save as TIFF', int32)",
     "not a TEM calibration", where="TIFF tags",
     content=tiff_bytes(micrograph.astype(np.int32), resolution=(72, 72), resolutionunit="INCH"))
case("tem/fei_navcam.tif", M, M, "FEI/Thermo metadata without [Scan] (navigation camera)",
     "without [Scan] PixelWidth", where="FEI metadata",
     content=tiff_bytes((micrograph // 256).astype(np.uint8), resolution=(96, 96), resolutionunit="INCH",
                        extratags=[(34682, "s", 0, "[User]\r\nUser=FIBuser\r\n\r\n[Image]\r\nResolutionX=48\r\n"
                                    "ResolutionY=40\r\n\r\n[PrivateFei]\r\nDatabarHeight=8\r\n", True)]))
case("tem/constant.tif", M, M, "blank frame (beam off)", "constant image", where="page 0",
     content=tiff_bytes(np.full((48, 48), 1000, np.uint16), imagej=True, resolution=(4.0, 4.0),
                        metadata={"unit": "nm"}))

# ------------------------------------------------------------------ Gatan DigitalMicrograph .dm3/.dm4


def dm_bytes(image, pixel, **kwargs) -> bytes:
    scratch = HERE / "good" / "_scratch.dm"
    write_dm(scratch, image, pixel, **kwargs)
    data = scratch.read_bytes()
    scratch.unlink()
    return data


write_dm(HERE / "good" / "micrograph.dm4", micrograph, 0.25, name="InP_MS_ZnBr2")
DM4 = (HERE / "good" / "micrograph.dm4").read_bytes()
D = "dm"
case("dm/empty.dm4", D, D, "empty file", "not a readable DigitalMicrograph file", content=b"")
case("dm/truncated.dm4", D, D, "file cut in the middle of the image data", "truncated",
     content=DM4[:len(DM4) * 2 // 3])
case("dm/truncated_tags.dm4", D, D, "file cut inside the tag tree", "not a readable DigitalMicrograph file",
     content=DM4[:300])
case("dm/diffraction.dm3", D, D, "a diffraction pattern (calibrated in 1/nm)", "reciprocal-space calibration",
     where="ImageList 2 calibration", content=dm_bytes(micrograph, 0.0174, unit="1/nm", version=3))
case("dm/uncalibrated.dm4", D, D, "no calibration (unit empty, scale 1)", "uncalibrated",
     where="ImageList 2 calibration", content=dm_bytes(micrograph, 1.0, unit=""))
case("dm/spectrum.dm3", D, D, "an EELS spectrum (1 x N)", "1-D data (a spectrum)", where="ImageList 2",
     content=dm_bytes(micrograph[:1], 0.1, unit="eV", version=3))
case("dm/non_square.dm4", D, D, "x 1 nm, y 2 A pixels (openNCEM dmTest_float32_nonSquare layout)",
     "non-square pixels", where="ImageList 2 calibration",
     content=dm_bytes(micrograph.astype(np.float32), 1.0, unit="nm", y_pixel_size=0.2))

# ------------------------------------------------------------------ sample sheets
HEADER = "file,technique,sample,role,series,material,treatment,temperature_C,time_min,etch_cycle,sha256,sphere_position"
DIGEST = "0" * 64


def sheet_row(file, technique="pl", sample="InP_MS_ZnBr2", role="measurement", series="halide_treatment",
              temperature="300", sphere=""):
    return (f"{file},{technique},{sample},{role},{series},InP/ZnSe/ZnSeS/ZnS,ZnBr2,{temperature},60,,"
            f"{DIGEST},{sphere}")


S = "sheet"
ok_rows = [sheet_row("pl/InP_MS_pristine.csv", sample="InP_MS_pristine"), sheet_row("pl/InP_MS_ZnBr2.csv")]
case("sheet/duplicate_sample.csv", S, "sheet", "two pl measurement rows for one sample id",
     "duplicate (technique, sample, role, sphere_position)", where="line 2",
     content=joined([HEADER, sheet_row("pl/InP_MS_pristine.csv"), ok_rows[1]]), swap_into="samples.csv")
case("sheet/duplicate_file.csv", S, "sheet", "one raw file listed on two rows", "is listed twice", where="line 3",
     content=joined([HEADER, ok_rows[0], sheet_row("pl/InP_MS_ZnBr2.csv"),
                     sheet_row("pl/InP_MS_ZnBr2.csv", technique="uvvis")]))
case("sheet/missing_file.csv", S, "sheet", "row points to a file that does not exist",
     "raw file 'pl/InP_MS_ZnI2.csv' does not exist", where="line 2",
     content=joined([HEADER, sheet_row("pl/InP_MS_ZnI2.csv", sample="InP_MS_ZnI2"), *ok_rows]),
     swap_into="samples.csv")
case("sheet/bad_technique.csv", S, "sheet", "technique not in the enum (PL spelled 'photoluminescence')",
     "'photoluminescence' is not one of", where="line 3",
     content=joined([HEADER, ok_rows[0], sheet_row("pl/InP_MS_ZnBr2.csv", technique="photoluminescence")]),
     swap_into="samples.csv")
case("sheet/bad_role.csv", S, "sheet", "role 'sample' not in the enum", "'sample' is not one of", where="line 2",
     content=joined([HEADER, sheet_row("pl/InP_MS_pristine.csv", sample="InP_MS_pristine", role="sample"),
                     ok_rows[1]]))
case("sheet/bad_series.csv", S, "sheet", "series name with a typo", "'halide_treatmnet' is not one of",
     where="line 3", content=joined([HEADER, ok_rows[0], sheet_row("pl/InP_MS_ZnBr2.csv", series="halide_treatmnet")]))
case("sheet/bad_sphere_position.csv", S, "sheet", "sphere_position not in the enum", "'inbeam' is not one of",
     where="line 2", content=joined([HEADER, sheet_row("plqy/x_in_beam.csv", technique="plqy", sphere="inbeam")]))
case("sheet/missing_sha256_column.csv", S, "sheet", "sha256 column missing", "missing column(s) ['sha256']",
     where="line 1", content=joined([",".join(c for c in HEADER.split(",") if c != "sha256")]
                                    + [",".join(v for k, v in zip(HEADER.split(","), r.split(","), strict=False)
                                                if k != "sha256")
                                       for r in ok_rows]))
case("sheet/temperature_text.csv", S, "sheet", "temperature with a unit ('300C')", "temperature_C is not a number",
     where="line 3", content=joined([HEADER, ok_rows[0], sheet_row("pl/InP_MS_ZnBr2.csv", temperature="300C")]))
case("sheet/empty.csv", S, "sheet", "empty sample sheet", "cannot parse as CSV", content=b"")
case("sheet/latin1.csv", S, "sheet", "sheet saved in Latin-1 (degree sign in treatment)", "cannot parse as CSV",
     content=joined([HEADER, ok_rows[0].replace("ZnBr2,300", "ZnBr2 300\u00b0,300")]).encode("latin-1"))

# ------------------------------------------------------------------ manifest
buffer = io.StringIO()
writer = csv.DictWriter(buffer, fieldnames=list(CASES[0]), lineterminator="\n")
writer.writeheader()
writer.writerows(CASES)
(HERE / "MANIFEST.csv").write_text(buffer.getvalue())
print(f"wrote {len(CASES)} bad files and MANIFEST.csv to {HERE}")
