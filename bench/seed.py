"""Demo data generator benchmark: `claimwise seed` for N claims on a fresh database.

    python bench/seed.py                        # 100,000 claims, SQLite file in a temporary folder
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/seed.py --claims 100000

With DATABASE_URL the benchmark creates a dedicated database on that server
(`claimwise_bench_seed_<pid>`), and drops it afterwards; without it, a SQLite file in a temporary
folder, removed afterwards (--keep keeps either). It migrates, then times the seed alone (reference
data, demo accounts, the claims and the audit entry, one transaction) and prints claims, seconds and
claims/s, with the CPU time of this process and the machine's load average before and after: the
machine may be shared, and a loaded machine makes every figure slower.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _admin_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))


def create_database(url: str) -> str:
    """A new database next to the one in `url`; returns its URL."""
    import psycopg

    name = f"claimwise_bench_seed_{os.getpid()}"
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def drop_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    if not name.startswith("claimwise_bench_seed_"):
        raise SystemExit(f"refusing to drop {name!r}")
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _backend_pid(connection: object) -> int | None:
    """The PostgreSQL server process serving this connection (same machine), to count its CPU."""
    if getattr(connection, "vendor", "") != "postgresql":
        return None
    with connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _proc_cpu(pid: int | None) -> float:
    """User + system CPU seconds of a process, from /proc (0 when it cannot be read)."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None, help="build processes (default: automatic)")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL", "")
    data_dir = tempfile.mkdtemp(prefix="claimwise-bench-seed-")
    os.environ["CLAIMWISE_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "claimwise.settings")
    db_url = create_database(server_url) if server_url else ""
    if db_url:
        os.environ["DATABASE_URL"] = db_url
    engine = "PostgreSQL" if db_url else "SQLite"
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from claimwise.demo.seed import seed, summary

        started = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        migrated = time.monotonic() - started
        backend = _backend_pid(connection)
        backend_before = _proc_cpu(backend)
        load_before = os.getloadavg()
        cpu_before = os.times()
        result = seed(
            claims=args.claims,
            seed=args.seed,
            workers=args.workers,
            batch_size=args.batch_size,
            progress=not args.quiet,
        )
        cpu_after = os.times()
        load_after = os.getloadavg()
        backend_cpu = _proc_cpu(backend) - backend_before if backend else None
        connection.close()
        cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
        children = (cpu_after.children_user - cpu_before.children_user) + (
            cpu_after.children_system - cpu_before.children_system
        )
        for line in summary(result):
            print(line)
        print(f"engine          {engine} ({db_url or data_dir})")
        print(f"claims          {result.claims}")
        print(f"seconds         {result.seconds:.1f}   (migrate before it: {migrated:.1f} s, not counted)")
        print(f"claims/s        {result.claims / result.seconds:.0f}")
        database = f", {backend_cpu:.1f} in the PostgreSQL backend" if backend_cpu is not None else ""
        print(f"cpu seconds     {cpu:.1f} in this process, {children:.1f} in worker processes{database}")
        print(f"cores           {os.cpu_count()}")
        print(
            "load average    before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f} (1, 5, 15 min)".format(
                *load_before, *load_after
            )
        )
    finally:
        if not args.keep:
            if db_url:
                drop_database(db_url)
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
