"""`claimwise web`: the production web server (gunicorn) on its own."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand


def run_gunicorn(host: str, port: int, workers: int = 0, threads: int = 0) -> None:
    from gunicorn.app.base import BaseApplication

    from claimwise.wsgi import application

    # More than one thread per worker: gunicorn's gthread worker (keep-alive connections, fewer
    # processes for the same concurrency); one: the plain sync worker.
    threads = threads or int(os.environ.get("CLAIMWISE_WEB_THREADS", "1"))
    options = {
        "bind": f"{host}:{port}",
        "workers": workers or (os.cpu_count() or 1) * 2 + 1,
        "worker_class": "gthread" if threads > 1 else "sync",
        "threads": threads,
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": os.environ.get("CLAIMWISE_ACCESS_LOG") or None,
        "errorlog": "-",
        "loglevel": "warning",
        "preload_app": True,
    }

    class App(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return application

    App().run()


class Command(BaseCommand):
    help = "Run the web server (gunicorn)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("CLAIMWISE_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("CLAIMWISE_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("CLAIMWISE_WEB_WORKERS", "0")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("CLAIMWISE_WEB_THREADS", "1")))

    def handle(self, *args: Any, **opts: Any) -> None:
        from django.db import connections

        connections.close_all()  # never share a connection with the forked workers
        run_gunicorn(opts["host"], opts["port"], opts["workers"], opts["threads"])
