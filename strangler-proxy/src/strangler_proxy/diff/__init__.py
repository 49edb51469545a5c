"""The comparison engine: are two answers to the same request the same, up to known noise?

    Response ───────┐   (status, lower-case headers, body bytes; response_from_httpx)
    Response ───────┤
    RuleBook ── rules_for(method, path) ──> RouteRules   (routes.py, rules.py: data parsed once)
                    └──> compare(primary, candidate, rules) ──> Diff(FieldDiff...)  (engine.py)
                              leaves: values.py tolerances; paths: paths.py patterns
    NoiseFilter.observe(route, primary, secondary, candidate, rules) ──> Verdict  (noise.py)
                              regressions vs noise, per-route/field counts in report()

Django-free and synchronous: the strangler proxy calls it for every mirrored answer, and
``strangler compare`` for every replayed request. ``default_rules.yaml`` holds the shop's rules.
"""

from .engine import MAX_DIFFERENCES, compare
from .noise import NoiseFilter, Verdict
from .paths import PathPattern
from .response import Response, response_from_httpx
from .result import Diff, FieldDiff, Kind
from .routes import RouteEntry, RuleBook, default_rulebook, default_rules_text
from .rules import NEVER_COMPARED, RouteRules, RuleError, Tolerances, Unordered

__all__ = [
    "MAX_DIFFERENCES",
    "NEVER_COMPARED",
    "Diff",
    "FieldDiff",
    "Kind",
    "NoiseFilter",
    "PathPattern",
    "Response",
    "RouteEntry",
    "RouteRules",
    "RuleBook",
    "RuleError",
    "Tolerances",
    "Unordered",
    "Verdict",
    "compare",
    "default_rulebook",
    "default_rules_text",
    "response_from_httpx",
]
