"""Each customer-relevant event and each staff warning writes the right messages, in the recipient's
language, to their channels, in the event's own transaction, once."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from claimwise.accounts.choices import Role
from claimwise.claims import services as cs
from claimwise.claims.models import Claim
from claimwise.notifications.choices import Event, MessageStatus
from claimwise.notifications.models import Message
from claimwise.notifications.services import contact_preference_save, messages_queue, staff_contact_save
from claimwise.policies.models import Customer
from claimwise.policies.services import customer_create
from claimwise.process.choices import AlertKind, ClockKind
from claimwise.process.models import ClaimClock, StaffAlert
from claimwise.process.tasks import clocks_tick
from tests import factories
from tests.process.factories import T0, D, H, act, submit

ACCOUNT = "6222020200112233445"


@pytest.fixture
def people(db: Any, notify: Any) -> dict[str, Any]:
    account = factories.user(Role.CUSTOMER)
    holder = customer_create(
        actor=None,
        name="张伟",
        id_number=factories.id_number(),
        phone="+8613812345678",
        email="zhang.wei@example.com",
        user=account,
    )
    return {
        "holder": holder,
        "customer": account,
        "policy": factories.policy(holder=holder),
        "handler": factories.user(Role.HANDLER, email="handler@example.com"),
        "reviewer": factories.user(Role.REVIEWER, email="reviewer@example.com"),
        "supervisor": factories.user(Role.SUPERVISOR, email="boss@example.com"),
    }


def sent(claim: Claim, event: str) -> list[Message]:
    return list(Message.objects.filter(claim=claim, event=event).order_by("channel"))


def report(people: dict[str, Any]) -> Claim:
    return factories.claim(actor=people["customer"], policy=people["policy"])


def to_pending_approval(people: dict[str, Any], claim: Claim) -> None:
    cs.claim_register(actor=people["handler"], claim_id=claim.pk)
    cs.claim_assess(actor=people["handler"], claim_id=claim.pk)
    cs.claim_submit_for_approval(actor=people["handler"], claim_id=claim.pk, assessed_amount="8000")


def test_claim_received_by_email_and_sms_in_chinese_by_default(people: dict[str, Any]) -> None:
    claim = report(people)
    messages = sent(claim, Event.CLAIM_RECEIVED)
    assert [(m.channel, m.address, m.language) for m in messages] == [
        ("email", "zhang.wei@example.com", "zh-hans"),
        ("sms", "+8613812345678", "zh-hans"),
    ]
    email = messages[0]
    assert email.subject == f"理赔报案已收到：{claim.number}"
    assert "张伟您好" in email.body and claim.number in email.body
    assert email.status == MessageStatus.PENDING and email.attempts == 0 and email.next_attempt_at is not None
    assert email.recipient_customer == people["holder"] and email.recipient_user is None


def test_the_address_is_encrypted_at_rest(people: dict[str, Any]) -> None:
    claim = report(people)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT address FROM notifications_message WHERE claim_id = %s", [claim.pk])
        stored = [row[0] for row in cursor.fetchall()]
    assert stored and all("example.com" not in a and "138" not in a for a in stored)


def test_preferences_choose_channels_and_language(people: dict[str, Any]) -> None:
    contact_preference_save(
        actor=None,
        customer_id=people["holder"].pk,
        channels=["email", "wechat", "push"],
        language="en",
        wechat_openid="oWX-openid-123456",
        push_token="push-token-abcdef",
    )
    claim = report(people)
    messages = sent(claim, Event.CLAIM_RECEIVED)
    assert [(m.channel, m.address, m.language) for m in messages] == [
        ("email", "zhang.wei@example.com", "en"),
        ("push", "push-token-abcdef", "en"),
        ("wechat", "oWX-openid-123456", "en"),
    ]
    assert messages[0].subject == f"We have received your claim {claim.number}"


def test_a_channel_without_an_address_is_refused(people: dict[str, Any]) -> None:
    from claimwise.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        contact_preference_save(actor=None, customer_id=people["holder"].pk, channels=["wechat"], language="en")
    assert caught.value.detail[0]["field"] == "wechat_openid"


def test_only_configured_channels_are_used(people: dict[str, Any], settings: Any) -> None:
    settings.CLAIMWISE_NOTIFY_CHANNELS = ["email"]
    claim = report(people)
    assert [m.channel for m in sent(claim, Event.CLAIM_RECEIVED)] == ["email"]
    settings.CLAIMWISE_NOTIFY_CHANNELS = []
    assert not sent(report(people), Event.CLAIM_RECEIVED)


def test_registration_and_assignment(people: dict[str, Any]) -> None:
    staff_contact_save(actor=None, user_id=people["handler"].pk, language="en", mobile="13900001111", sms=True)
    claim = report(people)
    # Registered by a supervisor: assigned automatically to the only available handler.
    cs.claim_register(actor=people["supervisor"], claim_id=claim.pk)
    registered = sent(claim, Event.REGISTERED)
    assert len(registered) == 2 and "已立案" in registered[0].body
    assigned = sent(claim, Event.STAFF_ASSIGNMENT)
    assert [(m.channel, m.address, m.language, m.recipient_user) for m in assigned] == [
        ("email", "handler@example.com", "en", people["handler"]),
        ("sms", "+8613900001111", "en", people["handler"]),
    ]
    assert assigned[0].subject == f"[New assignment] {claim.number}"
    assert "自动分派" in assigned[0].body  # the note, as the system wrote it (in the default language)
    # Taken back and given again by hand: a new assignment, a new message.
    other = factories.user(Role.HANDLER, email="other@example.com")
    cs.claim_assign(actor=people["supervisor"], claim_id=claim.pk, handler=other, note="workload")
    assert [m.address for m in sent(claim, Event.STAFF_ASSIGNMENT) if m.recipient_user == other] == [
        "other@example.com"
    ]


def test_documents_needed_lists_the_items(people: dict[str, Any]) -> None:
    claim = report(people)
    cs.claim_register(actor=people["handler"], claim_id=claim.pk)
    cs.claim_request_documents(actor=people["handler"], claim_id=claim.pk, items=["维修发票", "事故认定书"])
    [email, sms] = sent(claim, Event.DOCUMENTS_NEEDED)
    assert "1. 维修发票；2. 事故认定书" in sms.body


def test_approval_then_payment_never_shows_the_whole_account(people: dict[str, Any]) -> None:
    claim = report(people)
    to_pending_approval(people, claim)
    cs.claim_approve(actor=people["reviewer"], claim_id=claim.pk)
    decision = sent(claim, Event.DECISION)
    assert len(decision) == 2 and "8000.00 CNY" in decision[0].body
    cs.claim_request_payment(actor=people["handler"], claim_id=claim.pk, payee_name="张伟", bank_account=ACCOUNT)
    cs.claim_confirm_payment(actor=people["supervisor"], claim_id=claim.pk, reference="PAY123")
    [email, sms] = sent(claim, Event.PAYMENT_MADE)
    assert "尾号 3445" in sms.body and "PAY123" in sms.body
    everything = " ".join(m.subject + m.body for m in Message.objects.all())
    assert ACCOUNT not in everything
    assert people["holder"].id_number not in everything


def test_a_denial_carries_its_reasons_and_the_notice_adds_no_second_message(people: dict[str, Any]) -> None:
    contact_preference_save(actor=None, customer_id=people["holder"].pk, channels=["email"], language="en")
    claim = report(people)
    to_pending_approval(people, claim)
    cs.claim_deny(actor=people["reviewer"], claim_id=claim.pk, reason_codes=["exclusion"], note="Racing is excluded.")
    cs.claim_send_denial_notice(actor=people["reviewer"], claim_id=claim.pk)
    [message] = sent(claim, Event.DECISION)
    assert "Reasons:" in message.body and "Racing is excluded." in message.body
    assert "amount" not in message.body


def test_messages_from_staff_only(people: dict[str, Any]) -> None:
    claim = report(people)
    cs.claim_register(actor=people["handler"], claim_id=claim.pk)
    cs.claim_message_send(actor=people["customer"], claim_id=claim.pk, body="请问进度？")
    assert not sent(claim, Event.NEW_MESSAGE)
    cs.claim_message_send(actor=people["handler"], claim_id=claim.pk, body="已在处理，请补充发票。")
    messages = sent(claim, Event.NEW_MESSAGE)
    assert len(messages) == 2 and "请补充发票" not in messages[0].body  # the text stays in the portal


def test_the_same_event_twice_makes_one_message(people: dict[str, Any]) -> None:
    customer = Customer.objects.get(pk=people["holder"].pk)
    from claimwise.notifications.services import customer_recipient

    for _ in range(2):
        with transaction.atomic():
            messages_queue(
                event=Event.REGISTERED,
                claim=None,
                recipients=[customer_recipient(customer)],
                context=lambda: {"claim_number": "X1"},
                key="registered:test",
            )
    assert Message.objects.filter(dedupe_key__startswith="registered:test:").count() == 2  # email + sms


def test_a_failed_event_writes_no_message(people: dict[str, Any]) -> None:
    claim = report(people)
    before = Message.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        cs.claim_register(actor=people["handler"], claim_id=claim.pk)
        raise RuntimeError("the request failed after the change")
    assert Message.objects.count() == before


def test_statutory_deadline_at_risk_and_missed(db: Any, notify: Any) -> None:
    """The customer hears of the company's statutory deadlines (C2); staff get warning, breach and
    escalation messages; internal step clocks stay internal."""
    world = {
        "customer": factories.customer().user,
        "handler": factories.user(Role.HANDLER, email="h@example.com"),
        "reviewer": factories.user(Role.REVIEWER),
        "supervisor": factories.user(Role.SUPERVISOR, email="s@example.com"),
    }
    world["policy"] = factories.policy(holder=world["customer"].customer)
    claim = submit(world)
    act(T0 + D, cs.claim_register, actor=world["handler"], claim_id=claim.pk)
    decision = ClaimClock.objects.get(claim=claim, kind=ClockKind.DECISION_30D)
    clocks_tick(decision.warn_at + H)
    [risk] = sent(claim, Event.DEADLINE_AT_RISK)  # the customer has a mobile only: SMS
    assert risk.channel == "sms" and "法定时限" in risk.body and "将于" in risk.body
    [warning] = sent(claim, Event.STAFF_WARNING)
    assert warning.recipient_user == world["handler"] and warning.address == "h@example.com"
    clocks_tick(decision.due_at + H)
    clocks_tick(decision.due_at + 2 * H)  # nothing twice
    assert len(sent(claim, Event.DEADLINE_BREACHED)) == 1
    assert [m.recipient_user for m in sent(claim, Event.STAFF_BREACH)] == [world["handler"]]
    escalation = StaffAlert.objects.get(claim=claim, kind=AlertKind.ESCALATION)
    assert escalation.recipient is None
    assert [m.recipient_user for m in sent(claim, Event.STAFF_ESCALATION)] == [world["supervisor"]]
