"""Tests of the event backbone.

app/         a tiny Django app for the real-process tests and the benchmark: accounts that
             get credited (the business write + publish), and the effects of the test
             consumers (ledger: one row per event; mirror: the account's latest state)
settings.py  Django settings of those processes (database and broker from the environment)
harness.py   start a database, a broker namespace, the relay, consumers and producers as
             real processes; kill them; read the results; clean up
"""
