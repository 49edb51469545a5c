"""Who writes catalog, as the monolith's catalog code needs to know it (design: one writer per
context). ``eventbus.ownership`` keeps the row; this module names the monolith's side of it."""

from __future__ import annotations

from eventbus.ownership import services as ownership
from eventbus.ownership.models import Owner

__all__ = ["CONTEXT", "ME", "is_writer", "remote", "require"]

CONTEXT = "catalog"
ME = Owner.MONOLITH.value


def require() -> None:
    """First statement of every write transaction: raise ``NotWriter`` unless the monolith
    writes catalog right now (on PostgreSQL the ownership row is held FOR SHARE until commit,
    so a freeze waits for this write to finish)."""
    ownership.require_writer(CONTEXT, ME)


def is_writer() -> bool:
    return ownership.is_writer(CONTEXT, ME)


def remote() -> bool:
    """Whether the catalog service owns catalog: then reservations and restocks go to its
    internal API. Read per call, uncached: a flip must be seen by the very next call."""
    return ownership.owner_of(CONTEXT).owner == Owner.SERVICE
