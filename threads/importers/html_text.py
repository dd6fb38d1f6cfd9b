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
# Runs of blanks that collapsing changes: two or more, or one that is not a
# space (a lone space, by far the most common match of `[ \t\r\f\v]+`, would
# be replaced by itself).
_SPACES = re.compile(r"[ \t\r\f\v]{2,}|[\t\r\f\v]")
_BLANK_LINES = re.compile(r"\n{3,}")
# Bodies that are only text and bare tags (`<p>`, `</p>`, `<br>`, `<br />`,
# `<em>`...) -- most comments -- are split with one regular expression and fed
# to the same handlers as the tokenizer would; anything else (attributes,
# entities, comments, a stray '<', script/style) goes through html.parser.
_BARE_TAG = re.compile(r"<(?:([a-zA-Z][a-zA-Z0-9]*)( ?/)?|/([a-zA-Z][a-zA-Z0-9]*))>")
_BARE_OK = BLOCK | {
    "a", "abbr", "b", "big", "cite", "code", "del", "em", "i", "ins", "kbd", "mark", "q",
    "s", "small", "span", "strike", "strong", "sub", "sup", "tt", "u", "var", "br",
}


class _Collector:
    """What the text keeps of each tag and run of text."""

    def __init__(self, keep_newlines: bool) -> None:
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


class _TextExtractor(_Collector, HTMLParser):
    def __init__(self, keep_newlines: bool) -> None:
        _Collector.__init__(self, keep_newlines)
        HTMLParser.__init__(self, convert_charrefs=True)


def _bare_parts(markup: str, keep_newlines: bool) -> list[str] | None:
    """The collected parts when `markup` is only text and bare known tags, else None."""
    pieces = _BARE_TAG.split(markup)
    collector = _Collector(keep_newlines)
    for i in range(0, len(pieces), 4):
        text = pieces[i]
        if "<" in text or "&" in text:
            return None
        if text:
            collector.handle_data(text)
        if i + 1 == len(pieces):
            break
        start, closing, end = pieces[i + 1], pieces[i + 2], pieces[i + 3]
        tag = (start or end).lower()
        if tag not in _BARE_OK:
            return None
        if end:
            collector.handle_endtag(tag)
        elif closing:
            collector.handle_startendtag(tag, [])
        else:
            collector.handle_starttag(tag, [])
    return collector.parts


def html_to_text(markup: str, *, keep_newlines: bool = False) -> str:
    """The readable text of an HTML fragment (never raises on bad markup).

    `keep_newlines`: a line break in the text is a break (WordPress stores
    comments that way and adds <p>/<br> only when showing them).
    """
    # NUL cannot be stored in PostgreSQL text and marks <pre> spacing below.
    markup = markup.replace("\x00", "")
    if "<" not in markup and "&" not in markup:
        return markup.strip()
    if markup.startswith("<p>") and markup.endswith("</p>"):
        # One paragraph of plain text, the usual Disqus comment: the result is
        # the text, stripped, when it has nothing to collapse (checked the
        # same way _tidy would see it).
        text = markup[3:-4]
        if not keep_newlines:
            text = text.replace("\n", " ")
        if "<" not in text and "&" not in text and _is_tidy_line(text):
            return text.strip()
    parts = _bare_parts(markup, keep_newlines)
    if parts is None:
        parser = _TextExtractor(keep_newlines)
        parser.feed(markup)
        parser.close()
        parts = parser.parts
    return _tidy("".join(parts))


def _is_tidy_line(text: str) -> bool:
    """True when _tidy(text) is text.strip(): one line, no blanks to collapse."""
    return not (
        "\n" in text or "  " in text or "\t" in text or "\r" in text or "\f" in text
        or "\v" in text or "\x00" in text
    )


def _tidy(text: str) -> str:
    # One pass over the whole text (the pattern never matches a newline).
    text = _SPACES.sub(" ", text)
    if "\n" in text:
        lines = [line.strip() for line in text.split("\n")]
        text = _BLANK_LINES.sub("\n\n", "\n".join(lines))
    text = text.strip()
    return text.replace("\x00", " ") if "\x00" in text else text
