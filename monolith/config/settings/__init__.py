"""Settings in the kit's shape: ``base`` (everything), ``local`` (a developer's machine), ``test``.

Every value comes from an environment variable with the ``SHOP_`` prefix, with a safe
default for local use; see ``docs/configuration.md``.
"""
