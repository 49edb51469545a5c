"""The strangler proxy: every client request passes through it; every migration step is a
change of its route table.

    client ──> worker process (uvicorn via asgiserver.py + app.ProxyApp, an ASGI app)
                 │  routing.Router.resolve(method, path) -> table.Route   (pure, per generation)
                 │  Router.decide(route, jwt sub | cookie) -> primary / shadow / fallback
                 │  headers.py  hop-by-hop and internal headers out; X-Forwarded-*, ids in
                 ├──> forward.call: breaker.Breaker, retry.RetryBudget, fallback
                 │      └─> upstream.Upstream pool of connection.Connection (raw HTTP/1.1,
                 │          httptools, streaming both ways; bodies.py tees for the shadow)
                 ├──> shadow.Shadow: bounded queue ──> candidate ──> diff.compare (+ noise)
                 └──> metrics.py (dict counters), tracing.py (W3C/OTel), accesslog.py (JSON)
    watch.TableWatcher   polls the store for a new generation; ProxyApp.swap() puts it in force
    server.py (supervisor): binds the ports, seeds the store, starts and restarts workers
               (worker.py), serves admin.py (routes, history, rollback, /metrics) on its own
               port, turns routes-file edits into generations (watch.RoutesFileSync)
    store.py   generations: YAML file + JSONL history (embedded); pgstore.py: PostgreSQL
    table.py   the route table's records; tableparse.py reads YAML/JSON with line numbers

``diff/`` is the comparison engine (shared with ``strangler compare``); ``testing.py`` holds
test helpers (in-memory upstreams, candidate apps, a proxy process). Nothing here imports
Django, and this file imports nothing: ``strangler_proxy.diff`` stays cheap to import.
"""
