"""The one error the data verbs raise for a problem the user can fix (bad URL, missing table)."""

from __future__ import annotations


class DataError(Exception):
    """A problem with the inputs (URL, table, columns), said in words the CLI prints as is."""
