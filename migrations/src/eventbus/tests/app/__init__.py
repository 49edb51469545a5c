"""A test-only Django app: the business side and the consumers' effects (see tests/__init__)."""
