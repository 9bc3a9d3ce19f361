"""Materials checklists (P5, Insurance Law art. 22).

What a claimant must provide comes from the claim's process definition: each requirement names a
document type and, optionally, a `rule-engine` condition over the claim's facts. Completeness is
evaluated when the claim is submitted and on every upload. When the claim is registered with
anything missing, the system sends one consolidated notice listing everything at once; a second
notice needs a justification code (the lifecycle guard) and counts against the one-time-notice KPI.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from claimwise.accounts.models import User
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim
from claimwise.claims.services import claim_request_documents, claim_resume
from claimwise.core import rows
from claimwise.core.errors import ValidationFailed
from claimwise.process.facts import claim_facts, compile_expression
from claimwise.process.models import ClaimProcess, MaterialRequirement
from claimwise.process.progress import process_for
from claimwise.process.setup import line_setup


@dataclass(frozen=True)
class MaterialStatus:
    key: str
    doc_type: str
    label: str
    received: bool


def claim_process(claim: Claim) -> ClaimProcess:
    """The claim's process row (made on submission; bound now for claims older than the process app)."""
    try:
        return claim.process
    except ClaimProcess.DoesNotExist:
        return process_for(claim, timezone.now())


def _requirements(claim: Claim, process: ClaimProcess) -> list[MaterialRequirement]:
    if process.definition_id is None:
        return []
    current = line_setup(claim.line).materials.get(process.definition_id)
    if current is not None:
        return current
    # A claim keeps the (since retired) version it started under.
    return list(MaterialRequirement.objects.filter(definition_id=process.definition_id).order_by("position", "pk"))


def materials_checklist(
    claim: Claim, *, documents: tuple[str, ...] | None = None, process: ClaimProcess | None = None
) -> list[MaterialStatus]:
    """Every material this claim needs, and whether it has arrived."""
    process = process or claim_process(claim)
    requirements = _requirements(claim, process)
    if not requirements:
        return []
    if documents is None:
        documents = tuple(claim.documents.values_list("doc_type", flat=True).distinct())
    conditional = [r.condition for r in requirements if r.condition.strip()]
    # Prior claims are counted only if a condition gets that far (the facts are lazy).
    facts = claim_facts(claim, documents=documents) if conditional else None
    needed = [r for r in requirements if not r.condition.strip() or compile_expression(r.condition).matches(facts)]
    return [MaterialStatus(r.key, r.doc_type, r.label, r.doc_type in documents) for r in needed]


def materials_evaluate(
    claim: Claim,
    *,
    now: dt.datetime,
    documents: tuple[str, ...] | None = None,
    process: ClaimProcess | None = None,
) -> ClaimProcess:
    """Recompute completeness and the missing list; remember since when the claim is complete.
    A process row not saved yet (a claim being submitted) is inserted with the result."""
    process = process or claim_process(claim)
    checklist = materials_checklist(claim, documents=documents, process=process)
    missing = [{"key": m.key, "doc_type": m.doc_type, "label": m.label} for m in checklist if not m.received]
    complete = process.definition_id is not None and not missing
    if complete and process.documents_complete_at is None:
        process.documents_complete_at = now
    if not complete:
        process.documents_complete_at = None
    process.documents_complete = complete
    process.missing_materials = missing
    if process.pk is None:
        rows.insert(process)  # a new claim's process row, on the submit's hot path
    else:
        process.save(update_fields=["documents_complete", "documents_complete_at", "missing_materials", "updated_at"])
    return process


@transaction.atomic
def materials_notice_send(
    *,
    actor: User | None,
    claim_id: int,
    justification: str | None = None,
    extra_items: list[str] | None = None,
    note: str = "",
) -> Claim:
    """The one consolidated missing-materials notice: everything the checklist still misses plus
    anything the handler adds, in one request (Insurance Law art. 22)."""
    from claimwise.claims.selectors import claim_get

    claim = claim_get(claim_id, user=actor, for_update=True)
    # The notice is the claimant's: in the company's language, whoever's screen triggered it.
    with translation.override(settings.LANGUAGE_CODE):
        process = materials_evaluate(claim, now=claim.status_changed_at)
    items = [m["label"] for m in process.missing_materials] + [i.strip() for i in extra_items or [] if i.strip()]
    if not items:
        raise ValidationFailed({"extra_items": _("Nothing is missing; name what you need from the claimant.")})
    return claim_request_documents(actor=actor, claim_id=claim.pk, items=items, justification=justification, note=note)


def resume_if_complete(claim: Claim, process: ClaimProcess) -> None:
    """A claim waiting only for documents resumes once everything is in."""
    if process.documents_complete and claim.status == ClaimStatus.AWAITING_DOCUMENTS:
        claim_resume(actor=None, claim_id=claim.pk, note=_("Every required material has been received."))


def notice_if_missing(claim: Claim, process: ClaimProcess) -> None:
    """Registered with materials missing: the system sends the one consolidated notice at once."""
    if process.definition_id is not None and process.missing_materials and claim.documents_requests == 0:
        materials_notice_send(
            actor=None, claim_id=claim.pk, note=_("Sent automatically when the claim was registered.")
        )


@dataclass(frozen=True)
class OneTimeNoticeRate:
    claims_with_notice: int
    claims_with_one_notice: int

    @property
    def rate(self) -> Decimal | None:
        """一次性告知率 = claims with at most one notice / claims that needed any notice."""
        if not self.claims_with_notice:
            return None
        return (Decimal(self.claims_with_one_notice) / Decimal(self.claims_with_notice)).quantize(Decimal("0.0001"))


def one_time_notice_rate(claims: QuerySet[Claim]) -> OneTimeNoticeRate:
    counts = claims.aggregate(
        any_notice=Count("pk", filter=Q(documents_requests__gte=1)),
        one_notice=Count("pk", filter=Q(documents_requests=1)),
    )
    return OneTimeNoticeRate(counts["any_notice"], counts["one_notice"])
