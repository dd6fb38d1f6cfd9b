"""Watched words: banned and suspect words per source, found in a comment's text.

Whole words, case-insensitive, with the common obfuscations folded the same
way on both sides (the list and the comment):

- Unicode compatibility forms (NFKC: full-width letters, ligatures) and case
  (casefold);
- digits and symbols used for letters inside a word: 0→o 1→i 3→e 4→a 5→s
  7→t 8→b 9→g @→a $→s !→i (a token of digits only stays a number);
- repeated letters: any run of one letter counts once ("stuuupid" = "stupid";
  "cool" on a list therefore also matches "col", said in docs/moderation.md).

A list entry of several words is a phrase: its words in a row. Matching is
one pass over the comment's tokens with set lookups (no regular expression
per word), so a list of 10,000 words costs the same per comment as a list of
ten. The matcher of a set of lists is compiled once per process and
rebuilt when any of them changes (`matcher_for`).
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from dataclasses import dataclass

from django.db.models import Q

from moderation.models import WatchedWordList

# A token: word characters and the symbols that stand in for letters.
_TOKEN = re.compile(r"[\w@$!]+")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                       "9": "g", "@": "a", "$": "s", "!": "i"})
_REPEATS = re.compile(r"(.)\1+")
_EDGE_SYMBOLS = "@$!"
# Longest phrase a list may hold, in words; longer entries are refused on save.
MAX_PHRASE_WORDS = 6
MAX_WORD_CHARS = 100
MAX_WORDS_PER_LIST = 20_000


@functools.lru_cache(maxsize=100_000)
def fold(token: str) -> str:
    """One token as the matcher compares it (cached: the words of comments repeat)."""
    token = unicodedata.normalize("NFKC", token).casefold()
    token = token.strip(_EDGE_SYMBOLS) or token  # "idiot!" is "idiot"; "$$$" stays
    if not token.isdigit():
        token = token.translate(_LEET)
    return _REPEATS.sub(r"\1", token)


def entry_tokens(entry: str) -> tuple[str, ...]:
    """A list entry (word or phrase) as folded tokens; empty if it has no word in it."""
    return tuple(fold(t) for t in _TOKEN.findall(unicodedata.normalize("NFKC", entry)))


@dataclass(frozen=True)
class Hit:
    list_id: int | None
    list_name: str
    kind: str  # WatchedWordList.Kind
    word: str  # the list's entry
    start: int  # span in the comment's text
    end: int

    def text_in(self, body: str) -> str:
        return body[self.start:self.end]


class Matcher:
    """Compiled lists: folded phrase -> (list id, name, kind, entry)."""

    def __init__(self, lists: list[tuple[int | None, str, str, list[str]]]) -> None:
        self._phrases: dict[tuple[str, ...], tuple[int | None, str, str, str]] = {}
        # First words of the phrases longer than one word: only these start a longer look.
        self._starts: set[str] = set()
        self.longest = 1
        for list_id, name, kind, words in lists:
            for word in words:
                tokens = entry_tokens(word)
                if not tokens:
                    continue
                existing = self._phrases.get(tokens)
                # Banned wins over suspect when both lists hold the word.
                if existing is None or (existing[2] != WatchedWordList.Kind.BANNED
                                        and kind == WatchedWordList.Kind.BANNED):
                    self._phrases[tokens] = (list_id, name, kind, word)
                self.longest = max(self.longest, len(tokens))
                if len(tokens) > 1:
                    self._starts.add(tokens[0])

    def __len__(self) -> int:
        return len(self._phrases)

    def find(self, text: str) -> list[Hit]:
        """Every watched word or phrase in the text, in order, without overlaps."""
        if not self._phrases or not text:
            return []
        spans = [(m.start(), m.end(), fold(m.group())) for m in _TOKEN.finditer(text)]
        hits: list[Hit] = []
        phrases = self._phrases
        i = 0
        while i < len(spans):
            token = spans[i][2]
            if token not in self._starts:
                found = phrases.get((token,))
                if found is not None:
                    hits.append(Hit(found[0], found[1], found[2], found[3],
                                    spans[i][0], spans[i][1]))
                i += 1
                continue
            for n in range(min(self.longest, len(spans) - i), 0, -1):
                key = tuple(span[2] for span in spans[i:i + n])
                found = self._phrases.get(key)
                if found is not None:
                    hits.append(Hit(found[0], found[1], found[2], found[3],
                                    spans[i][0], spans[i + n - 1][1]))
                    i += n
                    break
            else:
                i += 1
        return hits


_cache: dict[tuple, Matcher] = {}
_EMPTY = Matcher([])
_cache_lock = threading.Lock()
_CACHE_SIZE = 64


def lists_for(source: str):
    """The lists that apply to a source's comments: its own and those for every source."""
    return WatchedWordList.objects.filter(Q(source="") | Q(source=source))


def matcher_for(source: str) -> Matcher:
    """The compiled matcher of a source's lists as saved now (one small query to check)."""
    stamp = tuple(lists_for(source).order_by("pk").values_list("pk", "updated_at"))
    if not stamp:
        return _EMPTY
    key = (source, stamp)
    matcher = _cache.get(key)
    if matcher is None:
        rows = lists_for(source).order_by("pk").values_list("pk", "name", "kind", "words")
        matcher = Matcher([(pk, name, kind, words.splitlines())
                           for pk, name, kind, words in rows])
        with _cache_lock:
            if len(_cache) >= _CACHE_SIZE:
                _cache.clear()
            _cache[key] = matcher
    return matcher
