"""Streaming XML through defusedxml: bounded memory, hostile input refused.

`iter_elements` yields each complete element at one depth of the document
(Disqus `<thread>`/`<post>` under the root, WXR `<item>` under `<channel>`)
and throws it away once the caller is done with it: the tree being built
never holds more than the elements completed within one read (CHUNK bytes)
and the ones still open (or last in their parent, see _detach_complete).

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
_C_NO_OP = set().clear  # takes no arguments, does nothing, costs no Python frame


def iter_elements(path: Path, depth: int) -> Iterator[ET.Element]:
    """Each complete element `depth` levels below the root (the root is 0).

    Tags and attribute names are expat's spelling, `uri}local` (not
    ElementTree's `{uri}local`); `local_name` reads either.
    """
    # defusedxml's parser installs the refusals (DTD, entity declarations,
    # external references) on its expat parser. Element events then go from
    # expat straight into the C TreeBuilder, with no Python call per tag (that
    # was more than the rest of the XML parsing put together); with
    # ordered_attributes off expat hands over attributes as the dict
    # TreeBuilder.start takes.
    builder = ET.TreeBuilder()
    parser = DET.DefusedXMLParser(
        target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    expat = parser.parser
    expat.ordered_attributes = 0
    root: ET.Element | None = None

    def first_start(tag: str, attrib: dict[str, str]) -> ET.Element:
        # The one Python call: keep hold of the root, then hand over to C.
        nonlocal root
        root = builder.start(tag, attrib)
        expat.StartElementHandler = builder.start
        return root

    expat.StartElementHandler = first_start
    expat.EndElementHandler = builder.end
    # `<![CDATA[` and `]]>` (around nearly every comment body) would each go to
    # the Python default handler, kept for its entity checks; a C no-op takes
    # them instead. The section's text still reaches TreeBuilder.data.
    expat.StartCdataSectionHandler = expat.EndCdataSectionHandler = _C_NO_OP
    with open_source(path) as stream:
        try:
            while True:
                chunk = stream.read(CHUNK)
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
                if root is not None:
                    for elem in _detach_complete(root, depth, final=not chunk):
                        yield elem
                        elem.clear()  # in case the caller keeps a reference
                if not chunk:
                    return
        except ET.ParseError as exc:
            line, column = exc.position
            raise ImportFailure(
                path, f"line {line} column {column + 1}", f"malformed XML: {_reason(exc)}"
            ) from None
        except defusedxml.DefusedXmlException as exc:
            raise ImportFailure(path, _position(parser), _refusal(exc)) from None


def _detach_complete(root: ET.Element, depth: int, final: bool) -> list[ET.Element]:
    """The complete elements at `depth`, in document order, cut out of the tree.

    Without end events, which elements are complete is read off the tree's
    shape: TreeBuilder appends an element to its parent when it starts, so
    the elements still open are all on the chain of last children from the
    root. Everything off that chain is complete; on it, an element may still
    be open, so it waits until it has a younger sibling or the file has
    ended (`final`). Cutting complete parts out keeps the tree as small as
    one read; TreeBuilder only refers to elements on the chain.
    """
    if depth == 0:
        return [root] if final else []
    found: list[ET.Element] = []
    node, level = root, 0
    while level < depth:
        keep_last = 0 if final else 1
        done = node[: len(node) - keep_last]
        if done:
            del node[: len(done)]
            if level + 1 == depth:
                found.extend(done)
            else:
                for elem in done:
                    found.extend(_at_depth(elem, depth - level - 1))
        if final or not len(node):
            break
        node, level = node[-1], level + 1
    return found


def _at_depth(elem: ET.Element, depth: int) -> Iterator[ET.Element]:
    """The descendants `depth` levels below `elem`, in document order."""
    if depth == 0:
        yield elem
    else:
        for child in elem:
            yield from _at_depth(child, depth - 1)


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
    """`uri}name` or `{uri}name` -> `name` (cached: an export repeats a few dozen tags)."""
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
