"""payments: a simulated card provider behind an interface, and an append-only ledger.

provider.py    PaymentProvider (Protocol) + SimulatedProvider (the test cards); the class
               named by settings.PAYMENTS_PROVIDER is loaded once per process
cards.py       card number normalisation and the Luhn check
models.py      Payment (one authorisation and its fate), LedgerEntry (append-only)
services.py    payment_authorize / _capture / _void / _refund, card_valid, the errors
selectors.py   PaymentView (the DTO other contexts see), payment_get, payments_for_order

authorize: [provider call, no DB transaction] -> [tx: Payment + ledger entry]
capture/void/refund: [tx: lock Payment row -> check state -> provider -> state + ledger]
"""
