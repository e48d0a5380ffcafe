"""Markdown to safe HTML: Python-Markdown renders, nh3 (ammonia) keeps only an allow-list.

Scripts, style, iframes, event handlers (onerror=...), and javascript:/data: URLs never
survive, whatever the author wrote (raw HTML in the source goes through the same allow-list)."""

import html

import markdown as md
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "ul", "dl", "dt", "dd",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


def render(text: str | None) -> SafeString:
    """Markdown source -> HTML safe to put on a page."""
    if not text:
        return mark_safe("")  # a constant string # nosec B308
    rendered = md.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    cleaned = nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return mark_safe(cleaned)  # noqa: S308 - nh3 output is the sanitized allow-list # nosec B308, B703


def plain(text: str | None) -> str:
    """Markdown source -> text for search documents and snippets (markup dropped)."""
    if not text:
        return ""
    return html.unescape(nh3.clean(md.markdown(text), tags=set())).strip()
