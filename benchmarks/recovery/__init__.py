"""Parameter-recovery benchmark: randomized truths -> independent forward model -> real file formats ->
readers -> analysis -> how often the reported 1-sigma covers the truth.

One module per technique group (``optical``, ``trpl``, ``xps``, ...), each exposing ``CASES``; the
machinery (drawing, running, statistics, the Markdown table) is :mod:`benchmarks.recovery.core`.
"""
