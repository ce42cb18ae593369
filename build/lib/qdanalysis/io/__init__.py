"""Instrument-format readers: one module per format, each returns a frozen dataclass."""

from qdanalysis.io.errors import RawDataError

__all__ = ["RawDataError"]
