"""qdanalysis: readers, analysis and forward models for the Yuan et al. (Chem. Sci. 2023) pipeline.

Layers (see ../STYLE in the project docs): ``qdanalysis.io`` reads one instrument format each and
returns typed records; ``qdanalysis.<technique>`` holds pure analysis functions; and
``qdanalysis.simulate`` holds the seeded forward models that write the synthetic ``raw/`` tree.
"""

__version__ = "0.1.0"
