"""The Diffy-style noise filter: a difference the primary makes with itself is not a regression."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from strangler_proxy.diff import NoiseFilter, Response, RouteRules, compare

RULES = RouteRules.parse({}, name="r")


def answer(body: Any, status: int = 200) -> Response:
    return Response(status, {"content-type": "application/json"}, json.dumps(body).encode())


def test_a_field_that_differs_between_two_primaries_is_noise() -> None:
    noise = NoiseFilter()
    verdict = noise.observe(
        "products",
        answer({"served_by": "a", "price_from": "9.00"}),
        answer({"served_by": "b", "price_from": "9.00"}),
        answer({"served_by": "c", "price_from": "9.00"}),
        RULES,
    )
    assert not verdict.matched
    assert verdict.ok
    assert verdict.noise_only
    assert [d.path for d in verdict.noisy] == ["/served_by"]
    assert verdict.regressions == ()
    assert verdict.summary().startswith("noise only: 1 field differs: /served_by")


def test_a_field_only_the_candidate_gets_wrong_is_a_regression() -> None:
    noise = NoiseFilter()
    primary = answer({"served_by": "a", "price_from": "9.00"})
    verdict = noise.observe(
        "products",
        primary,
        answer({"served_by": "b", "price_from": "9.00"}),
        answer({"served_by": "c"}),
        RULES,
    )
    assert not verdict.ok
    assert [(d.path, d.kind) for d in verdict.regressions] == [("/price_from", "missing")]
    assert [d.path for d in verdict.noisy] == ["/served_by"]
    assert verdict.summary() == "1 field differs: /price_from (missing in candidate) (+1 noisy)"


def test_matching_answers_count_as_matches() -> None:
    noise = NoiseFilter()
    verdict = noise.observe("r", answer({"a": 1}), answer({"a": 1}), answer({"a": 1}), RULES)
    assert verdict.matched
    assert verdict.ok
    assert not verdict.noise_only
    assert verdict.summary() == "match"
    assert noise.report()["routes"]["r"] == {
        "requests": 1,
        "noise_samples": 1,
        "matches": 1,
        "mismatches": 0,
        "noise_only": 0,
        "fields": {},
    }


def test_rate_based_noise_once_the_minimum_sample_is_reached() -> None:
    # "stock" differs between two primaries in 1 of 2 requests (someone is buying), and between
    # primary and candidate in 1 of 2: not above the noise rate, so noise, even in a request
    # where the two primaries happened to agree.
    noise = NoiseFilter(margin=0.05, min_samples=4)
    verdicts = []
    for i in range(8):
        primary = answer({"stock": 5})
        secondary = answer({"stock": 4 if i % 2 == 0 else 5})
        candidate = answer({"stock": 4 if i % 2 == 1 else 5})
        verdicts.append(noise.observe("p", primary, secondary, candidate, RULES))
    # before the minimum sample only same-request evidence counts: request 1 is a regression
    assert [v.ok for v in verdicts] == [True, False, True, True, True, True, True, True]
    report = noise.report()["routes"]["p"]
    assert (report["requests"], report["matches"], report["mismatches"], report["noise_only"]) == (
        8,
        4,
        1,
        3,
    )
    assert report["fields"]["/stock"] == {
        "raw": 4,
        "noise": 4,
        "regressions": 1,
        "raw_rate": 0.5,
        "noise_rate": 0.5,
        "kinds": ["changed"],
        "noisy": True,
    }


def test_a_field_well_above_its_noise_rate_is_a_regression() -> None:
    noise = NoiseFilter(margin=0.1, min_samples=5)
    outcomes = []
    for i in range(20):
        secondary_total = "9.99" if i % 10 == 0 else "10.00"  # noisy 10% of the time
        verdict = noise.observe(
            "orders",
            answer({"total": "10.00"}),
            answer({"total": secondary_total}),
            answer({"total": "10.01"}),
            RULES,
        )
        outcomes.append(verdict.ok)
    # noisy in the two requests where the primaries disagreed, a regression everywhere else
    assert outcomes.count(True) == 2
    assert noise.report()["routes"]["orders"]["fields"]["/total"]["noisy"] is False
    assert noise.report()["totals"] == {
        "requests": 20,
        "matches": 0,
        "mismatches": 18,
        "noise_only": 2,
    }


def test_a_field_never_noisy_is_never_noise_however_rare_the_difference() -> None:
    noise = NoiseFilter(margin=0.5, min_samples=1)
    for _ in range(50):
        noise.observe("r", answer({"a": 1}), answer({"a": 1}), answer({"a": 1}), RULES)
    verdict = noise.observe("r", answer({"a": 1}), answer({"a": 1}), answer({"a": 2}), RULES)
    assert [d.path for d in verdict.regressions] == ["/a"]


def test_array_items_count_as_one_field() -> None:
    noise = NoiseFilter()
    primary = answer({"results": [{"at": 1}, {"at": 2}]})
    secondary = answer({"results": [{"at": 3}, {"at": 4}]})
    candidate = answer({"results": [{"at": 5}, {"at": 6}]})
    verdict = noise.observe("list", primary, secondary, candidate, RULES)
    assert verdict.ok
    fields = noise.report()["routes"]["list"]["fields"]
    assert list(fields) == ["/results/*/at"]
    assert (fields["/results/*/at"]["raw"], fields["/results/*/at"]["noise"]) == (1, 1)


def test_without_a_secondary_every_difference_is_a_regression() -> None:
    noise = NoiseFilter()
    verdict = noise.observe("w", answer({"a": 1}, 201), None, answer({"a": 2}, 201), RULES)
    assert [d.path for d in verdict.regressions] == ["/a"]
    assert verdict.noise is None
    assert noise.report()["routes"]["w"]["noise_samples"] == 0
    assert noise.report()["routes"]["w"]["fields"]["/a"]["noise_rate"] is None


def test_status_differences_go_through_the_filter_too() -> None:
    noise = NoiseFilter()
    flaky = noise.observe("h", answer({}, 200), answer({}, 503), answer({}, 503), RULES)
    assert flaky.ok
    broken = noise.observe("h", answer({}, 402), answer({}, 402), answer({}, 200), RULES)
    assert [(d.path, d.kind) for d in broken.regressions] == [("status", "status")]


def test_observe_diffs_takes_comparisons_made_elsewhere() -> None:
    noise = NoiseFilter()
    raw = compare(answer({"a": 1}), answer({"a": 2}), RULES)
    verdict = noise.observe_diffs("r", raw, None)
    assert verdict.raw is raw
    assert verdict.to_dict()["regressions"] == [
        {"path": "/a", "field": "/a", "kind": "changed", "primary": 1, "candidate": 2, "rule": None}
    ]


def test_the_number_of_fields_per_route_is_bounded() -> None:
    noise = NoiseFilter(max_fields_per_route=3)
    for i in range(10):
        noise.observe("r", answer({f"k{i}": 1}), None, answer({}), RULES)
    fields = noise.report()["routes"]["r"]["fields"]
    assert sorted(fields) == ["(other fields)", "/k0", "/k1", "/k2"]
    assert fields["(other fields)"]["raw"] == 7


def test_counts_are_exact_under_concurrent_observers() -> None:
    noise = NoiseFilter()

    def work() -> None:
        for _ in range(200):
            noise.observe("c", answer({"a": 1}), answer({"a": 1}), answer({"a": 2}), RULES)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    route = noise.report()["routes"]["c"]
    assert (route["requests"], route["mismatches"], route["fields"]["/a"]["raw"]) == (800, 800, 800)


@pytest.mark.parametrize(("margin", "min_samples"), [(-0.1, 5), (1.5, 5), (0.1, 0)])
def test_bad_settings_are_refused(margin: float, min_samples: int) -> None:
    with pytest.raises(ValueError):
        NoiseFilter(margin=margin, min_samples=min_samples)


def test_rejudge_uses_every_sample_seen_since() -> None:
    noise = NoiseFilter(margin=0.15, min_samples=4)
    early = noise.observe("p", answer({"n": 1}), answer({"n": 1}), answer({"n": 2}), RULES)
    assert [d.path for d in early.regressions] == ["/n"]
    for i in range(8):
        # the primaries disagree in half the requests, the candidate in the other half
        secondary, candidate = ({"n": 2}, {"n": 1}) if i % 2 == 0 else ({"n": 1}, {"n": 2})
        noise.observe("p", answer({"n": 1}), answer(secondary), answer(candidate), RULES)
    later = noise.rejudge(early)  # raw 5/9 is not above noise 4/9 + 0.15
    assert later.regressions == ()
    assert [d.path for d in later.noisy] == ["/n"]
    assert later.raw is early.raw
    # judging again changes no count
    assert noise.report()["routes"]["p"]["requests"] == 9
    assert noise.report()["routes"]["p"]["mismatches"] == 3  # as judged when observed
