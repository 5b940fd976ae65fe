"""A model's documentation, written in markdown by whoever wrote the model, as safe HTML
for the report: only plain structural tags survive, and the result is cached."""

from __future__ import annotations

import html as _html
import re
import sys
from html.parser import HTMLParser

_ALLOWED = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "code", "pre", "ul", "ol", "li",
            "blockquote", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "sup", "sub"}
_VOID = {"hr", "br"}


class _Clean(HTMLParser):
    """Re-emits markdown's HTML keeping only plain structural tags, without attributes:
    a model file's doc is the user's text, and no script or link of it reaches the report."""

    def __init__(self, shift: int) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.shift = shift

    def _tag(self, tag: str) -> str | None:
        if tag not in _ALLOWED:
            return None
        m = re.fullmatch(r"h([1-6])", tag)
        return f"h{min(int(m.group(1)) + self.shift, 6)}" if m else tag

    def handle_starttag(self, tag, attrs):
        t = self._tag(tag)
        if t:
            self.out.append(f"<{t}>")

    def handle_endtag(self, tag):
        t = self._tag(tag)
        if t and t not in _VOID:
            self.out.append(f"</{t}>")

    def handle_data(self, data):
        self.out.append(_html.escape(data, quote=False))


def model_doc(text: str) -> str:
    """A model's documentation (markdown, from summary.json) as safe HTML nested under the
    report's Model heading: its h1 becomes h3. Code stays code: `a <= b` reads as written.

    The same text gives the same HTML, so it is kept in riskmc's cache (keyed, like the
    priors' pictures, by this file's source): rendering it took a tenth of a second of
    every run."""
    from ..numeric import cache
    k = cache.key("model-doc", cache.sources(sys.modules[__name__]), cache.stamp("markdown", "__meta__.py"), text)
    kept = cache.load_bytes("model-doc", k, ".html")
    if kept is not None:
        return kept.decode()
    import markdown
    plain = re.sub(r"<!--.*?-->\n?", "", text or "", flags=re.S)  # generator markers
    body = markdown.markdown(plain, extensions=["tables", "fenced_code"])
    clean = _Clean(shift=2)
    clean.feed(body)
    clean.close()
    out = "".join(clean.out)
    cache.save_bytes("model-doc", k, ".html", out.encode())
    return out
