"""Seeded forward models that write the synthetic stand-in ``raw/`` tree.

``python -m qdanalysis.simulate --out raw`` writes every technique's files, ``raw/samples.csv`` (with
sha256) and ``raw/ground_truth.json``. The analysis pipeline never reads the ground truth; tests
compare against it. Each technique draws from its own random stream, derived from the master seed
and the technique's name, so adding a technique never changes another technique's bytes. Sample
identity (series, material, treatment, temperature, time, etch cycle) is catalogued once, in
:mod:`qdanalysis.simulate.samples`.
"""
