"""The staged plan as data: parsed, validated, described."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stages.plan import PlanError, describe, load_plan, parse_stage


def test_the_plan_runs_from_the_monolith_to_catalog() -> None:
    stages = load_plan()

    assert [(s.number, s.name, s.context) for s in stages] == [
        (0, "monolith", None),
        (1, "notifications", "notifications"),
        (2, "catalog", "catalog"),
    ]
    catalog = stages[2]
    assert catalog.routes == ("catalog",)
    assert [t.name for t in catalog.tables][:3] == [
        "catalog_category",
        "catalog_product",
        "catalog_variant",
    ]
    assert catalog.gates.shadow_min_requests == 30
    assert catalog.gates.verify_clean
    assert {f.follower for f in catalog.before} == {"catalog"}
    assert {f.follower for f in catalog.after} == {"monolith"}
    assert "catalog_reservation (key id): no events, moves at the flip" in describe(catalog)
    assert catalog.flip_only == {
        "catalog_reservation",
        "catalog_reservationline",
        "catalog_stockmovement",
    }
    assert [t.name for t in catalog.followed_tables] == [
        "catalog_category",
        "catalog_product",
        "catalog_variant",
        "catalog_inventory",
    ]
    assert "nothing moves" in describe(stages[0])


def test_a_stage_that_moves_a_context_must_name_its_data(tmp_path: Path) -> None:
    data = yaml.safe_load((Path("migrations/plan/stage-1-notifications.yaml")).read_text())
    del data["data"]

    with pytest.raises(PlanError, match="names its service, routes, data"):
        parse_stage(data, tmp_path / "stage-1-x.yaml")


def test_a_bad_field_is_named_with_its_file(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"stage-9\.yaml: data\[0\]: 'key' must be a str"):
        parse_stage(
            {"stage": 9, "name": "x", "title": "x", "data": [{"table": "t", "key": 3}]},
            tmp_path / "stage-9.yaml",
        )


def test_stage_numbers_must_run_without_gaps(tmp_path: Path) -> None:
    for number in (0, 2):
        (tmp_path / f"stage-{number}-s.yaml").write_text(
            yaml.safe_dump({"stage": number, "name": "s", "title": "s"})
        )

    with pytest.raises(PlanError, match=r"must be 0..1, got \[0, 2\]"):
        load_plan(tmp_path)
