"""Shared truth for the etching experiment (TEM sizes, ICP In:Zn, ion-chromatography Br-).

The paper's text fixes the order of events, not the sizes: the InP core-multishell QDs reach the InP
core surface after five etch cycles, and the sixth cycle dissolves the core (p. 13121). Assumed here
(documented, plausible for green InP/ZnSe/ZnSeS/ZnS QDs): core diameter 3.4 nm; outer radius of the
ZnSe, ZnSeS and ZnS layers 2.9, 4.4 and 5.6 nm; each cycle removes ~0.8 nm of radius, so the diameter
after cycle k is ``DIAMETER_AFTER_CYCLE_NM[k]`` (k = 0: before etching). Size dispersion (sd) ~7 %.
Both the TEM and the etching simulators import these numbers so their truths agree.
"""

CORE_RADIUS_NM = 1.7
# outer radius of each layer, from the core outwards
LAYER_OUTER_RADIUS_NM = {"InP": 1.7, "ZnSe": 2.9, "ZnSeS": 4.4, "ZnS": 5.6}
DIAMETER_AFTER_CYCLE_NM = [11.2, 9.6, 8.0, 6.4, 4.9, 3.4, 0.0]
RELATIVE_SD = 0.07
N_CYCLES = 6
