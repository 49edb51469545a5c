"""PostgreSQL: every insert into the outbox sends NOTIFY eventbus_outbox (delivered at commit).

A statement trigger, so publish() pays no extra round trip and any writer of the table wakes
the relay. Nothing on other databases (the relay polls there).
"""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

CREATE = """
CREATE OR REPLACE FUNCTION eventbus_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('eventbus_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER eventbus_outbox_notify AFTER INSERT ON eventbus_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus_outbox_notify();
"""
DROP = """
DROP TRIGGER IF EXISTS eventbus_outbox_notify ON eventbus_outbox;
DROP FUNCTION IF EXISTS eventbus_outbox_notify();
"""


def create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("eventbus_outbox", "0001_initial")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
