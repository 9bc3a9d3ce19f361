"""Builds seeded customers, policies and claims in memory (drafts), one claim at a time, from a
directory of the reference rows already in the database. `claims.seed` allocates ids and writes the
drafts in bulk."""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal
from typing import Any

from claimwise.accounts.choices import PartnerKind
from claimwise.claims.choices import Channel, DocumentsJustification, LossType, ReasonCode
from claimwise.claims.fnol import LATE_REPORT_AFTER, triage
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.core.crypto import keyed_hash, mask
from claimwise.demo.data import (
    AIRPORTS,
    APPROVE_NOTE,
    BRANCHES,
    DENIAL_NOTES,
    DENIAL_REASONS,
    DESCRIPTIONS,
    DOC_NAMES,
    DOCS_AT_REPORT,
    DOCS_NOTE,
    DOCS_REQUESTED,
    FOREIGN_PLACES,
    PARTIAL_NOTE,
    PARTIAL_REASONS,
    PARTNER_KIND_FOR_LOSS,
    PHOTO_TYPES,
    REOPEN_NOTE,
    SCREENSHOT_TYPES,
    TEAM_FOR_LINE,
    WITHDRAW_NOTE,
    BranchSpec,
    City,
)
from claimwise.demo.identity import (
    bank_account,
    below,
    birth_date,
    id_number,
    mobile,
    one,
    person_name,
    place,
    plate,
    regions,
    street_address,
    vehicle,
)
from claimwise.demo.products import AMOUNTS, LINE_WEIGHTS, LUMP_SUM, REPORT_DELAY_HOURS
from claimwise.demo.refs import (
    ClaimDraft,
    Directory,
    PartnerRef,
    PartyDraft,
    PolicyDraft,
    ProductRef,
)
from claimwise.demo.story import (
    FINAL_WEIGHTS,
    Clock,
    DecisionDraft,
    DocDraft,
    EventDraft,
    PaymentDraft,
    claimed_amount,
    cumulative,
    money,
    pick,
    plan,
    reopened,
    replay,
    report_time,
    sample,
    settle,
    shift_to,
    state_age,
)
from claimwise.policies.choices import PolicyStatus

S = ClaimStatus
REPORTED = S.REPORTED.value
DAY = dt.timedelta(days=1)
REOPEN_FINALS = frozenset({S.REGISTERED, S.INVESTIGATION, S.ASSESSMENT, S.AWAITING_DOCUMENTS, S.PENDING_APPROVAL})
WAITING_DAYS = {"HEALTH-MLN": 30, "LIFE-CI": 90, "LIFE-TERM": 90}
INVESTIGATE_P = {
    LossType.THEFT: 0.8,
    LossType.DEATH: 0.6,
    LossType.FIRE: 0.5,
    LossType.CRITICAL_ILLNESS: 0.3,
    LossType.DISABILITY: 0.4,
    LossType.BURGLARY: 0.3,
}
CHANNELS = ((Channel.APP, 30), (Channel.WECHAT, 25), (Channel.PHONE, 25), (Channel.WEB, 10), (Channel.API, 2))


