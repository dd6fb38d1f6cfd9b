"""Streaming XML through defusedxml: bounded memory, hostile input refused.

`iter_elements` yields each complete element at one depth of the document
(Disqus `<thread>`/`<post>` under the root, WXR `<item>` under `<channel>`)
and cuts it out of the tree once it is handed over, so the tree never holds
more than the elements still open and those read from the last chunk.

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


def iter_elements(path: Path, depth: int) -> Iterator[ET.Element]:
    """Each complete element `depth` levels below the root (the root is 0).

    The tree is built by ElementTree's C TreeBuilder; after each chunk, the
    elements at `depth` that a later sibling (or an ancestor's sibling)
    proves complete are handed over and cut out of the tree.
    """
    builder = ET.TreeBuilder()
    parser = DET.DefusedXMLParser(
        target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    root: list[ET.Element] = []
    expat = parser.parser
    start = expat.StartElementHandler

    def first_start(tag: str, attrib: list[str]) -> None:
        # Keep the root, then let every later start go straight to the builder.
        root.append(start(tag, attrib))
        expat.StartElementHandler = start

    expat.StartElementHandler = first_start
    with open_source(path) as stream:
        try:
            while chunk := stream.read(CHUNK):
                parser.feed(chunk)
                if root:
                    yield from _complete(root[0], depth, final=False)
            parser.close()
            if root:
                yield from _complete(root[0], depth, final=True)
        except ET.ParseError as exc:
            line, column = exc.position
            raise ImportFailure(
                path, f"line {line} column {column + 1}", f"malformed XML: {_reason(exc)}"
            ) from None
        except defusedxml.DefusedXmlException as exc:
            raise ImportFailure(path, _position(parser), _refusal(exc)) from None


def _complete(parent: ET.Element, depth: int, *, final: bool) -> Iterator[ET.Element]:
    """Hand over and cut out the complete elements `depth` levels below `parent`.

    Every child but the last is complete (a later one has begun); the last is
    complete only once the document is (`final`), and may still be growing.
    """
    children = parent[:] if final else parent[:-1]
    if depth == 1:
        del parent[: len(children)]
        for elem in children:
            yield elem
            elem.clear()  # in case the caller keeps a reference
        return
    for child in children:
        yield from _complete(child, depth - 1, final=True)
    if len(parent) and not final:
        yield from _complete(parent[-1], depth - 1, final=False)


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
