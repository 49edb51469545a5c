"""``python -m strangler_proxy``: run a proxy replica (the kit's CLI has ``strangler proxy``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import ProxySettings, parse_upstreams
from .server import StartupError, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m strangler_proxy", description=__doc__)
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None, help="data port (0: any free port)")
    parser.add_argument("--admin-host", default=None)
    parser.add_argument("--admin-port", type=int, default=None)
    parser.add_argument("--var-dir", type=Path, default=None)
    parser.add_argument("--routes", type=Path, default=None, help="routes file (YAML/JSON)")
    parser.add_argument("--store", default=None, help="'file' or a postgres:// URL")
    parser.add_argument("--monolith", default=None, help="monolith URL for the default table")
    parser.add_argument("--upstream", action="append", default=[], help="NAME=URL (repeat)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--access-log", default=None, help="off, - (stdout) or a path")
    parser.add_argument("--token", default=None, help="admin token (env KIT_PROXY_ADMIN_TOKEN)")
    args = parser.parse_args(argv)
    try:
        upstreams = parse_upstreams(args.upstream)
    except ValueError as exc:
        parser.error(str(exc))
    settings = ProxySettings.from_env(
        host=args.host,
        port=args.port,
        admin_host=args.admin_host,
        admin_port=args.admin_port,
        var_dir=args.var_dir,
        routes_file=args.routes,
        store=args.store,
        monolith_url=args.monolith,
        workers=args.workers,
        access_log=args.access_log,
        admin_token=args.token,
    )
    settings.upstreams.update(upstreams)
    try:
        return serve(settings)
    except StartupError as exc:
        print(f"strangler proxy: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
