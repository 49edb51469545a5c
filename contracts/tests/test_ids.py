import uuid

from contracts.ids import NOTIFICATIONS_NS, notification_id


def test_the_same_fact_has_the_same_id_on_every_side() -> None:
    assert notification_id(7, "order_paid", "o-1") == notification_id(7, "order_paid", "o-1")
    assert notification_id(7, "order_paid", "o-1") == uuid.uuid5(
        NOTIFICATIONS_NS, "7:order_paid:o-1"
    )


def test_each_part_of_the_fact_changes_the_id() -> None:
    ids = {
        notification_id(7, "order_paid", "o-1"),
        notification_id(8, "order_paid", "o-1"),
        notification_id(7, "order_placed", "o-1"),
        notification_id(7, "order_paid", "o-2"),
    }
    assert len(ids) == 4


def test_the_namespace_is_frozen() -> None:
    # Changing it renames every notification: de-duplication across a rollback would break.
    assert str(NOTIFICATIONS_NS) == "be69e1f7-a06c-57b9-858a-c604deba2d79"
