"""The staged plan and the kit's command-line tool.

    cli.py        `strangler`: demo, up, and (as the kit grows) routes, stage, data and event verbs
    processes.py  start, wait for and stop the kit's local processes (monolith server, ...)
    databases.py  create and drop throw-away databases (SQLite files, PostgreSQL databases)

Named ``stages`` so nobody confuses it with Django's per-app ``migrations`` folders.
"""
