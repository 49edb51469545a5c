from __future__ import annotations

import json

from contracts.problems import CONTENT_TYPE, FieldError, Problem, generic


def test_problem_shape_and_type_uri() -> None:
    problem = Problem(
        status=409,
        code="out_of_stock",
        title="Not enough stock",
        detail="SKU A: 1 available, 3 requested.",
        instance="/api/orders/checkout",
        extra={"sku": "A", "available": 1},
    )
    assert json.loads(problem.to_json()) == {
        "type": "https://strangler-kit.dev/problems/out-of-stock",
        "title": "Not enough stock",
        "status": 409,
        "code": "out_of_stock",
        "detail": "SKU A: 1 available, 3 requested.",
        "instance": "/api/orders/checkout",
        "sku": "A",
        "available": 1,
    }
    assert CONTENT_TYPE == "application/problem+json"


def test_field_errors_and_extra_cannot_override_the_core_members() -> None:
    problem = Problem(
        status=400,
        code="validation_error",
        title="Invalid",
        errors=[FieldError("payment.card_number", "invalid_card", "Luhn check failed")],
        extra={"status": 200, "code": "sneaky"},
    )
    body = problem.to_dict()
    assert (body["status"], body["code"]) == (400, "validation_error")
    assert body["errors"] == [
        {"field": "payment.card_number", "code": "invalid_card", "message": "Luhn check failed"}
    ]


def test_generic_codes_carry_their_status() -> None:
    assert generic("throttled", retry_after=3).to_dict()["status"] == 429
    assert generic("not_found").status == 404
