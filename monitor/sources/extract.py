"""Article pages to text and metadata: trafilatura on bytes that our Fetcher fetched.

`extract_page` is pure (bytes in, `Page` out). `Extractor` runs it off the
event loop in a small thread pool with a per-page time cap. trafilatura's own
``fetch_url`` is never used: it blocks 127.0.0.1 and retries TLS failures
without certificate checks, and it would bypass our politeness limits.

Metadata preferences:
- title: ``title_selector`` (when configured) > trafilatura > ``og:title``;
- date: ``date_selector`` > ``article:published_time`` / JSON-LD
  ``datePublished`` (full timestamps) > trafilatura's htmldate (day only).
  A feed's own timestamp beats all of these; the caller decides that.
- URL: ``rel=canonical``, else ``og:url``, else the fetched URL, canonicalised.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import lxml.html
from bs4 import BeautifulSoup
from dateutil import parser as dateparser
from htmldate import find_date
from lxml import etree
from trafilatura import bare_extraction
from trafilatura.metadata import examine_meta, extract_meta_json
from trafilatura.settings import use_config

from monitor.errors import ParseError
from monitor.normalize.clean import canonical_url, clean_title
from monitor.sources.encoding import decode_html

__all__ = [
    "BODY_RULE",
    "BodyRule",
    "Extractor",
    "Page",
    "choose_body",
    "dropped_share",
    "extract_page",
    "page_date",
    "parse_date",
    "without_headline",
]

log = logging.getLogger("newsmon.extract")

_CONFIG = use_config()
_CONFIG.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # signal-based; we cap time ourselves
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_META_DATES = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "publishdate",
    "pubdate",
    "dc.date.issued",
    "dcterms.created",
    "sailthru.date",
)
# Only the first space of a run may start a separator, and the run is taken whole
# (possessive): otherwise a title of N spaces is rescanned from each of them.
_TITLE_SEPARATORS = re.compile(r"(?<!\s)\s++(?:[|–—]|-|::)\s+")
_ARTICLE_TYPES = {"newsarticle", "article", "blogposting", "reportagenewsarticle", "webpage"}


Favor = Literal["precision", "balanced"]


@dataclass(frozen=True, slots=True)
class BodyRule:
    """How the article body is chosen among trafilatura's passes.

    First a fast pass with `favor`. When `paragraph` > 0, a fast recall-oriented
    pass (``favor_recall``) runs too, and its text is taken instead when the
    paragraphs (lines of at least `paragraph` characters) that the first pass
    dropped hold at least `share` of the recall text. Below `short_body`
    characters, trafilatura's slow fallbacks (readability, jusText) run.
    """

    favor: Favor
    paragraph: int
    share: float
    short_body: int


# The rule that bench/extract.py's grid search picks on all 120 Zyte pages. The
# same search, cross-validated (tuned on one half, scored on the other, both
# ways), scores F1 0.966 held-out against plain trafilatura's 0.947; one fold
# picked this rule, the other a recall fallback (BENCHMARKS.md). With
# paragraph=0 the recall-oriented pass is not run.
BODY_RULE = BodyRule(favor="precision", paragraph=0, share=1.0, short_body=500)


def dropped_share(precise: str, recall: str, paragraph: int) -> float:
    """The share of `recall`'s characters in its paragraphs (lines of at least
    `paragraph` characters) that appear nowhere as a line of `precise`."""
    kept = {_folded(line) for line in precise.splitlines()}
    total = dropped = 0
    for line in recall.splitlines():
        folded = _folded(line)
        total += len(folded)
        if len(folded) >= paragraph and folded not in kept:
            dropped += len(folded)
    return dropped / total if total else 0.0


def choose_body(precise: str, recall: str, rule: BodyRule) -> str:
    """The recall-oriented text when the precise one dropped whole paragraphs, else the precise."""
    if rule.paragraph > 0 and dropped_share(precise, recall, rule.paragraph) >= rule.share:
        return recall
    return precise


@dataclass(frozen=True, slots=True)
class Page:
    """What an article page says about itself."""

    url: str  # the canonical URL (rel=canonical / og:url followed), canonicalised
    title: str
    text: str  # the article body as plain text, boilerplate removed ("" when none)
    author: str | None
    published: datetime | None  # tz-aware UTC
    lang: str | None
    description: str


def parse_date(value: str) -> datetime | None:
    """An ISO 8601 (or loosely written) date in UTC; naive means UTC; None if unreadable."""
    value = value.strip()
    if not value or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = dateparser.parse(value)
        except (ValueError, OverflowError, TypeError):
            return None
    if not 1990 <= parsed.year <= 2200:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def extract_page(
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    title_selector: str | None = None,
    date_selector: str | None = None,
) -> Page:
    """Extract the article from a fetched page (pure; raises ParseError on no HTML at all)."""
    html = _XML_DECL.sub("", decode_html(body, content_type), count=1)
    try:
        tree = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(f"extract: {url}: not an HTML page ({exc})") from None
    canonical = _canonical(tree, url)
    meta = _metadata(tree, url)  # before extraction, which prunes the tree in place
    text = _chosen_body(html, tree, url, BODY_RULE)
    title, published = meta.title, meta.published
    if title_selector or date_selector:
        soup = BeautifulSoup(html, "lxml")
        if title_selector and (node := soup.select_one(title_selector)) is not None:
            title = node.get_text(" ", strip=True) or title
        if date_selector and (node := soup.select_one(date_selector)) is not None:
            raw = node.get("datetime") or node.get("content") or node.get_text(" ", strip=True)
            published = parse_date(str(raw)) or published
    title = clean_title(title)
    return Page(
        url=canonical,
        title=title,
        text=without_headline(text, title),
        author=meta.author,
        published=published,
        lang=meta.lang,
        description=meta.description,
    )


def without_headline(text: str, title: str) -> str:
    """The body without a first line that only repeats the title (alerts show the title)."""
    first, _, rest = text.partition("\n")
    if title and _folded(first) == _folded(title):
        return rest.strip()
    return text


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def headline(title: str, h1s: list[str], sitename: str | None) -> str:
    """The headline from a page title: the <h1> it contains, else without the site name."""
    folded = " ".join(title.casefold().split())
    parts = _TITLE_SEPARATORS.split(title)
    segments = [" ".join(p.casefold().split()) for p in parts]
    longest = max(segments, key=len)
    for h1 in h1s:
        # "Headline | Outlet" with <h1>Headline</h1>: the segment the page repeats,
        # unless it is the last, one-word segment (usually the outlet's logo).
        key = " ".join(h1.casefold().split())
        in_title = len(parts) > 1 and key in segments
        if in_title and (key == longest or (key != segments[-1] and len(key.split()) >= 2)):
            return h1
    for h1 in h1s:
        # A short <h1> inside the title is usually the site's logo, not the headline.
        if len(h1) >= max(10, len(title) // 3) and " ".join(h1.casefold().split()) in folded:
            return h1
    if not title:
        return h1s[0] if h1s else ""
    site = (sitename or "").casefold().strip()
    if len(parts) > 1 and site:
        kept = [p for p in parts if p.casefold().strip() != site]
        if kept and len(kept) < len(parts):
            return " - ".join(kept)
    if len(parts) > 1 and len(parts[-1].split()) <= 3 <= len(parts[0].split()):
        return " - ".join(parts[:-1])  # "Headline | Outlet"
    return title


def _h1s(tree: Any) -> list[str]:
    texts = (" ".join(h.text_content().split()) for h in tree.iterfind(".//h1"))
    return [t for t in texts if t][:3]


def _chosen_body(html: str, tree: Any, url: str, rule: BodyRule) -> str:
    """The body text by `rule`; `tree` is pruned in the process."""
    fresh = copy.deepcopy(tree) if rule.paragraph > 0 else None
    text = _body(tree, url, favor=rule.favor)
    if fresh is not None:
        text = choose_body(text, _body(fresh, url, favor="recall"), rule)
    if len(text) < rule.short_body:
        # The fast passes found little: let trafilatura compare with its fallback
        # extractors (readability, jusText), slower but they rescue odd layouts.
        slow = _body(lxml.html.document_fromstring(html), url, favor=rule.favor, fast=False)
        text = slow or text
    return text


def _body(tree: Any, url: str, *, favor: Favor | Literal["recall"], fast: bool = True) -> str:
    doc = bare_extraction(
        tree,
        url=url,
        fast=fast,
        favor_precision=favor == "precision",
        favor_recall=favor == "recall",
        include_comments=False,
        with_metadata=False,
        config=_CONFIG,
    )
    text = getattr(doc, "text", None)  # a Document (as_dict=False), None when nothing found
    return str(text).strip() if text else ""


@dataclass(frozen=True, slots=True)
class _Meta:
    title: str
    author: str | None
    published: datetime | None
    lang: str | None
    description: str


def _metadata(tree: Any, url: str) -> _Meta:
    """trafilatura's metadata steps, without the ones newsmon does not use.

    `trafilatura.metadata.extract_metadata` also runs htmldate on every page and
    looks for site names, categories, tags and licences: a third of the
    extraction time. htmldate runs here only when the page has no dated meta tag.
    """
    found = examine_meta(tree)
    try:
        found = extract_meta_json(tree, found)
    except Exception:
        log.debug("JSON-LD metadata unreadable", extra={"url": url})
    raw = found.title or _meta(tree, "og:title") or tree.findtext(".//title") or ""
    title = headline(" ".join(raw.split()), _h1s(tree), found.sitename)
    # Byline hunting in the page body (trafilatura's extract_author) cost a
    # third of the metadata time; meta tags and JSON-LD name most authors.
    author = found.author if found.author and " " in found.author else None
    published = page_date(tree)
    if published is None:
        day = find_date(tree, url=url, original_date=True, extensive_search=True)
        published = parse_date(day) if day else None
    lang = tree.get("lang") or found.language or None
    return _Meta(
        title=str(title),
        author=str(author) if author else None,
        published=published,
        lang=str(lang).split("-")[0].lower() if lang else None,
        description=str(found.description or ""),
    )


def _meta(tree: Any, name: str) -> str | None:
    for node in tree.iterfind(".//meta"):
        key = (node.get("property") or node.get("name") or node.get("itemprop") or "").lower()
        if key == name and node.get("content"):
            return str(node.get("content")).strip()
    return None


def _canonical(tree: Any, url: str) -> str:
    """rel=canonical, else og:url, made absolute; the fetched URL when neither is usable."""
    candidates: list[str] = []
    for link in tree.iterfind(".//link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            candidates.append(link.get("href"))
    og = _meta(tree, "og:url")
    if og:
        candidates.append(og)
    page_path = urlsplit(url).path.strip("/")
    for candidate in candidates:
        target = urljoin(url, candidate.strip())
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            continue
        # Some CMSs point every article's canonical at the home page: that would
        # fold the whole site into one article.
        if page_path and not parts.path.strip("/") and not parts.query:
            continue
        return canonical_url(target)
    return canonical_url(url)


def page_date(tree: Any) -> datetime | None:
    """The publication timestamp from meta tags or JSON-LD, None when the page gives none."""
    for node in tree.iterfind(".//meta"):
        key = (node.get("property") or node.get("name") or node.get("itemprop") or "").lower()
        if key in _META_DATES and (found := parse_date(node.get("content") or "")):
            return found
    for node in tree.iterfind(".//time"):
        itemprop = (node.get("itemprop") or "").lower()
        if itemprop == "datepublished" and (
            found := parse_date(node.get("datetime") or node.text_content())
        ):
            return found
    for script in tree.iterfind(".//script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue
        for item in _json_objects(data):
            types = item.get("@type")
            names = types if isinstance(types, list) else [types]
            if any(str(t).lower() in _ARTICLE_TYPES for t in names):
                raw = item.get("datePublished")
                if isinstance(raw, str) and (found := parse_date(raw)):
                    return found
    return None


def _json_objects(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 6:
        return
    if isinstance(data, dict):
        yield data
        for value in data.values():
            if isinstance(value, dict | list):
                yield from _json_objects(value, depth + 1)
    elif isinstance(data, list):
        for value in data:
            yield from _json_objects(value, depth + 1)


class Extractor:
    """Runs `extract_page` in a thread pool, at most `page_timeout` seconds per page.

    A page over the cap is given up (ParseError); its thread finishes in the
    background, which trafilatura's tree-size guard keeps short.
    """

    def __init__(self, *, workers: int = 2, page_timeout: float = 20.0) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="extract")
        self._timeout = page_timeout

    async def extract(
        self,
        body: bytes,
        *,
        url: str,
        content_type: str | None = None,
        title_selector: str | None = None,
        date_selector: str | None = None,
    ) -> Page:
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(
            self._pool,
            lambda: extract_page(
                body,
                url=url,
                content_type=content_type,
                title_selector=title_selector,
                date_selector=date_selector,
            ),
        )
        try:
            return await asyncio.wait_for(job, self._timeout)
        except TimeoutError:
            raise ParseError(
                f"extract: {url}: gave up after {self._timeout:g}s (page too complex)"
            ) from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
