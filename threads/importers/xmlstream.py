"""Streaming XML through defusedxml: bounded memory, hostile input refused.

`iter_elements` yields each complete element at one depth of the document
(Disqus `<thread>`/`<post>` under the root, WXR `<item>` under `<channel>`)
and cuts it out of the tree once it is handed over, so the tree never holds
more than the elements still open and the last one read.

Refused, with an ImportFailure naming line and column, before anything is
stored: any DTD (real exports have none; it is how XXE and entity-expansion
bombs arrive), entity declarations, external references, and malformed XML.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as DET

from .base import ImportFailure
from .source import open_source

CHUNK = 64 * 1024


class _Builder:
    """A TreeBuilder target that collects the elements completed at `depth`.

    An element is collected at the next event after its end, once the text
    that follows it (its tail) is known, and cut out of its parent then.
    """

    def __init__(self, depth: int) -> None:
        self._tree = ET.TreeBuilder()
        self._depth = depth
        self._open: list[ET.Element] = []
        self._ended: ET.Element | None = None
        self.complete: list[ET.Element] = []

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        elem = self._tree.start(tag, attrib)
        self._collect()
        self._open.append(elem)

    def end(self, tag: str) -> None:
        elem = self._tree.end(tag)
        self._collect()
        self._open.pop()
        if len(self._open) == self._depth:
            self._ended = elem

    def data(self, text: str) -> None:
        self._tree.data(text)

    def close(self) -> None:
        self._tree.close()
        self._collect()

    def _collect(self) -> None:
        if self._ended is not None:
            self.complete.append(self._ended)
            if self._open:
                self._open[-1].remove(self._ended)
            self._ended = None


def iter_elements(path: Path, depth: int) -> Iterator[ET.Element]:
    """Each complete element `depth` levels below the root (the root is 0)."""
    builder = _Builder(depth)
    parser = DET.DefusedXMLParser(
        target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    with open_source(path) as stream:
        try:
            while chunk := stream.read(CHUNK):
                parser.feed(chunk)
                yield from _take(builder.complete)
            parser.close()
            yield from _take(builder.complete)
        except ET.ParseError as exc:
            line, column = exc.position
            raise ImportFailure(
                path, f"line {line} column {column + 1}", f"malformed XML: {_reason(exc)}"
            ) from None
        except defusedxml.DefusedXmlException as exc:
            raise ImportFailure(path, _position(parser), _refusal(exc)) from None


def _take(elements: list[ET.Element]) -> Iterator[ET.Element]:
    taken = elements[:]
    elements.clear()
    for elem in taken:
        yield elem
        elem.clear()  # in case the caller keeps a reference


def _reason(exc: ET.ParseError) -> str:
    # "not well-formed (invalid token): line 3, column 4" -> the words only.
    return str(exc).split(": line ", 1)[0]


def _position(parser: DET.DefusedXMLParser) -> str:
    expat = getattr(parser, "parser", None)
    if expat is None:
        return ""
    return f"line {expat.CurrentLineNumber} column {expat.CurrentColumnNumber + 1}"


def _refusal(exc: Exception) -> str:
    if isinstance(exc, defusedxml.DTDForbidden):
        what = "a DTD (<!DOCTYPE ...>)"
    elif isinstance(exc, defusedxml.EntitiesForbidden):
        what = f"an entity declaration ({exc.name!r})"
    elif isinstance(exc, defusedxml.ExternalReferenceForbidden):
        what = f"an external reference ({exc.sysid!r})"
    else:
        what = "unsafe XML"
    return (
        f"refused: the file contains {what}; exports have none, and it is how XML "
        "entity-expansion and external-entity (XXE) attacks work. Nothing was imported."
    )


@functools.lru_cache(maxsize=4096)
def local_name(tag: str) -> str:
    """`{uri}name` -> `name` (cached: an export repeats a few dozen tags)."""
    return tag.rsplit("}", 1)[-1]


def child_fields(
    elem: ET.Element | None, name: Callable[[str], str] = local_name
) -> dict[str, ET.Element]:
    """The first child element under each name, for lookups by field name."""
    fields: dict[str, ET.Element] = {}
    for child in elem if elem is not None else ():
        fields.setdefault(name(child.tag), child)
    return fields


def field_text(fields: dict[str, ET.Element], name: str) -> str:
    """A field's text, stripped; '' when the field is absent or empty."""
    child = fields.get(name)
    return (child.text or "").strip() if child is not None else ""
