"""The comparison engine on the awkward cases (many from Diffy's issue tracker)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from strangler_proxy.diff import (
    Diff,
    FieldDiff,
    Response,
    RouteRules,
    compare,
    response_from_httpx,
)

JSON = {"Content-Type": "application/json"}


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(status, {**JSON, **(headers or {})}, raw)


def rules(**data: Any) -> RouteRules:
    return RouteRules.parse(data, name="test")


def found(diff: Diff) -> list[tuple[str, str, str | None]]:
    return [(d.path, d.kind, d.rule) for d in diff.differences]


# --- responses ----------------------------------------------------------------------------


def test_response_headers_are_lower_case_and_read_only() -> None:
    response = Response(200, {"Content-Type": "application/json; charset=utf-8"}, b"{}")
    assert dict(response.headers) == {"content-type": "application/json; charset=utf-8"}
    assert response.media_type == "application/json"
    assert response.is_json
    with pytest.raises(TypeError):
        response.headers["x"] = "y"  # type: ignore[index]


def test_response_of_joins_repeated_headers() -> None:
    response = Response.of(200, [("Vary", "Accept"), ("vary", "Cookie")], b"")
    assert response.headers["vary"] == "Accept, Cookie"


def test_problem_json_is_json() -> None:
    assert Response(400, {"content-type": "application/problem+json"}, b"{}").is_json
    assert not Response(200, {"content-type": "text/html"}, b"{}").is_json


def test_response_from_httpx() -> None:
    raw = httpx.Response(201, headers={"X-Thing": "1", "Content-Type": "text/plain"}, content=b"hi")
    response = response_from_httpx(raw)
    assert (response.status, response.headers["x-thing"], response.body) == (201, "1", b"hi")


# --- identical and volatile ---------------------------------------------------------------


def test_identical_answers_match() -> None:
    body = {"id": 1, "price": "12.50", "tags": ["a", "b"]}
    diff = compare(answer(body), answer(body), rules())
    assert diff.ok
    assert diff.differences == ()
    assert diff.summary() == "no differences"
    assert diff.route == "test"


def test_same_json_with_other_key_order_and_spacing_matches() -> None:
    primary = Response(200, JSON, b'{"a": 1, "b": [1, 2]}')
    candidate = Response(200, JSON, b'{"b":[1,2],"a":1}')
    assert compare(primary, candidate, rules()).ok


def test_uuids_in_every_answer_match_only_with_the_uuid_tolerance() -> None:
    primary = answer({"id": "3f1c2a9e-5b7d-4c1e-9a2b-1234567890ab", "name": "x"})
    candidate = answer({"id": "7d3e1b2c-0a9f-4e8d-b7c6-abcdefabcdef", "name": "x"})
    assert found(compare(primary, candidate, rules())) == [("/id", "changed", None)]
    assert compare(primary, candidate, rules(tolerate={"uuid": True})).ok


def test_uuid_tolerance_does_not_match_a_uuid_with_another_string() -> None:
    primary = answer({"id": "3f1c2a9e-5b7d-4c1e-9a2b-1234567890ab"})
    candidate = answer({"id": "not-a-uuid"})
    assert found(compare(primary, candidate, rules(tolerate={"uuid": True}))) == [
        ("/id", "changed", None)
    ]


def test_timestamps_within_the_tolerance_match_and_beyond_it_name_the_rule() -> None:
    tolerant = rules(tolerate={"timestamp": 5})
    primary = answer({"created_at": "2024-05-01T10:00:00Z"})
    near = answer({"created_at": "2024-05-01T10:00:04.900000+00:00"})
    far = answer({"created_at": "2024-05-01T10:00:06Z"})
    assert compare(primary, near, tolerant).ok
    assert found(compare(primary, far, tolerant)) == [
        ("/created_at", "changed", "tolerate:timestamp(5s) exceeded")
    ]
    assert found(compare(primary, near, rules())) == [("/created_at", "changed", None)]


def test_timestamp_tolerance_compares_across_time_zones() -> None:
    primary = answer({"at": "2024-05-01T10:00:00+00:00"})
    candidate = answer({"at": "2024-05-01T12:00:01+02:00"})
    assert compare(primary, candidate, rules(tolerate={"timestamp": 2})).ok


def test_timestamp_tolerance_never_reads_numbers_or_dates_as_timestamps() -> None:
    tolerant = rules(tolerate={"timestamp": 100000})
    assert found(compare(answer({"v": "20240101"}), answer({"v": "20240102"}), tolerant)) == [
        ("/v", "changed", None)
    ]
    assert found(compare(answer({"d": "2024-05-01"}), answer({"d": "2024-05-02"}), tolerant)) == [
        ("/d", "changed", None)
    ]


def test_date_server_and_request_id_headers_are_never_compared() -> None:
    primary = answer({}, headers={"Date": "Mon, 01 Jan 2024 00:00:00 GMT", "Server": "gunicorn"})
    primary = Response(200, {**primary.headers, "x-request-id": "a"}, primary.body)
    candidate = answer({}, headers={"Date": "Tue, 02 Jan 2024 00:00:00 GMT", "Server": "uvicorn"})
    candidate = Response(200, {**candidate.headers, "x-request-id": "b"}, candidate.body)
    assert compare(primary, candidate, rules()).ok


def test_content_type_is_compared_by_media_type() -> None:
    plain = answer({}, headers={"Content-Type": "application/json"})
    charset = answer({}, headers={"Content-Type": "application/json; charset=utf-8"})
    problem = answer({}, headers={"Content-Type": "application/problem+json"})
    assert compare(plain, charset, rules()).ok
    diff = compare(plain, problem, rules())
    assert found(diff) == [("header:content-type", "header", None)]
    assert (diff.differences[0].primary, diff.differences[0].candidate) == (
        "application/json",
        "application/problem+json",
    )


def test_headers_named_in_the_rules_are_compared_and_a_missing_one_is_none() -> None:
    chosen = rules(headers=["content-type", "Idempotent-Replayed"])
    replayed = answer({}, headers={"Idempotent-Replayed": "true"})
    diff = compare(replayed, answer({}), chosen)
    assert [(d.path, d.kind, d.primary, d.candidate) for d in diff.differences] == [
        ("header:idempotent-replayed", "header", "true", None)
    ]


# --- arrays ---------------------------------------------------------------------------------


def test_reordered_array_differs_when_order_matters() -> None:
    diff = compare(answer({"tags": ["a", "b"]}), answer({"tags": ["b", "a"]}), rules())
    assert found(diff) == [("/tags/0", "changed", None), ("/tags/1", "changed", None)]


def test_reordered_array_matches_as_a_multiset() -> None:
    unordered = rules(unordered=["/tags"])
    assert compare(
        answer({"tags": ["a", "b", "a"]}), answer({"tags": ["a", "a", "b"]}), unordered
    ).ok
    diff = compare(answer({"tags": ["a", "b", "a"]}), answer({"tags": ["b", "a", "c"]}), unordered)
    assert found(diff) == [
        ("/tags/2", "missing", "unordered:/tags"),
        ("/tags/2", "extra", "unordered:/tags"),
    ]
    assert (diff.differences[0].primary, diff.differences[1].candidate) == ("a", "c")


def test_unordered_without_key_pairs_items_equal_under_the_tolerances() -> None:
    primary = answer(
        {
            "items": [
                {"id": "3f1c2a9e-5b7d-4c1e-9a2b-1234567890ab", "n": 1},
                {"id": "3f1c2a9e-5b7d-4c1e-9a2b-1234567890ac", "n": 2},
            ]
        }
    )
    candidate = answer(
        {
            "items": [
                {"id": "7d3e1b2c-0a9f-4e8d-b7c6-abcdefabcdef", "n": 2},
                {"id": "7d3e1b2c-0a9f-4e8d-b7c6-abcdefabcde0", "n": 1},
            ]
        }
    )
    assert compare(primary, candidate, rules(unordered=["/items"], tolerate={"uuid": True})).ok


def test_reordered_objects_matched_by_key_report_fields_of_the_same_item() -> None:
    primary = answer({"results": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]})
    candidate = answer({"results": [{"sku": "B", "qty": 3}, {"sku": "A", "qty": 1}]})
    keyed = rules(unordered={"/results": "sku"})
    diff = compare(primary, candidate, keyed)
    # B is item 1 of the primary: the path names the primary's index.
    assert found(diff) == [("/results/1/qty", "changed", None)]
    assert (diff.differences[0].primary, diff.differences[0].candidate) == (2, 3)
    assert diff.differences[0].pattern == "/results/*/qty"


def test_keyed_unordered_items_on_one_side_only_are_missing_or_extra() -> None:
    primary = answer({"results": [{"sku": "A"}, {"sku": "B"}]})
    candidate = answer({"results": [{"sku": "C"}, {"sku": "A"}]})
    diff = compare(primary, candidate, rules(unordered={"/results": "sku"}))
    assert found(diff) == [
        ("/results/1", "missing", "unordered:/results[sku]"),
        ("/results/0", "extra", "unordered:/results[sku]"),
    ]
    assert diff.differences[0].primary == {"sku": "B"}


def test_longer_and_shorter_arrays_report_the_tail() -> None:
    diff = compare(answer({"a": [1, 2, 3]}), answer({"a": [1]}), rules())
    assert found(diff) == [("/a/1", "missing", None), ("/a/2", "missing", None)]
    diff = compare(answer({"a": [1]}), answer({"a": [1, 5]}), rules())
    assert [(d.path, d.kind, d.candidate) for d in diff.differences] == [("/a/1", "extra", 5)]


def test_nested_arrays_of_objects_give_exact_paths_and_generic_fields() -> None:
    body: dict[str, Any] = {
        "results": [
            {"slug": "a", "variants": [{"sku": "A-1", "price": "1.00"}]},
            {
                "slug": "b",
                "variants": [{"sku": "B-1", "price": "2.00"}, {"sku": "B-2", "price": "3.00"}],
            },
        ]
    }
    changed = json.loads(json.dumps(body))
    changed["results"][1]["variants"][1]["price"] = "3.01"
    diff = compare(answer(body), answer(changed), rules())
    assert [(d.path, d.pattern, d.primary, d.candidate) for d in diff.differences] == [
        ("/results/1/variants/1/price", "/results/*/variants/*/price", "3.00", "3.01")
    ]


def test_unordered_glob_applies_to_arrays_inside_every_item() -> None:
    primary = answer({"results": [{"variants": [{"sku": "A"}, {"sku": "B"}]}]})
    candidate = answer({"results": [{"variants": [{"sku": "B"}, {"sku": "A"}]}]})
    assert compare(primary, candidate, rules(unordered={"/results/*/variants": "sku"})).ok


def test_unordered_key_can_be_a_pointer_into_the_item() -> None:
    primary = answer([{"ref": {"id": 1}, "v": "x"}, {"ref": {"id": 2}, "v": "y"}])
    candidate = answer([{"ref": {"id": 2}, "v": "y"}, {"ref": {"id": 1}, "v": "z"}])
    diff = compare(primary, candidate, rules(unordered={"": "/ref/id"}))
    assert found(diff) == [("/0/v", "changed", None)]


# --- numbers, nulls, missing fields ---------------------------------------------------------


def test_number_as_string_is_a_type_difference_unless_tolerated() -> None:
    primary, candidate = answer({"price": "12.50"}), answer({"price": 12.5})
    diff = compare(primary, candidate, rules())
    assert found(diff) == [("/price", "type", None)]
    assert diff.summary() == '1 field differs: /price ("12.50" != 12.5, type)'
    assert compare(primary, candidate, rules(tolerate={"numbers_as_strings": True})).ok
    other = compare(primary, answer({"price": 12.6}), rules(tolerate={"numbers_as_strings": True}))
    assert found(other) == [("/price", "type", "tolerate:numbers_as_strings (values differ)")]


def test_numbers_as_strings_alone_does_not_equate_two_different_strings() -> None:
    diff = compare(
        answer({"p": "12.5"}), answer({"p": "12.50"}), rules(tolerate={"numbers_as_strings": True})
    )
    assert found(diff) == [("/p", "changed", None)]


def test_decimal_scale_rounds_numbers_and_decimal_strings() -> None:
    scaled = rules(tolerate={"decimal": 2})
    assert compare(answer({"p": "12.5"}), answer({"p": "12.50"}), scaled).ok
    assert compare(answer({"p": 0.1 + 0.2}), answer({"p": 0.3}), scaled).ok
    diff = compare(answer({"total": "39.98"}), answer({"total": "39.99"}), scaled)
    assert found(diff) == [("/total", "changed", "tolerate:decimal(2) exceeded")]


def test_decimal_with_numbers_as_strings_compares_a_string_with_a_number() -> None:
    both = rules(tolerate={"decimal": 1, "numbers_as_strings": True})
    assert compare(answer({"p": "12.54"}), answer({"p": 12.5}), both).ok
    diff = compare(answer({"p": "12.56"}), answer({"p": 12.5}), both)
    assert found(diff) == [("/p", "type", "tolerate:numbers_as_strings+decimal(1) exceeded")]


def test_integer_and_float_spellings_of_a_number_are_equal() -> None:
    assert compare(Response(200, JSON, b'{"n": 1}'), Response(200, JSON, b'{"n": 1.0}'), rules()).ok


def test_booleans_are_not_numbers() -> None:
    diff = compare(
        answer({"f": True}),
        answer({"f": 1}),
        rules(tolerate={"numbers_as_strings": True, "decimal": 0}),
    )
    assert found(diff) == [("/f", "type", None)]


def test_field_present_on_one_side_only() -> None:
    diff = compare(answer({"a": 1, "price_from": "9.00"}), answer({"a": 1, "new": True}), rules())
    assert [(d.path, d.kind, d.primary, d.candidate) for d in diff.differences] == [
        ("/price_from", "missing", "9.00", None),
        ("/new", "extra", None, True),
    ]
    assert diff.summary() == (
        "2 fields differ: /price_from (missing in candidate), /new (only in candidate)"
    )


def test_null_versus_missing_is_a_difference_unless_tolerated() -> None:
    primary, candidate = answer({"a": 1, "phone": None}), answer({"a": 1})
    assert found(compare(primary, candidate, rules())) == [("/phone", "missing", None)]
    assert found(compare(candidate, primary, rules())) == [("/phone", "extra", None)]
    assert compare(primary, candidate, rules(tolerate={"null_as_missing": True})).ok


def test_null_versus_a_value_is_a_type_difference() -> None:
    diff = compare(answer({"payment_id": None}), answer({"payment_id": "x"}), rules())
    assert found(diff) == [("/payment_id", "type", None)]


def test_object_versus_array_at_the_root() -> None:
    diff = compare(answer({"a": 1}), answer([1]), rules())
    assert found(diff) == [("", "type", None)]
    assert diff.summary() == '1 field differs: (root) ({"a": 1} != [1], type)'


# --- ignore --------------------------------------------------------------------------------


def test_ignore_pointers_and_globs() -> None:
    primary = answer(
        {
            "id": 1,
            "results": [{"id": 1, "created_at": "x", "n": 1}],
            "meta": {"created_at": "y", "updated_at": "p"},
        }
    )
    candidate = answer(
        {
            "id": 2,
            "results": [{"id": 2, "created_at": "z", "n": 1}],
            "meta": {"created_at": "w", "updated_at": "q"},
        }
    )
    assert found(compare(primary, candidate, rules(ignore=["/id"])))[0] == (
        "/results/0/id",
        "changed",
        None,
    )
    ignoring = rules(ignore=["/id", "/results/*/id", "**/created_at", "/meta/*_at"])
    assert compare(primary, candidate, ignoring).ok


def test_ignored_field_on_one_side_only_is_not_missing() -> None:
    assert compare(answer({"a": 1, "id": 5}), answer({"a": 1}), rules(ignore=["/id"])).ok


def test_ignoring_a_subtree_skips_everything_below_it() -> None:
    primary, candidate = answer({"meta": {"a": [1, 2]}}), answer({"meta": {"a": 3, "b": 1}})
    assert compare(primary, candidate, rules(ignore=["/meta"])).ok


# --- non-JSON bodies and statuses ----------------------------------------------------------


def test_non_json_bodies_are_compared_as_bytes() -> None:
    html = {"Content-Type": "text/html"}
    same = compare(Response(200, html, b"<p>a</p>"), Response(200, html, b"<p>a</p>"), rules())
    assert same.ok
    diff = compare(Response(200, html, b"<p>a</p>"), Response(200, html, b"<p>b</p>"), rules())
    assert found(diff) == [("body", "changed", None)]
    assert diff.differences[0].primary.startswith("8 bytes sha256:")
    assert diff.differences[0].primary.endswith("'<p>a</p>'")


def test_json_against_an_html_error_page() -> None:
    diff = compare(
        answer({"a": 1}),
        Response(502, {"Content-Type": "text/html"}, b"<h1>Bad gateway</h1>"),
        rules(),
    )
    assert found(diff) == [
        ("status", "status", None),
        ("header:content-type", "header", None),
        ("body", "type", None),
    ]


def test_invalid_json_is_compared_as_bytes() -> None:
    diff = compare(Response(200, JSON, b"{oops"), Response(200, JSON, b"{oops!"), rules())
    assert found(diff) == [("body", "changed", None)]


def test_empty_bodies_match() -> None:
    assert compare(Response(204, {}, b""), Response(204, {}, b""), rules()).ok


def test_status_difference_and_equivalence() -> None:
    diff = compare(answer({}, 402), answer({}, 200), rules())
    assert [(d.path, d.kind, d.primary, d.candidate) for d in diff.differences] == [
        ("status", "status", 402, 200)
    ]
    assert diff.summary() == "1 field differs: status (402 != 200)"
    grouped = rules(status_equivalent=[[200, 201], [301, 302, 307, 308]])
    assert compare(answer({}, 200), answer({}, 201), grouped).ok
    assert compare(answer({}, 302), answer({}, 307), grouped).ok
    assert found(compare(answer({}, 200), answer({}, 302), grouped)) == [
        ("status", "status", "status_equivalent")
    ]


# --- output --------------------------------------------------------------------------------


def test_summary_is_one_short_line() -> None:
    primary = answer({"price": "12.50", "items": [{"qty": 1}]})
    candidate = answer({"price": "12.60", "items": [{}]})
    diff = compare(primary, candidate, rules())
    assert diff.summary() == (
        '2 fields differ: /price ("12.50" != "12.60"), /items/0/qty (missing in candidate)'
    )


def test_summary_names_three_differences_and_counts_the_rest() -> None:
    diff = compare(answer({k: 1 for k in "abcde"}), answer({k: 2 for k in "abcde"}), rules())
    assert diff.summary() == "5 fields differ: /a (1 != 2), /b (1 != 2), /c (1 != 2), and 2 more"


def test_values_in_the_output_are_truncated() -> None:
    long_text = "x" * 5000
    big = {"rows": [{"n": i, "text": "y" * 50} for i in range(200)]}
    diff = compare(answer({"t": long_text, "big": big}), answer({"t": "short"}), rules())
    text_diff, big_diff = diff.differences
    assert len(text_diff.primary) == 200
    assert text_diff.primary.endswith("…")
    assert isinstance(big_diff.primary, str)
    assert len(big_diff.primary) == 200
    assert len(diff.summary()) < 200
    assert len(json.dumps(diff.to_dict())) < 2000


def test_small_containers_are_kept_as_json_values() -> None:
    diff = compare(answer({"v": [{"sku": "A", "price": 1.5}]}), answer({}), rules())
    assert diff.differences[0].primary == [{"sku": "A", "price": 1.5}]


def test_to_dict_is_complete_and_json_serialisable() -> None:
    diff = compare(answer({"total": 1.25, "id": "a"}, 200), answer({"total": 1.5}, 201), rules())
    stored = json.loads(json.dumps(diff.to_dict()))
    assert stored == {
        "ok": False,
        "route": "test",
        "count": 3,
        "omitted": 0,
        "differences": [
            {
                "path": "status",
                "field": "status",
                "kind": "status",
                "primary": 200,
                "candidate": 201,
                "rule": None,
            },
            {
                "path": "/total",
                "field": "/total",
                "kind": "changed",
                "primary": 1.25,
                "candidate": 1.5,
                "rule": None,
            },
            {
                "path": "/id",
                "field": "/id",
                "kind": "missing",
                "primary": "a",
                "candidate": None,
                "rule": None,
            },
        ],
    }


def test_the_number_of_kept_differences_is_bounded() -> None:
    primary = answer(list(range(500)))
    candidate = answer([n + 1 for n in range(500)])
    diff = compare(primary, candidate, rules(), max_differences=10)
    assert len(diff.differences) == 10
    assert diff.omitted == 490
    assert diff.count == 500
    assert diff.summary().endswith("and 497 more")


def test_diff_and_field_diff_are_frozen() -> None:
    diff = compare(answer({"a": 1}), answer({"a": 2}), rules())
    with pytest.raises(AttributeError):
        diff.differences = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        diff.differences[0].path = "/b"  # type: ignore[misc]
    assert isinstance(diff.differences[0], FieldDiff)
