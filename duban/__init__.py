"""Duban (督办): a workflow engine for public supervision cases (社会监督意见)."""

__version__ = "0.1.0"
