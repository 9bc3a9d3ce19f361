"""The claim page's actions through HTTP (htmx requests, as the page sends them): only what the user
may do now is offered, each action goes through its audited service, and a refusal comes back in the
form with its reason and changes nothing."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from claimwise.accounts.choices import Role
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent, ClaimMessage
from claimwise.claims.selectors import claim_timeline
from claimwise.claims.services import (
    claim_assign,
    claim_message_send,
    claim_note_add,
    claim_reserve_change,
    document_upload,
)
from claimwise.core.errors import IllegalTransition, PermissionDenied, ValidationFailed
from claimwise.core.models import AuditEntry
from tests import factories
from tests.claims.test_api import png
from tests.process import builders

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def _client(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    client.get("/work/")
    return client


@pytest.fixture
def office(db: Any) -> dict[str, Any]:
    """The motor process with checklists and materials, an authority matrix, two handlers of one
    team, a supervisor, and a claim reported by its customer with every required material."""
    builders.definition()
    builders.limits({"handler": "10000", "reviewer": "50000", "supervisor": "200000"})
    holder = factories.customer(name="王芳")
    policy = factories.policy(holder=holder)
    claim = factories.claim(actor=holder.user, policy=policy, claimed_amount="8200.00")
    for doc_type in ("claim_form", "damage_photo", "repair_estimate"):
        _upload(holder.user, claim, doc_type)
    return {
        "claim": claim,
        "customer": holder.user,
        "li": factories.user(Role.HANDLER, first_name="Lei", last_name="Li"),
        "wang": factories.user(Role.HANDLER, first_name="Min", last_name="Wang"),
        "supervisor": factories.user(Role.SUPERVISOR),
    }


def _upload(actor: Any, claim: Claim, doc_type: str) -> None:
    data = png()
    document_upload(
        actor=actor,
        claim_id=claim.pk,
        doc_type=doc_type,
        stream=io.BytesIO(data),
        original_name="a.png",
        size=len(data),
    )


def offered(client: Client, claim: Claim) -> list[str]:
    page = client.get(f"/work/claims/{claim.pk}/")
    assert page.status_code == 200
    return [a.key for a in page.context["actions"]]


def act(client: Client, claim: Claim, key: str, **data: Any) -> Any:
    claim.refresh_from_db()
    return client.post(f"/work/claims/{claim.pk}/act/{key}/", {"version": claim.version, **data}, **HX)


def done(response: Any, claim: Claim) -> None:
    assert response.status_code == 204, response.content.decode()[:2000]
    assert response["HX-Redirect"].startswith(f"/work/claims/{claim.pk}/")


def status(claim: Claim) -> str:
    claim.refresh_from_db()
    return claim.status


def test_a_claim_goes_from_registration_to_closure_through_the_page(office: dict[str, Any]) -> None:
    claim, li, wang = office["claim"], _client(office["li"]), _client(office["wang"])
    assert offered(li, claim)[:1] == ["register"] and "approve" not in offered(li, claim)

    done(act(li, claim, "register", reserve="8200", note="报案信息完整"), claim)
    assert status(claim) == ClaimStatus.REGISTERED and claim.handler_id == office["li"].pk
    assert claim.reserve == Decimal("8200.00")

    done(act(li, claim, "request_documents", extra_items="交通事故责任认定书\n", note=""), claim)
    assert status(claim) == ClaimStatus.AWAITING_DOCUMENTS and claim.documents_requests == 1
    notice = claim.events.get(kind="request_documents")
    assert "交通事故责任认定书" in notice.data["items"]

    upload = SimpleUploadedFile("police.png", png(), content_type="image/png")
    response = li.post(
        f"/work/claims/{claim.pk}/act/upload/", {"version": 0, "doc_type": "police_report", "file": upload}, **HX
    )
    done(response, claim)  # an addition: no version check
    assert status(claim) == ClaimStatus.REGISTERED  # everything is in: the claim resumed by itself

    # Leaving the survey step needs its quality checklist: refused in the form, nothing changed.
    refused = act(li, claim, "assess")
    assert refused.status_code == 422 and "Confirm the step" in refused.content.decode()
    assert status(claim) == ClaimStatus.REGISTERED
    done(act(li, claim, "checks", items=["scene", "third_party"]), claim)
    done(act(li, claim, "assess"), claim)
    done(act(li, claim, "submit_for_approval", amount="8000.00", note="按维修估价单定损"), claim)
    assert status(claim) == ClaimStatus.PENDING_APPROVAL and claim.assessed_amount == Decimal("8000.00")

    # Four eyes: the assessor is not offered the approval; a colleague within authority is.
    assert "approve" not in offered(li, claim)
    assert {"approve", "approve_partial"} <= set(offered(wang, claim)) and "deny" not in offered(wang, claim)
    page = wang.get(f"/work/claims/{claim.pk}/act/approve/", **HX).content.decode()
    assert "up to 10000" in page and 'value="8000.00"' in page
    over = act(wang, claim, "approve", amount="12000.00")
    html = over.content.decode()
    assert over.status_code == 422 and "Your approval authority is 10000.00" in html and 'role="alert"' in html
    assert status(claim) == ClaimStatus.PENDING_APPROVAL and not claim.decisions.exists()
    done(act(wang, claim, "approve", amount="8000.00"), claim)
    assert status(claim) == ClaimStatus.APPROVED and claim.approved_amount == Decimal("8000.00")

    missing = act(li, claim, "request_payment", payee_name="王芳", bank_account="")
    assert missing.status_code == 422 and "bank_account" in missing.content.decode()
    done(act(li, claim, "request_payment", payee_name="王芳", bank_account="6222 0202 0011 2233 445"), claim)
    assert status(claim) == ClaimStatus.PAYMENT_PENDING
    assert "confirm_payment" not in offered(li, claim)  # the payment is released by a supervisor
    done(act(_client(office["supervisor"]), claim, "confirm_payment", reference="CNAPS20261126001"), claim)
    assert status(claim) == ClaimStatus.PAID and claim.paid_amount == Decimal("8000.00")
    done(act(li, claim, "close", note="结案"), claim)
    assert status(claim) == ClaimStatus.CLOSED

    kinds = list(claim.events.values_list("kind", flat=True))
    for kind in (
        "register",
        "request_documents",
        "document_added",
        "resume",
        "checks_confirmed",
        "assess",
        "submit_for_approval",
        "approve",
        "request_payment",
        "confirm_payment",
        "close",
    ):
        assert kind in kinds, kind
    audited = set(AuditEntry.objects.filter(object_id=str(claim.pk)).values_list("action", flat=True))
    assert {"claim.register", "claim.approve", "claim.close"} <= audited
    assert offered(li, claim) == ["note", "message"]  # a closed claim: only words remain


def test_a_stale_form_is_refused_and_nothing_is_overwritten(office: dict[str, Any]) -> None:
    claim, li = office["claim"], _client(office["li"])
    done(act(li, claim, "register"), claim)
    claim.refresh_from_db()
    seen = claim.version
    claim_reserve_change(actor=office["li"], claim_id=claim.pk, amount="9000", reason="估损上调")  # another tab
    response = li.post(
        f"/work/claims/{claim.pk}/act/reserve/", {"version": seen, "amount": "7000", "reason": "x"}, **HX
    )
    assert response.status_code == 422 and "Someone changed this claim" in response.content.decode()
    claim.refresh_from_db()
    assert claim.reserve == Decimal("9000.00")


def test_field_errors_come_back_in_place_with_and_without_javascript(office: dict[str, Any]) -> None:
    claim, li = office["claim"], _client(office["li"])
    fragment = act(li, claim, "reserve", amount="-5", reason="")
    html = fragment.content.decode()
    assert fragment.status_code == 422 and "<html" not in html  # only the form, swapped in place
    assert 'id="id_amount-error"' in html and 'id="id_reason-error"' in html
    # Without JavaScript: the same form, opened in the whole page.
    page = li.get(f"/work/claims/{claim.pk}/?act=reserve")
    assert 'id="form-reserve"' in page.content.decode()
    claim.refresh_from_db()
    plain = li.post(f"/work/claims/{claim.pk}/act/reserve/", {"version": claim.version, "amount": "", "reason": ""})
    assert (
        plain.status_code == 422 and "<html" in plain.content.decode() and 'id="form-reserve"' in plain.content.decode()
    )
    good = li.post(
        f"/work/claims/{claim.pk}/act/reserve/", {"version": claim.version, "amount": "9100", "reason": "复核"}
    )
    assert good.status_code == 302 and good["Location"] == f"/work/claims/{claim.pk}/"
    claim.refresh_from_db()
    assert claim.reserve == Decimal("9100.00")


def test_only_the_owner_handles_and_actions_not_offered_are_refused(office: dict[str, Any]) -> None:
    claim, wang = office["claim"], _client(office["wang"])
    done(act(_client(office["li"]), claim, "register"), claim)
    assert offered(wang, claim) == ["note", "message"]  # Li's claim: Wang may write, not handle
    response = act(wang, claim, "assess")
    assert response.status_code == 204  # back to the page, which says why
    assert status(claim) == ClaimStatus.REGISTERED
    page = wang.get(f"/work/claims/{claim.pk}/").content.decode()
    assert "This action is not available on the claim now." in page
    reviewer = _client(factories.user(Role.REVIEWER))
    assert offered(reviewer, claim) == ["note", "message"]
    auditor = _client(factories.user(Role.AUDITOR))
    assert offered(auditor, claim) == []
    assert act(auditor, claim, "note", text="x").status_code == 204 and not claim.events.filter(kind="note").exists()


def test_a_supervisor_reassigns_with_a_reason_and_the_queues_follow(office: dict[str, Any]) -> None:
    claim, boss = office["claim"], _client(office["supervisor"])
    li, wang = _client(office["li"]), _client(office["wang"])
    done(act(li, claim, "register"), claim)
    form = boss.get(f"/work/claims/{claim.pk}/act/assign/", **HX).content.decode()
    assert "Li" in form and "Wang" in form and "1 open" in form  # workload beside each name
    no_reason = act(boss, claim, "assign", handler=office["wang"].pk, reason="")
    assert no_reason.status_code == 422 and "Give the reason" in no_reason.content.decode()
    done(act(boss, claim, "assign", handler=office["wang"].pk, reason="李磊休假"), claim)
    claim.refresh_from_db()
    assert claim.handler_id == office["wang"].pk
    assert claim.number in wang.get("/work/").content.decode()
    assert claim.number not in li.get("/work/").content.decode()
    event = claim.events.get(kind="assigned", actor=office["supervisor"])
    assert event.note == "李磊休假" and not event.visible_to_customer


def test_messages_and_notes(office: dict[str, Any]) -> None:
    claim, li = office["claim"], _client(office["li"])
    response = li.post(f"/work/claims/{claim.pk}/act/message/", {"version": 0, "body": "请补充事故认定书"}, **HX)
    assert response.status_code == 204 and response["HX-Redirect"].endswith("#messages")
    done(li.post(f"/work/claims/{claim.pk}/act/note/", {"version": 0, "text": "客户称对方全责"}, **HX), claim)
    empty = li.post(f"/work/claims/{claim.pk}/act/message/", {"version": 0, "body": "  "}, **HX)
    assert empty.status_code == 422 and 'id="id_body-error"' in empty.content.decode()
    claim_message_send(actor=office["customer"], claim_id=claim.pk, body="好的，明天上传")
    html = li.get(f"/work/claims/{claim.pk}/").content.decode()
    assert "请补充事故认定书" in html and "好的，明天上传" in html and "客户称对方全责" in html
    holder = claim.claimant
    assert "好的，明天上传" in li.get(f"/work/customers/{holder.pk}/").content.decode()  # on Customer 360 too
    thread = list(ClaimMessage.objects.filter(claim=claim).values_list("from_customer", flat=True))
    assert thread == [False, True]
    # The customer sees the messages on the timeline, never the internal note.
    seen = {e.kind for e in claim_timeline(claim, user=office["customer"])}
    assert "message" in seen and "note" not in seen
    assert AuditEntry.objects.filter(action="claim.note").count() == 1
    assert AuditEntry.objects.filter(action="claim.message").count() == 2


def test_reserve_note_and_message_services_refuse_bad_input(office: dict[str, Any]) -> None:
    claim, li = office["claim"], office["li"]
    with pytest.raises(ValidationFailed):
        claim_reserve_change(actor=li, claim_id=claim.pk, amount="100", reason=" ")
    with pytest.raises(ValidationFailed):
        claim_reserve_change(actor=li, claim_id=claim.pk, amount=str(claim.reserve), reason="同额")
    with pytest.raises(ValidationFailed):
        claim_note_add(actor=li, claim_id=claim.pk, text="x" * 4001)
    with pytest.raises(PermissionDenied):
        claim_note_add(actor=office["customer"], claim_id=claim.pk, text="内部")
    with pytest.raises(PermissionDenied):
        claim_reserve_change(actor=factories.user(Role.REVIEWER), claim_id=claim.pk, amount="1", reason="r")
    claim_assign(actor=office["supervisor"], claim_id=claim.pk, handler=li)
    from claimwise.claims.services import claim_withdraw

    claim_withdraw(actor=office["customer"], claim_id=claim.pk, note="已私了")
    with pytest.raises(IllegalTransition):
        claim_reserve_change(actor=li, claim_id=claim.pk, amount="1", reason="r")
    with pytest.raises(IllegalTransition):
        claim_message_send(actor=li, claim_id=claim.pk, body="还在吗")
    assert not ClaimEvent.objects.filter(claim=claim, kind__in=["reserve_changed", "note", "message"]).exists()


def test_queue_filters_by_fraud_risk(office: dict[str, Any]) -> None:
    claim = office["claim"]
    other = factories.claim(actor=office["customer"], policy=claim.policy)
    Claim.objects.filter(pk=claim.pk).update(risk_score=Decimal("0.82"))
    boss = _client(office["supervisor"])
    high = boss.get("/work/?tab=team&risk=high").content.decode()
    assert claim.number in high and other.number not in high
    unscored = boss.get("/work/?tab=team&risk=unscored").content.decode()
    assert other.number in unscored and claim.number not in unscored
    assert "0.820" in boss.get(f"/work/claims/{claim.pk}/").content.decode()


def test_a_handler_reports_a_claim_taken_by_phone(office: dict[str, Any]) -> None:
    li = _client(office["li"])
    policy = office["claim"].policy
    form = li.get(f"/work/report/?policy={policy.number}")
    assert form.status_code == 200 and f'value="{policy.number}"' in form.content.decode()
    key = form.context["form"].initial["idempotency_key"]
    data = {
        "idempotency_key": key,
        "policy_number": policy.number.lower(),
        "channel": "phone",
        "incident_at": "2999-01-01T10:00",
        "incident_place": "",
        "loss_type": "glass",
        "claimed_amount": "1200",
        "payee_account": "6222 0202 0011 2233 445",
    }
    refused = li.post("/work/report/", data)
    html = refused.content.decode()
    assert refused.status_code == 422 and 'id="id_payee_name-error"' in html and 'id="id_incident_place-error"' in html
    data.update(payee_name="王芳", incident_place="北京市海淀区中关村大街1号")
    future = li.post("/work/report/", data)
    assert future.status_code == 422 and "The incident time is in the future." in future.content.decode()
    data["incident_at"] = "2026-11-20T21:30"
    reported = li.post("/work/report/", data)
    claim = Claim.objects.exclude(pk=office["claim"].pk).get()
    assert reported.status_code == 302 and reported["Location"] == f"/work/claims/{claim.pk}/"
    assert claim.channel == "phone" and claim.payee_account == "6222020200112233445" and claim.loss_type == "glass"
    again = li.post("/work/report/", data)  # the same form sent twice: one claim
    assert again.status_code == 302 and Claim.objects.count() == 2
    assert _client(office["supervisor"]).get("/work/report/").status_code == 200
    assert _client(factories.user(Role.AUDITOR)).get("/work/report/").status_code == 403


def _pending_approval(office: dict[str, Any], amount: str) -> Claim:
    from claimwise.claims.services import claim_assess, claim_register, claim_submit_for_approval

    claim, li = office["claim"], office["li"]
    claim_register(actor=li, claim_id=claim.pk)
    builders.confirm_step(li, claim.pk)
    claim_assess(actor=li, claim_id=claim.pk)
    claim_submit_for_approval(actor=li, claim_id=claim.pk, assessed_amount=amount)
    return claim


def test_a_denial_needs_reasons_and_its_notice_before_closing(office: dict[str, Any]) -> None:
    claim = _pending_approval(office, "8000")
    reviewer, li = _client(factories.user(Role.REVIEWER)), _client(office["li"])
    assert {"approve", "approve_partial", "deny"} <= set(offered(reviewer, claim))
    bare = act(reviewer, claim, "deny", note="")
    assert bare.status_code == 422 and 'id="id_reason_codes-error"' in bare.content.decode()
    done(act(reviewer, claim, "deny", reason_codes=["exclusion"], note="酒后驾驶，属责任免除"), claim)
    assert status(claim) == ClaimStatus.DENIED
    assert "send_denial_notice" in offered(li, claim) and "close" not in offered(li, claim)  # art. 24 first
    done(act(li, claim, "send_denial_notice"), claim)
    assert "send_denial_notice" not in offered(li, claim)
    done(act(li, claim, "close"), claim)
    assert status(claim) == ClaimStatus.CLOSED


def test_a_partial_approval_and_two_approvers_above_the_top_limit(office: dict[str, Any]) -> None:
    from claimwise.process.models import AuthorityLimit
    from claimwise.process.setup import setup_changed

    AuthorityLimit.objects.filter(role="supervisor").update(max_amount=Decimal("50000"))
    setup_changed()
    claim = _pending_approval(office, "60000")
    reviewer, boss = _client(factories.user(Role.REVIEWER)), _client(office["supervisor"])
    assert "sign" in offered(reviewer, claim)
    alone = act(reviewer, claim, "approve", amount="60000.00")
    assert alone.status_code == 422 and "need two approvers" in alone.content.decode()
    done(act(reviewer, claim, "sign", amount="60000.00"), claim)
    assert "sign" not in offered(reviewer, claim)  # signed once; the second approval is someone else's
    page = boss.get(f"/work/claims/{claim.pk}/act/approve/", **HX).content.decode()
    assert "Signed by" in page and "60000.00" in page
    short = act(boss, claim, "approve_partial", amount="55000.00", note="")
    assert short.status_code == 422 and 'id="id_reason_codes-error"' in short.content.decode()
    done(act(boss, claim, "approve", amount="60000.00"), claim)
    assert status(claim) == ClaimStatus.APPROVED and claim.approved_amount == Decimal("60000.00")


def test_the_claim_page_shows_what_was_sent_and_how_it_went(office: dict[str, Any], settings: Any) -> None:
    from claimwise.notifications.delivery import deliver_due
    from tests.notifications.servers import Gateway

    with Gateway("wb-secret") as gateway:
        settings.CLAIMWISE_NOTIFY_CHANNELS = ["sms"]
        settings.CLAIMWISE_GATEWAYS = {"sms": {"url": gateway.url, "secret": "wb-secret"}}
        settings.CLAIMWISE_NOTIFY_KICK = False
        li = _client(office["li"])
        done(act(li, office["claim"], "register"), office["claim"])
        deliver_due()
    html = li.get(f"/work/claims/{office['claim'].pk}/").content.decode()
    section = html[html.index('id="sent"') :]
    assert "Claim registered" in section and "Delivered" in section
    assert office["claim"].claimant.phone not in section  # the address, masked


def test_a_customer_message_reaches_the_handler_on_my_work(office: dict[str, Any], settings: Any) -> None:
    from claimwise.notifications.models import Message
    from claimwise.process.models import StaffAlert

    li = _client(office["li"])
    done(act(li, office["claim"], "register"), office["claim"])
    settings.CLAIMWISE_NOTIFY_CHANNELS = ["email"]
    office["li"].email = "li@example.com"
    office["li"].save(update_fields=["email"])
    claim_message_send(actor=office["customer"], claim_id=office["claim"].pk, body="请问什么时候能赔付？")
    alert = StaffAlert.objects.get(kind="message")
    assert alert.recipient_id == office["li"].pk and "请问什么时候能赔付" in alert.message
    assert "请问什么时候能赔付" in li.get("/work/").content.decode()  # in the alerts panel
    sent = Message.objects.get(event="staff_customer_message")
    assert sent.address == "li@example.com"


def test_the_claim_page_explains_the_fraud_risk(office: dict[str, Any]) -> None:
    from claimwise.fraud.rules import presets_install

    presets_install(actor=None)
    late = factories.claim(
        actor=office["customer"],
        policy=office["claim"].policy,
        incident_at=timezone.now() - timezone.timedelta(days=9),
    )
    html = _client(office["li"]).get(f"/work/claims/{late.pk}/").content.decode()
    section = html[html.index('id="risk"') :]
    late.refresh_from_db()
    assert late.risk_score is not None and str(late.risk_score) in section
    assert "days" in section or "天" in section  # the late-report reason, in words


def test_the_investigation_queue_lists_open_cases_in_scope(office: dict[str, Any]) -> None:
    from claimwise.fraud.investigations import case_open

    claim = office["claim"]
    case_open(actor=office["supervisor"], claim_id=claim.pk, reason="同一账户多人收款")
    page = _client(office["supervisor"]).get("/work/investigations/")
    html = page.content.decode()
    assert page.status_code == 200 and claim.number in html and "同一账户多人收款" in html
    elsewhere = factories.user(Role.SUPERVISOR, branch=factories.branch("SH"))
    assert claim.number not in _client(elsewhere).get("/work/investigations/").content.decode()


def test_the_risk_card_names_the_rings_a_claim_is_in(office: dict[str, Any]) -> None:
    from claimwise.claims.fnol import Payee, claim_submit
    from claimwise.fraud.rules import presets_install

    presets_install(actor=None)
    made = []
    for _ in range(3):
        holder = factories.customer()
        policy = factories.policy_from(holder=holder, starts=timezone.now() - timezone.timedelta(days=100))
        made.append(
            claim_submit(
                actor=office["li"],
                policy_number=policy.number,
                incident_at=timezone.now() - timezone.timedelta(hours=2),
                incident_place="北京",
                loss_type="collision",
                claimed_amount="3000",
                payee=Payee(name="张伟", account="6222020200112233445", bank_name="ICBC"),
            ).claim
        )
    html = _client(office["li"]).get(f"/work/claims/{made[-1].pk}/").content.decode()
    section = html[html.index('id="risk"') :]
    assert "3445" in section and "6222020200112233445" not in section and "3 claimants" in section
