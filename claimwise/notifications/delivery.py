"""The delivery worker: due messages out of the outbox, through the channel adapters, each exactly
once as far as the worker can make it so.

One message at a time per thread, each in its own transaction:

1. pick the next due message with `SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL: concurrent workers
   and threads never take the same row, and a locked row is skipped, not waited for; SQLite has no
   row locks, its IMMEDIATE transaction holds the database's write lock instead, so two workers are
   serialised and still never send the same row twice);
2. mark it sent, before sending (so that after the server's acceptance only the attempt's log row and
   the COMMIT are left to do);
3. send it, holding the row lock, with a stable Message-ID / Idempotency-Key;
4. accepted: log the attempt and commit. Refused or unreachable: the mark is overwritten (retry with
   back-off, or failed after the last attempt or at a final refusal), the attempt is logged, commit.

A worker killed anywhere before the COMMIT has committed nothing: the database drops its
transaction with its connection, the row lock goes with it, and the message is due again at once
for the next worker. What remains is the moment between the server's acceptance and the COMMIT
(docs/decisions.md, decision 20): a kill exactly then sends the message a second time, with the same
Message-ID / Idempotency-Key for the receiver to drop.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from claimwise.notifications.channels import Courier, Undelivered
from claimwise.notifications.choices import MessageStatus, Outcome
from claimwise.notifications.models import DeliveryAttempt, Message

log = logging.getLogger(__name__)


def backoff(attempts: int) -> dt.timedelta:
    """Wait before attempt `attempts + 1`: the base doubled per attempt made, capped."""
    base = float(settings.CLAIMWISE_NOTIFY_BACKOFF_SECONDS)
    seconds = min(base * 2 ** max(attempts - 1, 0), float(settings.CLAIMWISE_NOTIFY_BACKOFF_MAX_SECONDS))
    return dt.timedelta(seconds=seconds)


def _due(now: dt.datetime) -> Message | None:
    qs = (
        Message.objects.filter(
            status=MessageStatus.PENDING, next_attempt_at__lte=now, channel__in=list(settings.CLAIMWISE_NOTIFY_CHANNELS)
        )
        .select_related("claim")
        .order_by("next_attempt_at")
    )
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return qs.first()


def deliver_one(courier: Courier, *, now: dt.datetime | None = None) -> str | None:
    """Deliver the next due message; its outcome (`Outcome`), or None when nothing is due.
    `now` (tests) stands for the clock: what is due, and when the attempt happened."""
    picked: int | None = None
    try:
        with transaction.atomic():
            at = now or timezone.now()
            message = _due(at)
            if message is None:
                return None
            picked = message.pk
            max_attempts = int(settings.CLAIMWISE_NOTIFY_MAX_ATTEMPTS)
            message.attempts += 1
            message.status, message.sent_at, message.updated_at = MessageStatus.SENT, at, at
            message.save(update_fields=["status", "sent_at", "attempts", "updated_at"])
            started = time.monotonic()
            try:
                detail = courier.send(message)
            except Undelivered as exc:
                final = not exc.retry or message.attempts >= max_attempts
                outcome = Outcome.FAILED if final else Outcome.RETRY
                message.status = MessageStatus.FAILED if final else MessageStatus.PENDING
                message.sent_at = None
                message.next_attempt_at = None if final else at + backoff(message.attempts)
                message.last_error = exc.detail[:2000]
                message.save(update_fields=["status", "sent_at", "next_attempt_at", "last_error", "updated_at"])
                detail = exc.detail
            else:
                outcome = Outcome.SENT
            DeliveryAttempt.objects.create(
                message=message,
                at=at,
                outcome=outcome,
                detail=detail[:2000],
                duration_ms=int((time.monotonic() - started) * 1000),
            )
            return outcome
    except Exception as exc:
        # Our own failure, not the channel's (a bug, a lost database connection): everything above
        # rolled back. Log it, and count it as an attempt so that one bad row cannot stop the queue.
        log.exception("delivering notification %s failed", picked)
        if picked is not None:
            _record_crash(picked, exc, now)
        raise


def _record_crash(message_id: int, exc: Exception, now: dt.datetime | None) -> None:
    try:
        with transaction.atomic():
            message = Message.objects.select_for_update().filter(pk=message_id, status=MessageStatus.PENDING).first()
            if message is None:
                return
            at = now or timezone.now()
            message.attempts += 1
            final = message.attempts >= int(settings.CLAIMWISE_NOTIFY_MAX_ATTEMPTS)
            message.status = MessageStatus.FAILED if final else MessageStatus.PENDING
            message.next_attempt_at = None if final else at + backoff(message.attempts)
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            message.updated_at = at
            message.save(update_fields=["status", "attempts", "next_attempt_at", "last_error", "updated_at"])
            DeliveryAttempt.objects.create(
                message=message,
                at=at,
                outcome=Outcome.FAILED if final else Outcome.RETRY,
                detail=message.last_error,
            )
    except Exception:  # the database itself is gone: the message stays due, nothing more to do here
        log.exception("could not record the failure of notification %s", message_id)


@dataclass
class DeliveryRun:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: int = 0
    by_thread: list[int] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.failed

    def add(self, outcome: str) -> None:
        if outcome == Outcome.SENT:
            self.sent += 1
        elif outcome == Outcome.RETRY:
            self.retried += 1
        else:
            self.failed += 1


def deliver_due(
    *, now: dt.datetime | None = None, limit: int | None = None, budget_seconds: float | None = None
) -> DeliveryRun:
    """Deliver due messages in this thread until none is due (or `limit` attempts, or the time
    budget is spent). Used by the jobs, the command's single pass and the tests."""
    run = DeliveryRun()
    courier = Courier()
    deadline = time.monotonic() + budget_seconds if budget_seconds else None
    try:
        while limit is None or run.attempted < limit:
            if deadline is not None and time.monotonic() > deadline:
                break
            try:
                outcome = deliver_one(courier, now=now)
            except Exception:  # logged and recorded by deliver_one; go on with the next message
                run.errors += 1
                if run.errors > 100:
                    raise
                continue
            if outcome is None:
                break
            run.add(outcome)
    finally:
        courier.close()
    return run


def run_workers(
    *, threads: int = 1, loop: bool = False, interval: float = 1.0, stop: threading.Event | None = None
) -> DeliveryRun:
    """The delivery worker: `threads` threads, each with its own database connection, SMTP session and
    HTTP pool. Without `loop`, each stops when nothing is due; with it, each waits `interval` seconds
    when idle and runs until `stop` is set (SIGTERM: the message in hand is finished first)."""
    stop = stop or threading.Event()
    total = DeliveryRun()
    lock = threading.Lock()

    def work() -> None:
        courier = Courier()
        mine = DeliveryRun()
        try:
            while not stop.is_set():
                try:
                    outcome = deliver_one(courier)
                except Exception:
                    mine.errors += 1
                    close_old_connections()
                    stop.wait(interval)
                    continue
                if outcome is None:
                    if not loop:
                        break
                    stop.wait(interval)
                    continue
                mine.add(outcome)
        finally:
            courier.close()
            connection.close()
            with lock:
                total.sent += mine.sent
                total.retried += mine.retried
                total.failed += mine.failed
                total.errors += mine.errors
                total.by_thread.append(mine.attempted)

    workers = [threading.Thread(target=work, name=f"notify-{i}", daemon=True) for i in range(max(threads, 1))]
    for worker in workers:
        worker.start()
    for worker in workers:
        while worker.is_alive():
            worker.join(0.5)
    return total
