"""The normalising stage: canonical URLs, plain text, content hashes (pure).

Imports nothing of the application; everything above may use it.
"""

from monitor.normalize.clean import canonical_url, clean_title, content_hash, html_to_text

__all__ = ["canonical_url", "clean_title", "content_hash", "html_to_text"]
