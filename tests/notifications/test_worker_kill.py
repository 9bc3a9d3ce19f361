"""Exactly once to the SMTP server when the worker is killed mid-delivery.

The worker is a real `claimwise notifications deliver` process on the test's database. The test's
SMTP server holds the 8th message's RCPT: the worker is then in the middle of an SMTP transaction,
holding that message's row lock, with seven messages sent before it and the rest of the batch still
due. The worker gets SIGKILL there; a new worker is started; every message must arrive exactly once
(by its Message-ID) and be marked sent once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction

from claimwise.notifications.choices import Event, MessageStatus, Outcome
from claimwise.notifications.models import DeliveryAttempt, Message
from claimwise.notifications.services import Recipient, messages_queue
from tests.notifications.servers import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 20
HOLD_AT = 8


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def worker(smtp: SmtpServer, tmp_path: Path, *, loop: bool) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CLAIMWISE_DATA_DIR": str(tmp_path / "worker"),
        "CLAIMWISE_EMAIL_HOST": "127.0.0.1",
        "CLAIMWISE_EMAIL_PORT": str(smtp.port),
        "CLAIMWISE_NOTIFY_CHANNELS": "email",
        "CLAIMWISE_NOTIFY_KICK": "0",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
    }
    args = ["notifications", "deliver", "--interval", "0.1", *(["--loop"] if loop else [])]
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "claimwise.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.django_db(transaction=True)
def test_sigkill_mid_delivery_then_restart_delivers_each_message_exactly_once(tmp_path: Path, settings: Any) -> None:
    settings.CLAIMWISE_NOTIFY_CHANNELS = ["email"]
    settings.CLAIMWISE_NOTIFY_KICK = False
    with transaction.atomic():
        for i in range(MESSAGES):
            messages_queue(
                event=Event.CLAIM_RECEIVED,
                claim=None,
                recipients=[Recipient(f"c{i}", f"客户{i}", "zh-hans", {"email": f"c{i}@example.com"})],
                context=lambda: {"claim_number": "MV-KILL"},
                key=f"kill:{i}",
            )
    ids = set(Message.objects.values_list("pk", flat=True))
    assert len(ids) == MESSAGES

    with SmtpServer() as smtp:
        smtp.recorder.hold_rcpt_at = HOLD_AT
        first = worker(smtp, tmp_path, loop=True)
        try:
            assert smtp.recorder.holding.wait(60), first.communicate(timeout=5)
            # Mid-delivery: the 8th message is in an open SMTP transaction, under its row lock.
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        assert first.returncode == -signal.SIGKILL
        assert len(smtp.recorder.received) == HOLD_AT - 1
        smtp.recorder.release.set()  # the held session answers a dead client

        second = worker(smtp, tmp_path, loop=False)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err.decode()

        counts = smtp.recorder.counts()
    expected = {Message(pk=pk).message_id for pk in ids}
    assert set(counts) == expected
    assert all(n == 1 for n in counts.values()), {k: n for k, n in counts.items() if n != 1}
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    # One logged attempt each: the killed one left nothing behind.
    assert DeliveryAttempt.objects.filter(outcome=Outcome.SENT).count() == MESSAGES
    assert set(Message.objects.values_list("attempts", flat=True)) == {1}
