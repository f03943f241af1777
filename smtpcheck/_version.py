"""The package version, kept in a module of its own so `--version` imports nothing else."""

__all__ = ["__version__"]

__version__ = "0.1.0"
