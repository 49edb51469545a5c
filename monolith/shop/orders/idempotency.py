"""The ``Idempotency-Key`` protocol around checkout and pay.

The first request with a key claims it (an ``in_progress`` row, committed on its own), runs,
and stores its answer (success, or the problem of a DomainError: 402/409 replay too). Later
requests with the key and the same body + path get that answer again with
``Idempotent-Replayed: true``; with another body: 409 ``idempotency_key_reused``; while the
first still runs: 409 ``idempotency_key_in_progress``. A crash (unexpected exception) deletes
the claim so the client may retry. Keys belong to a user and live 24 hours.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from contracts.problems import CONTENT_TYPE
from shop.common.auth import principal
from shop.common.errors import DomainError, problem_response

from .errors import IdempotencyKeyInProgress, IdempotencyKeyReused, InvalidIdempotencyKey
from .models import IdempotencyRecord, IdempotencyState

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
RETENTION = timedelta(hours=24)
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: Any


def key_validate(key: str) -> None:
    if not _VALID_KEY.fullmatch(key):
        raise InvalidIdempotencyKey(
            f"{KEY_HEADER} must be 1 to 255 printable ASCII characters.", field=KEY_HEADER
        )


def request_hash(*, body: Any, path: str) -> str:
    """sha256 of the canonical JSON body (sorted keys) and the path."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(f"{canonical}\n{path}".encode()).hexdigest()


def begin(
    *, user_id: int, key: str, request_hash: str, now: datetime | None = None
) -> StoredResponse | None:
    """Claim the key (None: run the request), or the stored answer to replay.

    Raises IdempotencyKeyReused (another body or path) or IdempotencyKeyInProgress.
    """
    now = now or timezone.now()
    for _ in range(3):
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    user_id=user_id, key=key, request_hash=request_hash, created_at=now
                )
            return None
        except IntegrityError:
            pass  # the key is taken: look at the record
        record = IdempotencyRecord.objects.filter(user_id=user_id, key=key).first()
        if record is None:
            continue  # abandoned in between: claim it again
        if record.created_at <= now - RETENTION:
            # Expired keys count as absent; the conditional delete tolerates a racing claimant.
            IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at).delete()
            continue
        if record.request_hash != request_hash:
            raise IdempotencyKeyReused(
                f"The {KEY_HEADER} {key!r} was used with another request body or path."
            )
        if record.state != IdempotencyState.DONE or record.response_status is None:
            raise IdempotencyKeyInProgress(
                f"The first request with {KEY_HEADER} {key!r} is still running; retry later."
            )
        return StoredResponse(status=record.response_status, body=record.response_body)
    raise IdempotencyKeyInProgress(f"The {KEY_HEADER} {key!r} is contended; retry later.")


def finish(*, user_id: int, key: str, status: int, body: Any) -> None:
    IdempotencyRecord.objects.filter(
        user_id=user_id, key=key, state=IdempotencyState.IN_PROGRESS
    ).update(state=IdempotencyState.DONE, response_status=status, response_body=body)


def abandon(*, user_id: int, key: str) -> None:
    IdempotencyRecord.objects.filter(
        user_id=user_id, key=key, state=IdempotencyState.IN_PROGRESS
    ).delete()


def purge(*, now: datetime | None = None) -> int:
    """Delete records past the retention period; how many."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lte=cutoff).delete()
    return deleted


def _replay(stored: StoredResponse) -> Response:
    content_type = CONTENT_TYPE if stored.status >= 400 else None
    response = Response(stored.body, status=stored.status, content_type=content_type)
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent(request: Request, run: Callable[[], Response]) -> Response:
    """Answer with ``run()`` under the request's Idempotency-Key (no header: just run it)."""
    key = request.headers.get(KEY_HEADER)
    if key is None:
        return run()
    key_validate(key)
    user_id = principal(request).id
    stored = begin(
        user_id=user_id, key=key, request_hash=request_hash(body=request.data, path=request.path)
    )
    if stored is not None:
        return _replay(stored)
    try:
        response = run()
    except DomainError as exc:
        response = problem_response(exc.problem(request.path))
    except BaseException:
        abandon(user_id=user_id, key=key)
        raise
    finish(user_id=user_id, key=key, status=response.status_code, body=response.data)
    return response
