"""The shared behaviour suite: the HTTP contract of docs/api.md, proven against any target."""