class Builder:
    def __init__(self, rng: random.Random, now: dt.datetime, tz: dt.tzinfo, directory: Directory) -> None:
        self.rng = rng
        self.now = now
        self.tz = tz
        self.today = now.astimezone(tz).date()
        self.d = directory
        self.clock = Clock(rng, tz)
        self.hashes: set[str] = set()
        self.provinces = sorted(regions().provinces)
        self._branch_cum = cumulative([b.weight for b in BRANCHES])
        self._city_cum = {b.code: cumulative([c.weight for c in b.cities]) for b in BRANCHES}
        self._line_items = list(LINE_WEIGHTS)
        self._line_cum = cumulative(list(LINE_WEIGHTS.values()))
        self._final_items = list(FINAL_WEIGHTS)
        self._final_cum = cumulative(list(FINAL_WEIGHTS.values()))
        self._channels = [c for c, _w in CHANNELS]
        self._channel_cum = cumulative([w for _c, w in CHANNELS])

    # --- people ---------------------------------------------------------------------------------

    def party(self, branch: BranchSpec | None = None, city: City | None = None, surname: str = "") -> PartyDraft:
        rng = self.rng
        branch = branch or pick(rng, BRANCHES, self._branch_cum)
        city = city or pick(rng, branch.cities, self._city_cum[branch.code])
        male = rng.random() < 0.52
        born = birth_date(rng, self.today)
        home = branch.province if rng.random() < 0.65 else one(rng, self.provinces)
        while True:
            number = id_number(rng, home, born, male)
            digest = keyed_hash(number)
            if digest not in self.hashes:
                break
        self.hashes.add(digest)
        family, given = person_name(rng, male)
        email = f"cw{below(rng, 10**7):07d}@example.com" if rng.random() < 0.25 else ""
        return PartyDraft(
            name=(surname or family) + given,
            id_number=number,
            id_hash=digest,
            gender="M" if male else "F",
            birth_date=born,
            phone=mobile(rng),
            email=email,
            address=street_address(rng, branch, city),
            branch=branch,
            city=city,
        )

    def rehash(self, party: PartyDraft) -> None:
        """A new ID number for a party whose number an earlier run already used."""
        male = party.gender == "M"
        while True:
            number = id_number(self.rng, party.branch.province, party.birth_date, male)
            digest = keyed_hash(number)
            if digest not in self.hashes:
                break
        self.hashes.add(digest)
        party.id_number, party.id_hash = number, digest

    # --- policies ---------------------------------------------------------------------------------

    def _midnight(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0), self.tz)

    def _years_after(self, start: dt.datetime, years: int) -> dt.datetime:
        day = start.date()
        try:
            return self._midnight(day.replace(year=day.year + years))
        except ValueError:  # 29 February
            return self._midnight(day.replace(year=day.year + years, day=28))

    def _sum_insured(self, product: ProductRef, party: PartyDraft) -> Decimal:
        spec = product.spec
        if product.code == "MOTOR-COMM":
            return self._car(party)[3]
        return Decimal(one(self.rng, spec.sum_insured))

    def _car(self, party: PartyDraft) -> tuple[str, str, str, Decimal]:
        if party.car is None:
            model, vin = vehicle(self.rng, self.today.year - self.rng.randint(0, 9))
            value = Decimal(max(50, min(800, round(self.rng.lognormvariate(5.01, 0.45))))) * 1000
            party.car = (plate(self.rng, party.city), vin, model, value)
        return party.car

    def policy_for(self, party: PartyDraft, product: ProductRef, incident: dt.datetime, constraint: str) -> PolicyDraft:
        """The policy of `party` covering `incident` (a renewal year, a life policy or a trip), made if
        needed. `constraint` builds the exceptions denials are about: a policy that had already ended
        (`expired`) or one whose waiting period had not passed (`waiting`)."""
        rng, spec = self.rng, product.spec
        local = self._local(incident).date()
        if constraint == "expired":
            end = self._midnight(local - dt.timedelta(days=rng.randint(1, 60)))
            start = end - dt.timedelta(days=rng.randint(5, 20)) if spec.term == "trip" else self._years_after(end, -1)
            return self._new_policy(party, product, start, end - dt.timedelta(seconds=1), exclusive=True)
        if constraint == "waiting":
            start = self._midnight(local - dt.timedelta(days=rng.randint(3, WAITING_DAYS.get(product.code, 30) - 1)))
            years = 20 if spec.term == "life" else 1
            return self._new_policy(
                party, product, start, self._years_after(start, years) - dt.timedelta(seconds=1), exclusive=True
            )
        if spec.term == "trip":
            start = self._midnight(local - dt.timedelta(days=rng.randint(0, 10)))
            end = max(
                self._midnight(start.date() + dt.timedelta(days=rng.randint(5, 30))),
                self._midnight(local + dt.timedelta(days=2)),
            )
            return self._new_policy(party, product, start, end - dt.timedelta(seconds=1), exclusive=True)
        if spec.term == "life":
            for (code, _start), existing in party.policies.items():
                if code == product.code and existing.effective_from + 180 * DAY < incident <= existing.effective_to:
                    return existing
            start = self._midnight(local - dt.timedelta(days=rng.randint(200, 12 * 365)))
            return self._new_policy(party, product, start, self._years_after(start, 20) - dt.timedelta(seconds=1))
        offset = party.anchors.setdefault(product.code, below(rng, 365))
        start_day = dt.date(local.year, 1, 1) + dt.timedelta(days=offset)
        if start_day > local:
            start_day = dt.date(local.year - 1, 1, 1) + dt.timedelta(days=offset)
        start = self._midnight(start_day)
        found = party.policies.get((product.code, start))
        if found is not None:
            return found
        end = self._midnight(dt.date(start_day.year + 1, 1, 1) + dt.timedelta(days=offset))
        return self._new_policy(party, product, start, end - dt.timedelta(seconds=1))

    def _new_policy(
        self, party: PartyDraft, product: ProductRef, start: dt.datetime, end: dt.datetime, *, exclusive: bool = False
    ) -> PolicyDraft:
        rng = self.rng
        sum_insured = self._sum_insured(product, party)
        low, high = product.spec.premium_rate
        premium = money(max(Decimal(30), sum_insured * Decimal(str(round(rng.uniform(low, high), 5)))))
        if end < self.now:
            status = PolicyStatus.LAPSED if product.spec.term == "life" else PolicyStatus.EXPIRED
        else:
            status = PolicyStatus.ACTIVE
        car = self._car(party)[:3] if product.line == "motor" else ("", "", "")
        policy = PolicyDraft(
            product, party, self.d.branches[party.branch.code].id, start, end, status, sum_insured, premium, car
        )
        if not exclusive:
            party.policies[(product.code, start)] = policy
        return policy

    # --- claims -----------------------------------------------------------------------------------

    def claim(
        self,
        party: PartyDraft,
        *,
        line: str | None = None,
        final: str | None = None,
        product_code: str = "",
        assign: tuple[int, int | None] | None = None,
    ) -> ClaimDraft:
        """One claim of `party`; `assign` (handler, team) overrides the routing."""
        rng, now = self.rng, self.now
        line = line or pick(rng, self._line_items, self._line_cum)
        products = self.d.products[line]
        product = next((p for p in products if p.code == product_code), None) or pick(
            rng, products, self.d.product_cum[line]
        )
        spec = product.spec
        final = final or pick(rng, self._final_items, self._final_cum)
        loss_type = pick(rng, product.loss_types, product.loss_cum)
        story = plan(rng, final, line=line, product=spec, investigate_p=INVESTIGATE_P.get(loss_type, 0.1))
        if final in REOPEN_FINALS and rng.random() < 0.03:
            story = reopened(rng, story, plan(rng, S.CLOSED, line=line, product=spec, investigate_p=0.1))
        deny_reason = None
        if story.outcome == "deny":
            deny_reason, loss_type = self._deny_reason(rng, product, loss_type)
        coverage = product.coverage_for(loss_type)

        # when: the path's steps, moved back so the claim has sat in its state for a plausible time
        transitions = replay(story.actions)
        start = report_time(rng, self.tz, now)
        scale = 2.0 if line == "life" or loss_type in LUMP_SUM else 1.0
        steps = self.clock.steps(start, transitions, scale)
        age = state_age(rng, final)
        if final == S.DENIED and not story.notice_pending:
            age = dt.timedelta(days=8 * rng.random())
        shift = shift_to(now, steps[-1].at if steps else start, age)
        reported_at = start + shift
        for step in steps:
            step.at += shift
        median, sigma = REPORT_DELAY_HOURS[line]
        incident_at = reported_at - dt.timedelta(hours=min(rng.lognormvariate(math.log(median), sigma), 2000))

        constraints: dict[str | None, str] = {
            ReasonCode.OUTSIDE_PERIOD: "expired",
            ReasonCode.WAITING_PERIOD: "waiting",
        }
        constraint = constraints.get(deny_reason, "")
        policy = self.policy_for(party, product, incident_at, constraint)
        amount_spec = AMOUNTS.get((product.code, loss_type)) or AMOUNTS[("", loss_type)]
        claimed = claimed_amount(rng, amount_spec, policy.sum_insured, loss_type)
        amounts = settle(
            rng,
            claimed=claimed,
            outcome=story.outcome,
            deny_reason=deny_reason,
            limit=coverage.limit if coverage else None,
            deductible=coverage.deductible if coverage else Decimal(0),
            sum_insured=policy.sum_insured,
            lump_sum=amount_spec[0] == "si",
            partial_reasons=PARTIAL_REASONS[line],
        )
        claimed = amounts.claimed
        priority, complexity = triage(line, loss_type, claimed)

        claimant = party
        if loss_type == LossType.DEATH:  # the beneficiary claims
            claimant = self.party(party.branch, party.city, surname=party.name[0] if rng.random() < 0.5 else "")
        branch = self.d.branches[party.branch.code]
        suffix = "SPECIAL" if complexity == "complex" and rng.random() < 0.5 else TEAM_FOR_LINE[line]
        team = branch.teams.get(suffix) or branch.teams[TEAM_FOR_LINE[line]]
        handler = pick(rng, team.handlers, team.weights) if team.handlers else None
        team_id: int | None = team.id
        if assign is not None:
            handler, team_id = assign
        reviewer = one(rng, branch.reviewers) if branch.reviewers else None
        supervisor = one(rng, branch.supervisors) if branch.supervisors else None
        if amounts.decision > 200_000 and supervisor is not None:
            reviewer = supervisor

        partner_kind = PARTNER_KIND_FOR_LOSS.get(loss_type)
        partner = self._partner(party.branch.code, partner_kind) if partner_kind else None
        channel = Channel.PARTNER if partner and rng.random() < 0.08 else pick(rng, self._channels, self._channel_cum)
        description, where = self._texts(rng, party, line, loss_type, partner_kind, partner)

        f: dict[str, Any] = {
            "line": line,
            "branch_id": branch.id,
            "team_id": None,
            "handler_id": None,
            "status": REPORTED,
            "resume_status": "",
            "status_changed_at": reported_at,
            "version": 1,
            "incident_at": incident_at,
            "incident_place": where,
            "reported_at": reported_at,
            "channel": channel,
            "loss_type": loss_type,
            "description": description,
            "late_report": reported_at - incident_at > LATE_REPORT_AFTER,
            "limitation_date": self._limitation(line, incident_at),
            "currency": "CNY",
            "claimed_amount": claimed,
            "reserve": claimed,
            "assessed_amount": None,
            "approved_amount": None,
            "paid_amount": Decimal(0),
            "priority": priority,
            "complexity": complexity,
            "documents_requests": 0,
            "registered_at": None,
            "decided_at": None,
            "closed_at": None,
        }
        submitted = EventDraft(
            "submitted",
            reported_at,
            party.user_id,
            "",
            REPORTED,
            "",
            {"channel": channel, "late_report": f["late_report"]},
        )
        c = ClaimDraft(f, policy, claimant, coverage, [submitted], [], [], [], [], bank_account(rng))
        if channel == Channel.PARTNER and partner is not None:
            c.shares.append((partner.id, None, reported_at))

        decision: DecisionDraft | None = None
        payment: PaymentDraft | None = None
        ref: DecisionDraft | PaymentDraft | None
        requested: list[str] = []
        requested_at = reported_at
        for step, (action, frm, to) in zip(steps, transitions, strict=True):
            t, actor, note, data, ref = step.at, handler, "", {}, None
            if action == "register":
                f["registered_at"] = f["registered_at"] or t
                if f["handler_id"] is None:
                    f["handler_id"], f["team_id"] = handler, team_id
                data = {"handler": f["handler_id"]}
            elif action == "request_documents":
                f["resume_status"] = frm
                f["documents_requests"] += 1
                requested = sample(rng, DOCS_REQUESTED[line], rng.randint(1, 3))
                justification = None if f["documents_requests"] == 1 else one(rng, DocumentsJustification.values)
                data = {"items": requested, "justification": justification, "notice_number": f["documents_requests"]}
                note = DOCS_NOTE
                requested_at = t
            elif action == "resume":
                f["resume_status"] = ""
                self._documents(c, requested, requested_at, t, frm)
            elif action == "submit_for_approval":
                f["assessed_amount"] = amounts.assessed
                f["reserve"] = amounts.assessed
                data = {"assessed_amount": str(amounts.assessed)}
            elif action in ("approve", "approve_partial", "deny"):
                outcome = {"approve": "approve", "approve_partial": "partial", "deny": "deny"}[action]
                reasons = (
                    list(amounts.reasons) if outcome == "partial" else [str(deny_reason)] if outcome == "deny" else []
                )
                note = {"approve": APPROVE_NOTE, "partial": PARTIAL_NOTE}.get(outcome) or DENIAL_NOTES[str(deny_reason)]
                decision = DecisionDraft(outcome, amounts.decision, reasons, note, reviewer, t)
                c.decisions.append(decision)
                f["decided_at"] = t
                f["approved_amount"] = amounts.decision
                f["reserve"] = amounts.decision
                data, ref = {"amount": str(amounts.decision), "reason_codes": reasons}, decision
                actor = reviewer
            elif action == "send_denial_notice":
                assert decision is not None
                decision.notice_sent_at = t
                data, ref = {"notice_sent_at": t.isoformat()}, decision
            elif action == "request_payment":
                assert decision is not None
                paid = f["paid_amount"]
                payment = PaymentDraft(
                    decision, money(decision.amount - paid if paid < decision.amount else 0), handler, t
                )
                c.payments.append(payment)
                data, ref = {"amount": str(payment.amount), "bank_account": mask(c.bank[1], head=0, tail=4)}, payment
            elif action == "confirm_payment":
                assert payment is not None
                payment.paid_at = t
                payment.reference = f"{rng.getrandbits(64):016X}"
                f["paid_amount"] += payment.amount
                f["reserve"] = Decimal(0)
                actor = supervisor
                data, ref = {"amount": str(payment.amount), "reference": payment.reference}, payment
            elif action in ("close", "withdraw"):
                f["closed_at"] = t
                f["reserve"] = Decimal(0)
                if action == "withdraw":
                    actor, note = party.user_id or handler, WITHDRAW_NOTE
                    f["resume_status"] = ""
            elif action == "reopen":
                f["closed_at"] = None
                f["assessed_amount"] = None
                actor, note = supervisor, REOPEN_NOTE
            f["status"], f["status_changed_at"] = to, t
            f["version"] += 1
            c.events.append(EventDraft(action, t, actor, frm, to, note, data, True, ref))
            if action == "register":
                self._share_after_register(c, partner, handler, t, steps)

        # what came with the report, and what arrived after the last request of a claim still waiting
        first_step = steps[0].at if steps else now
        if steps or rng.random() < 0.5:
            docs = sample(rng, DOCS_AT_REPORT[line], rng.randint(1, len(DOCS_AT_REPORT[line])))
            gap = min(dt.timedelta(minutes=rng.uniform(2, 60)), (first_step - reported_at) / 2)
            self._documents(c, docs, reported_at, reported_at + gap, REPORTED)
        if final == S.AWAITING_DOCUMENTS and requested and rng.random() < 0.3:
            self._documents(c, requested[:1], requested_at, now, final)
        c.events.sort(key=lambda e: e.at)
        return c

    def _local(self, t: dt.datetime) -> dt.datetime:
        """Wall-clock time in the company's zone (only its fields are used, not its offset)."""
        fixed = self.clock.fixed
        return t + fixed if fixed is not None else t.astimezone(self.tz)

    def _limitation(self, line: str, incident_at: dt.datetime) -> dt.date:
        """`services.limitation_date` (Insurance Law art. 26) without a time-zone lookup per call."""
        day = self._local(incident_at).date()
        years = 5 if line == "life" else 2
        try:
            return day.replace(year=day.year + years)
        except ValueError:  # 29 February
            return day.replace(year=day.year + years, day=28)

    def _deny_reason(self, rng: random.Random, product: ProductRef, loss_type: str) -> tuple[str, str]:
        r = rng.random()
        if r < 0.15 and product.spec.uncovered:
            return ReasonCode.NOT_COVERED, one(rng, product.spec.uncovered)
        if r < 0.25:
            return ReasonCode.OUTSIDE_PERIOD, loss_type
        coverage = product.coverage_for(loss_type)
        choices = [
            reason
            for reason in DENIAL_REASONS[product.line]
            if (reason != ReasonCode.WAITING_PERIOD or product.code in WAITING_DAYS)
            and (reason != ReasonCode.BELOW_DEDUCTIBLE or (coverage is not None and coverage.deductible > 0))
        ]
        return one(rng, choices), loss_type

    def _partner(self, branch_code: str, kind: str) -> PartnerRef | None:
        found = self.d.partners.get((branch_code, kind))
        if not found:
            return None
        return pick(self.rng, found, self.d.partner_cum[(branch_code, kind)])

    def _share_after_register(
        self, c: ClaimDraft, partner: PartnerRef | None, handler: int | None, t: dt.datetime, steps: list
    ) -> None:
        """Handlers share a claim with the hospital or repair shop treating it, and big property losses
        with a loss assessor (S3)."""
        rng = self.rng
        targets = []
        if partner is not None and not c.shares:
            p = 0.6 if partner.id == self.d.demo_partner else 0.35
            if rng.random() < p:
                targets.append(partner.id)
        if (
            c.fields["line"] == "property"
            and c.fields["claimed_amount"] > 30_000
            and self.d.assessors
            and rng.random() < 0.5
        ):
            targets.append(one(rng, self.d.assessors).id)
        if not targets:
            return
        later = [s.at for s in steps if s.at > t]
        until = min(later) if later else self.now
        for partner_id in targets:
            at = t + (until - t) * rng.uniform(0.05, 0.5)
            c.shares.append((partner_id, handler, at))
            status = c.events[-1].to_status
            c.events.append(EventDraft("shared", at, handler, status, status, "", {"partner": partner_id}, False))

    def _documents(self, c: ClaimDraft, kinds: list[str], after: dt.datetime, before: dt.datetime, status: str) -> None:
        rng = self.rng
        span = before - after
        for kind_ in kinds:
            doc_type = str(kind_)  # the plain value, not the DocumentType member
            at = after + span * rng.uniform(0.3, 0.95)
            kind = "jpeg" if doc_type in PHOTO_TYPES else "png" if doc_type in SCREENSHOT_TYPES else "pdf"
            local = self._local(at)
            name = (
                f"IMG_{local:%Y%m%d_%H%M%S}.jpg"
                if kind == "jpeg"
                else f"{DOC_NAMES[doc_type]}.{'png' if kind == 'png' else 'pdf'}"
            )
            doc = DocDraft(doc_type, kind, name, c.claimant.user_id, at)
            c.documents.append(doc)
            c.events.append(
                EventDraft("document_added", at, doc.uploaded_by, status, status, "", {"doc_type": doc_type}, True, doc)
            )

    def _texts(
        self,
        rng: random.Random,
        party: PartyDraft,
        line: str,
        loss_type: str,
        partner_kind: str | None,
        partner: PartnerRef | None,
    ) -> tuple[str, str]:
        """(description, incident place), naming the hospital or repair shop the claim went to."""
        district, street = place(rng, party.city)
        branch = party.branch
        hospital = partner.name if partner and partner_kind == PartnerKind.HOSPITAL else one(rng, branch.hospitals)
        shop = partner.name if partner and partner_kind == PartnerKind.REPAIR_SHOP else one(rng, branch.repair_shops)
        text = one(rng, DESCRIPTIONS[loss_type]).format(
            street=f"{district}{street}",
            shop=shop,
            hospital=hospital,
            days=rng.randint(3, 15),
            hours=rng.randint(3, 12),
            foreign=one(rng, FOREIGN_PLACES),
            airport=one(rng, AIRPORTS),
        )
        if line == "travel":
            airport = next((a for a in AIRPORTS if a in text), "")
            foreign = next((p for p in FOREIGN_PLACES if p in text), "")
            where = airport or foreign or one(rng, FOREIGN_PLACES)
        elif line == "property" or loss_type in (LossType.BURGLARY, LossType.WATER_DAMAGE):
            where = party.address
        elif partner_kind == PartnerKind.HOSPITAL or line == "life":
            where = hospital if hospital.startswith(party.city.name[:2]) else party.city.name + hospital
        else:
            where = f"{party.city.name}{district}{street}{rng.randint(1, 300)}号附近"
        return text, where
