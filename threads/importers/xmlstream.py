"""Streaming XML through defusedxml: bounded memory, hostile input refused.

`iter_elements` yields each complete element at one depth of the document
(Disqus `<thread>`/`<post>` under the root, WXR `<item>` under `<channel>`)
and throws it away once the caller is done with it: the tree being built
never holds more than the elements completed within one read (CHUNK bytes)
and the one still open.

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
    """Each complete element `depth` levels below the root (the root is 0)."""
    # defusedxml's parser installs the refusals (DTD, entity declarations,
    # external references) on its expat parser. Element events are then taken
    # straight from expat into the C TreeBuilder: ElementTree's pure-Python
    # XMLParser and iterparse's event queue cost four Python calls per tag,
    # more than the rest of the XML parsing put together.
    builder = ET.TreeBuilder()
    parser = DET.DefusedXMLParser(
        target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    expat = parser.parser
    build_start, build_end = builder.start, builder.end
    names: dict[str, str] = {}
    done: list[tuple[ET.Element, ET.Element | None]] = []
    level = 0
    parent: ET.Element | None = None

    def fix(name: str) -> str:
        # expat gives "uri}local"; ElementTree spells it "{uri}local".
        fixed = names.get(name)
        if fixed is None:
            fixed = "{" + name if "}" in name else name
            if len(names) < 4096:  # a hostile file may invent endless names
                names[name] = fixed
        return fixed

    def start(tag: str, attr_list: list[str]) -> None:
        nonlocal level, parent
        attrib = {}
        for i in range(0, len(attr_list), 2):
            attrib[fix(attr_list[i])] = attr_list[i + 1]
        elem = build_start(names.get(tag) or fix(tag), attrib)
        level += 1
        if level == depth:
            parent = elem

    def end(tag: str) -> None:
        nonlocal level
        elem = build_end(names.get(tag) or fix(tag))
        level -= 1
        if level == depth:
            done.append((elem, parent if depth else None))

    expat.StartElementHandler = start
    expat.EndElementHandler = end
    with open_source(path) as stream:
        try:
            while True:
                chunk = stream.read(CHUNK)
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
                for elem, holder in done:
                    yield elem
                    # Drop what has been read: clear the element and unlink it.
                    elem.clear()
                    if holder is not None:
                        holder.remove(elem)
                done.clear()
                if not chunk:
                    return
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
