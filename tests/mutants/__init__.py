"""Mutants: the monolith behind a tiny proxy that breaks ONE behaviour, to prove the kit notices.

    client ──> mutant (uvicorn, ASGI, httpx) ──> live monolith
                 └─ mutations.py: 402 -> 200, drop price_from, order total + 0.01, or none

``launch.py`` starts one as a process (``python -m tests.mutants.proxy``) and waits for it;
tests/test_mutants.py runs the behaviour suite and ``strangler compare`` against them.
"""
