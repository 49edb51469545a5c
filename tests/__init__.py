"""The kit's cross-cutting tests: the black-box behaviour suite and the concurrency check."""
