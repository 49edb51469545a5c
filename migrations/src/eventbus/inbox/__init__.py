"""eventbus.inbox: idempotent, ordered consumers (a reusable Django app).

    message --> handle_once(consumer, envelope, effect)   one transaction:
                  inbox (consumer, event_id) unique   -> duplicate? skip
                  aggregate version (per consumer)    -> stale? skip; gap? per Ordering
                  effect()                            -> the one service call

See services.py for the gap rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .services import Ordering, Outcome, VersionGap, handle_once

__all__ = ["Ordering", "Outcome", "VersionGap", "handle_once"]


def __getattr__(name: str) -> Any:
    # Lazy: the app package is imported before Django's app registry is ready.
    if name in __all__:
        from . import services

        return getattr(services, name)
    raise AttributeError(name)
