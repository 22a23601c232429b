"""The notifiers exception root."""

from __future__ import annotations

__all__ = ["NotifyError", "UnknownChannelError"]


class NotifyError(Exception):
    """Delivery through a channel failed or a channel is misconfigured."""


class UnknownChannelError(NotifyError):
    """A channel name is not configured."""
