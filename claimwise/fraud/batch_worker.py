"""A batch-scoring worker process (`fraud.batch`, `workers` > 1). Its own module, importing nothing
of Django's models at import time: a spawned process unpickles its target before Django is set up."""

from __future__ import annotations

from typing import Any


def worker_main(k: int, workers: int, database: str, options: dict[str, Any], queue: Any) -> None:
    """Score every `workers`-th chunk from the k-th; report each chunk, then the outcome."""
    import django
    from django.conf import settings

    django.setup()
    from django.db import connection

    from claimwise.fraud.batch import score_claims

    settings.DATABASES["default"]["NAME"] = database
    connection.settings_dict["NAME"] = database
    reported = [0]

    def progress(done: int, total: int, _rate: float) -> None:
        queue.put(("chunk", done - reported[0], total))  # this chunk's claims
        reported[0] = done

    try:
        summary = score_claims(**options, part=(k, workers), progress=progress)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises
        queue.put(("failed", f"{type(exc).__name__}: {exc}"))
    else:
        queue.put(("finished", summary.written, summary.vectorised))
    finally:
        connection.close()
