"""Notification delivery benchmark: events → outbox → the real delivery workers → a local SMTP server
and a local HTTP gateway, on a dedicated PostgreSQL database.

    python bench/notify.py --events 10000 --rate 100 --workers 2 --threads 4

What it does, in order:
1. drops and recreates the bench database (its name must contain "bench"), runs `migrate`;
2. creates `--customers` customers with an email address and a mobile number (so each event makes
   two messages: email and SMS) through the services;
3. starts an SMTP server (aiosmtpd) and a gateway (http.server, checks every HMAC signature) in this
   process, both recording the time each message arrives;
4. starts `--workers` processes of `claimwise notifications deliver --loop --threads N`, production
   settings, the SMS channel pointed at the gateway and email at the SMTP server;
5. produces `--events` customer events, one transaction each (as a claim change writes its messages),
   paced at `--rate` events per second (0: as fast as they can be written, which measures the
   workers' capacity on a backlog rather than the delay of a steady flow);
6. waits until every message has arrived, stops the workers, and prints messages/s (messages over
   the time from the first event to the last arrival), the delay from event to arrival (p50, p90,
   p99, max), duplicates (must be 0), and the load average before and after.

The servers share this process with the producer; their CPU counts against the figures.
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/claimwise_bench_notify"
SECRET = "bench-gateway-secret"


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to drop {name!r}: the bench database's name must contain 'bench'")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def environment(args: argparse.Namespace, smtp_port: int, gateway_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "CLAIMWISE_DATA_DIR": args.data_dir,
        "DJANGO_SETTINGS_MODULE": "claimwise.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        "CLAIMWISE_ENV": "production",
        "CLAIMWISE_DEBUG": "0",
        "CLAIMWISE_SECRET_KEY": secrets.token_urlsafe(50),
        "CLAIMWISE_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "CLAIMWISE_HASH_KEY": secrets.token_urlsafe(32),
        "CLAIMWISE_EMAIL_HOST": "127.0.0.1",
        "CLAIMWISE_EMAIL_PORT": str(smtp_port),
        "CLAIMWISE_SMS_GATEWAY_URL": gateway_url,
        "CLAIMWISE_SMS_GATEWAY_SECRET": SECRET,
        "CLAIMWISE_NOTIFY_CHANNELS": "email,sms",
        # The loop workers poll; no job queue runs in the bench.
        "CLAIMWISE_NOTIFY_KICK": "0",
    }


def run(cmd: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "claimwise.cli", *cmd],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def make_customers(n: int) -> list[int]:
    from django.db import transaction
    from stdnum.cn import ric

    from claimwise.policies.services import customer_create

    ids = []
    with transaction.atomic():
        for i in range(n):
            body = f"11010119800101{100 + i % 900:03d}"[:14] + f"{i % 1000:03d}"
            number = body + ric.calc_check_digit(body + "0")
            customer = customer_create(
                actor=None, name=f"客户{i}", id_number=number, phone=f"+86139{i:08d}", email=f"c{i}@example.com"
            )
            ids.append(customer.pk)
    return ids


def produce(events: range, rate: float, customer_ids: list[int]) -> float:
    """One event per transaction, as a claim change writes its messages; paced at `rate` per second."""
    from django.db import connection, transaction

    from claimwise.notifications.choices import Event
    from claimwise.notifications.services import customer_recipient, messages_queue
    from claimwise.policies.models import Customer

    customers = {c.pk: c for c in Customer.objects.filter(pk__in=customer_ids)}
    started = time.monotonic()
    for n, i in enumerate(events):
        if rate:
            ahead = started + n / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        customer = customers[customer_ids[i % len(customer_ids)]]
        context = {"claim_number": f"MV{i:010d}", "status": "已立案"}
        with transaction.atomic():
            messages_queue(
                event=Event.REGISTERED,
                claim=None,
                recipients=[customer_recipient(customer)],
                context=context.copy,
                key=f"bench:{i}",
            )
    connection.close()
    return time.monotonic() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--data-dir", default="/tmp/cw-bench-notify")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second; 0: as fast as possible")
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--producers", type=int, default=2, help="processes writing the events (the rate is shared)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--threads", type=int, default=4, help="delivery threads per worker")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    from tests.notifications.servers import Gateway, SmtpServer

    load_before = Path("/proc/loadavg").read_text().split()[:3]
    recreate_database(args.database_url)
    smtp = SmtpServer().__enter__()
    gateway = Gateway(SECRET).__enter__()
    env = environment(args, smtp.port, gateway.url)
    migrated = run(["migrate", "--verbosity", "0"], env, timeout=300)
    if migrated.returncode:
        sys.exit(f"migrate failed:\n{migrated.stdout}{migrated.stderr}")
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connections

    from claimwise.notifications.models import Message

    customer_ids = make_customers(args.customers)
    print(
        f"{args.customers} customers; {args.events} events at {args.rate or 'max'}/s; "
        f"{args.workers} worker(s) × {args.threads} thread(s); load before {' '.join(load_before)}",
        flush=True,
    )

    workers = [
        subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "claimwise.cli",
                "notifications",
                "deliver",
                "--loop",
                "--threads",
                str(args.threads),
                "--interval",
                "0.05",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(args.workers)
    ]
    producer_seconds = 0.0
    try:
        time.sleep(1.0)  # workers up
        # Producers are forked processes (the servers' threads stay here): each writes every
        # `--producers`-th event at its share of the rate.
        connections.close_all()
        context = multiprocessing.get_context("fork")
        started = time.monotonic()
        producers = [
            context.Process(
                target=produce,
                args=(range(k, args.events, args.producers), args.rate / args.producers, customer_ids),
            )
            for k in range(args.producers)
        ]
        for p in producers:
            p.start()
        expected = None
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            time.sleep(0.5)
            arrived = len(smtp.recorder.received) + len(gateway.state.accepted)
            if expected is None and not any(p.is_alive() for p in producers):
                producer_seconds = time.monotonic() - started
                expected = Message.objects.count()
            if expected is not None and arrived >= expected:
                break
        for p in producers:
            p.join()
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                w.kill()
        load_after = Path("/proc/loadavg").read_text().split()[:3]

    # Event time: the message row's created_at (the event's transaction); arrival: the server's clock.
    created = {pk: at.timestamp() for pk, at in Message.objects.values_list("pk", "created_at")}
    arrivals: dict[int, float] = {}
    duplicates = 0
    for r in smtp.recorder.received:
        pk = int(r.message_id.split("notification.")[1].split("@")[0])
        duplicates += pk in arrivals
        arrivals[pk] = r.at
    for accepted in gateway.state.accepted:
        duplicates += accepted["id"] in arrivals
        arrivals[accepted["id"]] = accepted["_at"]
    duplicates += sum(n - 1 for n in gateway.state.keys.values())
    delays = [arrivals[pk] - created[pk] for pk in arrivals if pk in created]
    missing = len(created) - len(arrivals)
    span = max(arrivals.values()) - min(created.values()) if arrivals else 0.0
    smtp.__exit__()
    gateway.__exit__()
    print(f"events written in {producer_seconds:.1f} s ({args.events / max(producer_seconds, 1e-9):.0f} events/s)")
    print(
        f"messages: {len(created)}, delivered: {len(arrivals)}, missing: {missing}, duplicates: {duplicates}, "
        f"bad signatures: {gateway.state.rejected_signatures}"
    )
    if delays:
        print(f"throughput: {len(arrivals) / span:.0f} messages/s over {span:.1f} s (first event to last arrival)")
        print(
            f"delay event→delivery: p50 {statistics.median(delays):.3f} s, p90 {percentile(delays, 90):.3f} s, "
            f"p99 {percentile(delays, 99):.3f} s, max {max(delays):.3f} s"
        )
    print(f"load average before {' '.join(load_before)}, after {' '.join(load_after)}")
    for w in workers:
        out = (w.stdout.read() if w.stdout else b"").decode().strip()
        err = (w.stderr.read() if w.stderr else b"").decode().strip()
        print(f"worker {w.pid}: {out} {err[-500:]}")
    if missing or duplicates:
        sys.exit(1)


if __name__ == "__main__":
    main()
