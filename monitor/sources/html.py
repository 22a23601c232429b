"""HTML listing pages (``kind: html``): article links and the next page, by CSS selector.

`parse_listing` is pure. `link_selector` may pick the ``<a>`` elements
themselves or their containers (``h2.title``): the first link inside a
container counts. Links are made absolute against the page (or its
``<base href>``); fragments, ``javascript:``, ``mailto:`` and repeats are
dropped, first occurrence first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup

from monitor.normalize.clean import canonical_url, clean_title
from monitor.sources.encoding import decode_html

__all__ = ["Listing", "ListingLink", "parse_listing"]


@dataclass(frozen=True, slots=True)
class ListingLink:
    """An article link found on a listing page."""

    url: str  # absolute, as linked
    title: str  # the link's text ("" when it has none)


@dataclass(frozen=True, slots=True)
class Listing:
    """A listing page: its article links in page order, and the next page when there is one."""

    links: tuple[ListingLink, ...]
    next_url: str | None


def parse_listing(
    body: bytes,
    *,
    url: str,
    link_selector: str,
    next_page_selector: str | None = None,
    content_type: str | None = None,
) -> Listing:
    """Read the article links (and the next page's URL) of a listing page."""
    soup = BeautifulSoup(decode_html(body, content_type), "lxml")
    base = url
    base_tag = soup.find("base", href=True)
    if base_tag is not None:
        base = urljoin(url, str(base_tag["href"]))
    page = canonical_url(url)
    seen: set[str] = set()
    links: list[ListingLink] = []
    for node in soup.select(link_selector):
        anchor = _anchor(node)
        if anchor is None:
            continue
        target = _absolute(str(anchor["href"]), base)
        if target is None:
            continue
        key = canonical_url(target)
        if key in seen or key == page:
            continue
        seen.add(key)
        links.append(ListingLink(target, clean_title(anchor.get_text(" ", strip=True))))
    next_url = None
    if next_page_selector:
        found = soup.select_one(next_page_selector)
        anchor = _anchor(found) if found is not None else None
        if anchor is not None:
            target = _absolute(str(anchor["href"]), base)
            if target is not None and canonical_url(target) != page:
                next_url = target
    return Listing(tuple(links), next_url)


def _anchor(node: Any) -> Any:
    if node.name == "a" and node.get("href"):
        return node
    return node.find("a", href=True)


def _absolute(href: str, base: str) -> str | None:
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    target = urljoin(base, href)
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return parts._replace(fragment="").geturl()
