"""Plain text from comment HTML, with the standard library's HTML parser.

Disqus and WordPress send comment bodies as HTML. The classifier and the
dashboard need the words, not the markup: block elements and <br> become line
breaks, entities are decoded, script/style contents are dropped, links keep
their text. Regular expressions cannot do this safely (comments, CDATA,
attributes containing '>'); `html.parser` is a real tokenizer that never
fails on bad markup.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
        "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th",
        "thead", "tr", "ul",
    }
)
DROPPED = frozenset({"script", "style", "template", "noscript", "head", "title"})
# Runs to collapse: a single space is left alone (it needs no change).
_SPACES = re.compile(r"[\t\r\f\v][ \t\r\f\v]*| [ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# One paragraph of plain text: no other markup, no entity.
_ONE_PARAGRAPH = re.compile(r"\s*<p>([^<&]*)</p>\s*")


class _TextExtractor(HTMLParser):
    """What the text keeps of each tag and run of text."""

    def __init__(self, keep_newlines: bool) -> None:
        super().__init__(convert_charrefs=True)
        self._keep_newlines = keep_newlines
        self.parts: list[str] = []
        self._dropping = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED:
            self._dropping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in BLOCK:
            self.parts.append("\n\n" if tag == "p" else "\n")
            if tag == "pre":
                self._pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag in BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED:
            self._dropping = max(0, self._dropping - 1)
        elif tag in BLOCK:
            self.parts.append("\n\n" if tag == "p" else "\n")
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._dropping:
            return
        if self._pre:
            self.parts.append(data.replace(" ", "\x00"))  # keep pre spacing through collapse
        elif self._keep_newlines:
            self.parts.append(data)
        else:
            self.parts.append(data.replace("\n", " "))


def html_to_text(markup: str, *, keep_newlines: bool = False) -> str:
    """The readable text of an HTML fragment (never raises on bad markup).

    `keep_newlines`: a line break in the text is a break (WordPress stores
    comments that way and adds <p>/<br> only when showing them).
    """
    # NUL cannot be stored in PostgreSQL text and marks <pre> spacing below.
    markup = markup.replace("\x00", "")
    if "<" not in markup and "&" not in markup:
        return markup.strip()
    if (paragraph := _ONE_PARAGRAPH.fullmatch(markup)) is not None:
        # What the parser makes of it, without the parser (Disqus sends most
        # comments this way).
        text = paragraph[1]
        return _tidy(text if keep_newlines else text.replace("\n", " "))
    parser = _TextExtractor(keep_newlines)
    parser.feed(markup)
    parser.close()
    return _tidy("".join(parser.parts))


def _tidy(text: str) -> str:
    text = _SPACES.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    return text.replace("\x00", " ")
