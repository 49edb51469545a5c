"""JSON pointers (RFC 6901) and the path patterns of the rules, compiled once.

A path inside a body is a tuple of tokens: object keys (``str``) and array indices (``int``).
It is written as a JSON pointer: ``("results", 0, "id")`` is ``/results/0/id``; the root is
``""``. A pattern is a pointer whose segments may be globs:

    /id                  exactly that field
    /results/*/id        ``*`` is any ONE key or index
    **/created_at        ``**`` is any number of segments (zero included)
    /results/*/*_at      ``*`` inside a segment is a wildcard within that key
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

Token = str | int
Tokens = tuple[Token, ...]

_ANY_ONE = "*"
_ANY_DEPTH = "**"


def escape(token: Token) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def pointer(tokens: Sequence[Token]) -> str:
    """``("results", 0, "id")`` -> ``/results/0/id``."""
    return "".join("/" + escape(token) for token in tokens)


def generic_pointer(tokens: Sequence[Token]) -> str:
    """The pointer with every array index written ``*``: one name for a field of all items."""
    return "".join("/*" if isinstance(token, int) else "/" + escape(token) for token in tokens)


def split_pointer(text: str) -> tuple[str, ...]:
    """``/a/b~1c`` -> ``("a", "b/c")``; raises ValueError unless it starts with ``/``."""
    if text == "":
        return ()
    if not text.startswith("/"):
        raise ValueError(f"{text!r} is not a JSON pointer (it must start with '/')")
    return tuple(unescape(segment) for segment in text[1:].split("/"))


@dataclass(frozen=True, slots=True)
class _Segment:
    literal: str | None  # matched exactly (None: a wildcard)
    regex: re.Pattern[str] | None  # a glob inside one segment (``*_at``)
    any_depth: bool = False

    def matches(self, token: Token) -> bool:
        text = str(token)
        if self.literal is not None:
            return text == self.literal
        if self.regex is not None:
            return self.regex.fullmatch(text) is not None
        return True


@dataclass(frozen=True, slots=True)
class PathPattern:
    """A compiled path pattern; ``matches(tokens)`` is the only thing the walk asks of it."""

    text: str
    segments: tuple[_Segment, ...]
    has_depth: bool

    @classmethod
    def parse(cls, text: str) -> PathPattern:
        if not isinstance(text, str):
            raise ValueError(f"a path must be a string like '/id' or '**/created_at', not {text!r}")
        # ``**/x`` reads naturally without the leading slash; it is the same pattern as ``/**/x``.
        body = text if text.startswith("/") or text == "" else "/" + text
        if text and not (text.startswith("/") or text.startswith(_ANY_DEPTH)):
            raise ValueError(f"{text!r} is not a path: start it with '/' (or '**/')")
        segments: list[_Segment] = []
        for raw in split_pointer(body):
            if raw == _ANY_DEPTH:
                if segments and segments[-1].any_depth:
                    continue  # ``**/**`` is ``**``
                segments.append(_Segment(None, None, any_depth=True))
            elif raw == _ANY_ONE:
                segments.append(_Segment(None, None))
            elif "*" in raw or "?" in raw:
                segments.append(_Segment(None, re.compile(fnmatch.translate(raw))))
            else:
                segments.append(_Segment(raw, None))
        return cls(text, tuple(segments), any(s.any_depth for s in segments))

    def matches(self, tokens: Tokens) -> bool:
        if not self.has_depth:
            if len(tokens) != len(self.segments):
                return False
            return all(s.matches(t) for s, t in zip(self.segments, tokens, strict=True))
        return _match(self.segments, 0, tokens, 0)

    def __str__(self) -> str:
        return self.text


def _match(segments: tuple[_Segment, ...], i: int, tokens: Tokens, j: int) -> bool:
    while i < len(segments):
        segment = segments[i]
        if segment.any_depth:
            if i == len(segments) - 1:
                return True
            return any(_match(segments, i + 1, tokens, k) for k in range(j, len(tokens) + 1))
        if j >= len(tokens) or not segment.matches(tokens[j]):
            return False
        i, j = i + 1, j + 1
    return j == len(tokens)
