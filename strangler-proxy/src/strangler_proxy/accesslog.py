"""JSON access log: one line per request, with the request id and the W3C trace id.

Lines are buffered and written in batches (every ``flush_every`` lines, and by the worker's
periodic flush), so logging costs a ``json.dumps`` per request, not a write system call.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

_REQUEST = (
    '{"ts":"%s","level":"info","msg":"request","request_id":"%s","trace_id":"%s",'
    '"span_id":"%s","method":"%s","path":%s,"status":%d,"route":"%s","mode":"%s",'
    '"upstream":"%s","generation":%d,"ms":%.3f,"bytes":%d,"client":"%s"}'
)


class AccessLog:
    def __init__(self, stream: TextIO | None, *, flush_every: int = 200) -> None:
        self.stream = stream
        self.flush_every = flush_every
        self._lines: list[str] = []
        self._second = -1
        self._stamp = ""

    @classmethod
    def open(cls, target: str) -> AccessLog:
        """``off``, ``-`` (stdout) or a file path (appended to)."""
        if target in ("", "off", "none"):
            return cls(None)
        if target == "-":
            return cls(sys.stdout)
        return cls(open(target, "a", encoding="utf-8", buffering=1 << 16))

    @property
    def enabled(self) -> bool:
        return self.stream is not None

    def timestamp(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return "%s.%03dZ" % (self._stamp, (now - second) * 1000)  # noqa: UP031 (faster)

    def request(
        self,
        *,
        request_id: str,
        trace_id: str,
        span_id: str,
        method: str,
        path: str,
        status: int,
        route: str,
        mode: str,
        upstream: str,
        generation: int,
        seconds: float,
        size: int,
        client: str,
    ) -> None:
        """One request's line, from a template: ``json.dumps`` of the same dict costs 4x. Only
        the path can need escaping (ids, route keys, upstream names and modes are validated
        tokens; methods and addresses come from the HTTP parser)."""
        if self.stream is None:
            return
        self._lines.append(
            _REQUEST
            % (
                self.timestamp(),
                request_id,
                trace_id,
                span_id,
                method,
                _text(path),
                status,
                route,
                mode,
                upstream,
                generation,
                seconds * 1000,
                size,
                client,
            )
        )
        if len(self._lines) >= self.flush_every:
            self.flush()

    def write(self, record: dict[str, Any]) -> None:
        if self.stream is None:
            return
        record["ts"] = self.timestamp()
        self._lines.append(json.dumps(record, separators=(",", ":"), default=str))
        if len(self._lines) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if self.stream is None or not self._lines:
            return
        lines, self._lines = self._lines, []
        try:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed or full log must not take the proxy down

    def close(self) -> None:
        self.flush()
        if self.stream is not None and self.stream not in (sys.stdout, sys.stderr):
            self.stream.close()


def _text(value: str) -> str:
    """A JSON string literal; plain ASCII (the common case) skips the encoder."""
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value)


def event(msg: str, level: str = "info", **fields: Any) -> None:
    """One JSON line on stderr for the proxy's own events (table swaps, breaker changes)."""
    record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": level}
    record["msg"] = msg
    record.update(fields)
    try:
        sys.stderr.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
