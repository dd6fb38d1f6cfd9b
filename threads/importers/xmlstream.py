"""Streaming XML through defusedxml: bounded memory, hostile input refused.

`iter_elements` yields each complete element at one depth of the document
(Disqus `<thread>`/`<post>` under the root, WXR `<item>` under `<channel>`)
and throws it away once the caller is done with it: the tree built by
iterparse never holds more than one such element.

Refused, with an ImportFailure naming line and column, before anything is
stored: any DTD (real exports have none; it is how XXE and entity-expansion
bombs arrive), entity declarations, external references, and malformed XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as DET

from .base import ImportFailure
from .source import open_source


def iter_elements(path: Path, depth: int) -> Iterator[ET.Element]:
    """Each complete element `depth` levels below the root (the root is 0)."""
    parser = DET.DefusedXMLParser(
        target=ET.TreeBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    with open_source(path) as stream:
        events = DET.iterparse(stream, events=("start", "end"), parser=parser)
        stack: list[ET.Element] = []
        try:
            for event, elem in events:
                if event == "start":
                    stack.append(elem)
                    continue
                stack.pop()
                if len(stack) != depth:
                    continue
                yield elem
                # Drop what has been read: clear the element and unlink it.
                elem.clear()
                if stack:
                    stack[-1].remove(elem)
        except ET.ParseError as exc:
            line, column = exc.position
            raise ImportFailure(
                path, f"line {line} column {column + 1}", f"malformed XML: {_reason(exc)}"
            ) from None
        except defusedxml.DefusedXmlException as exc:
            raise ImportFailure(path, _position(parser), _refusal(exc)) from None


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


def local_name(tag: str) -> str:
    """`{uri}name` -> `name`."""
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
