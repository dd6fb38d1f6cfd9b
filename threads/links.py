"""The one rule for which stored URLs may become links: absolute http(s) only.

The importers drop other URLs (threads/importers/validate.py) and the
dashboard links only what passes (`safe_http_url`), so rows imported before
the importers checked schemes are safe too.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

LINK_SCHEMES = frozenset({"http", "https"})
# Whitespace or control characters inside a URL: browsers strip or skip
# them, so `java\tscript:` would not look like the scheme it is.
_URL_BLANKS = re.compile(r"[\x00-\x20\x7f]")


def is_http_url(url: object) -> bool:
    """An absolute http(s) URL with a host and no blanks or control characters."""
    if not isinstance(url, str) or not url or _URL_BLANKS.search(url):
        return False
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in LINK_SCHEMES and bool(hostname)
