"""The test event. Not registered with the kit's contracts (its context is not a kit one)."""

from __future__ import annotations

import dataclasses

from contracts.events import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class AccountCredited(Event, register=False):
    EVENT_NAME = "bank.account.credited"
    AGGREGATE_ID = "account_id"

    account_id: int
    amount: int
    balance: int  # after the credit: the whole state of the account
