"""The command line."""

from monitor.cli.app import main

__all__ = ["main"]
