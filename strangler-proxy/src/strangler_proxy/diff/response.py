"""The one thing the engine compares: a status, lower-cased headers and the body bytes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx


def _frozen_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType({name.lower(): value for name, value in headers.items()})


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP answer, as recorded: ``headers`` names are lower-case (normalised on creation)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", _frozen_headers(self.headers))

    @property
    def media_type(self) -> str:
        """``application/json; charset=utf-8`` -> ``application/json``."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def is_json(self) -> bool:
        media = self.media_type
        return media == "application/json" or media.endswith("+json")

    @classmethod
    def of(
        cls, status: int, headers: Mapping[str, str] | Iterable[tuple[str, str]], body: bytes
    ) -> Response:
        """From any header mapping or (name, value) pairs; repeated names are joined with ``, ``."""
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        merged: dict[str, str] = {}
        for name, value in pairs:
            key = name.lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        return cls(status, merged, body)


def response_from_httpx(response: httpx.Response) -> Response:
    """Build a Response from a read ``httpx.Response`` (its decoded body)."""
    return Response.of(response.status_code, response.headers.multi_items(), response.content)
