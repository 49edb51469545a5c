"""A producer process: credit accounts, one transaction and one event per credit.

    python -m eventbus.tests.app.produce --events 1000 --accounts 1:50 [--rate 500]
        [--threads 4] [--rollback] [--poison 3] [--seed 1]

Prints one JSON line: {"events": n, "seconds": s, "amount": total credited, "cpu": seconds}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time

GOOD = [a for a in range(1, 100) if a != 13]


class Rollback(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--accounts", default="1:10", help="first:last account id")
    parser.add_argument("--rate", type=float, default=0.0, help="events/s (0: as fast as possible)")
    parser.add_argument("--rollback", action="store_true", help="publish, then roll back")
    parser.add_argument(
        "--poison", type=int, default=0, help="credits of 13 (always fail in picky)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="writers, each with its accounts")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventbus.tests.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from eventbus.outbox import publish

    from .events import AccountCredited
    from .models import Account

    first, last = (int(x) for x in args.accounts.split(":"))
    ids = list(range(first, last + 1))
    Account.objects.bulk_create([Account(id=i) for i in ids], ignore_conflicts=True)
    rng = random.Random(args.seed)
    poison_at = set(rng.sample(range(args.events), min(args.poison, args.events)))
    amounts = [13 if n in poison_at else rng.choice(GOOD) for n in range(args.events)]
    threads = max(1, min(args.threads, len(ids)))
    totals = [0] * threads
    started = time.perf_counter()

    def work(t: int) -> None:
        # Thread t owns the accounts ids[t::threads], so threads never wait on each other.
        mine = ids[t::threads]
        numbers = range(t, args.events, threads)
        interval = threads / args.rate if args.rate else 0.0
        for k, n in enumerate(numbers):
            if interval:
                delay = started + k * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            account_id = mine[k % len(mine)]
            try:
                with transaction.atomic():
                    account = Account.objects.select_for_update().get(id=account_id)
                    account.version += 1
                    account.balance += amounts[n]
                    account.save(update_fields=["version", "balance"])
                    publish(
                        AccountCredited(
                            account_id=account_id,
                            amount=amounts[n],
                            balance=account.balance,
                            aggregate_version=account.version,
                        )
                    )
                    if args.rollback:
                        raise Rollback
            except Rollback:
                continue
            totals[t] += amounts[n]
        connection.close()

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    total = sum(totals)
    seconds = time.perf_counter() - started
    summary = {
        "events": args.events,
        "seconds": seconds,
        "amount": total,
        "cpu": time.process_time(),
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
