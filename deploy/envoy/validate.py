"""Validate deploy/envoy/envoy.yaml against Envoy's API (envoy-data-plane: the Envoy protos as
Python classes). Unknown fields, wrong enum values and bad typed_config payloads are errors.

    python deploy/envoy/validate.py [FILE]      (needs `pip install envoy-data-plane PyYAML`)

What it cannot check: semantics only Envoy knows (a route naming a missing cluster, a regex
Envoy's RE2 refuses); `envoy --mode validate -c FILE` does, where the Envoy image is at hand.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any

import yaml

# The typed_config payloads the file uses: their modules must be imported to be resolvable.
EXTENSIONS = (
    "envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3",
    "envoy_data_plane.envoy.extensions.filters.http.router.v3",
    "envoy_data_plane.envoy.extensions.access_loggers.stream.v3",
)


def validate(config: dict[str, Any]) -> Any:
    import betterproto2

    # betterproto2 turns `consecutive_5xx` into `consecutive_5_xx` (no such field): keys that
    # are already proto field names are taken as they are.
    original = betterproto2.safe_snake_case
    betterproto2.safe_snake_case = lambda key: (
        key if re.fullmatch(r"[a-z][a-z0-9_]*", key) else original(key)
    )
    for module in EXTENSIONS:
        importlib.import_module(module)
    from envoy_data_plane.envoy.config.bootstrap.v3 import Bootstrap

    return Bootstrap.from_dict(config)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else Path(__file__).with_name("envoy.yaml")
    try:
        bootstrap = validate(yaml.safe_load(path.read_text()))
    except (KeyError, ValueError, TypeError) as exc:
        print(f"{path}: not a valid Envoy bootstrap: {exc}", file=sys.stderr)
        return 1
    resources = bootstrap.static_resources
    print(
        f"{path}: valid Envoy bootstrap ({len(resources.listeners)} listener(s), "
        f"{len(resources.clusters)} cluster(s))"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
