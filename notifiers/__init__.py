"""Delivery for newsmon: rendering per channel, the Apprise edge, the console channel."""
