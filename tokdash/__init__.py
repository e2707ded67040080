"""tokdash: watch what your AI coding agents spend, live, per session."""

__version__ = "0.1.0"
