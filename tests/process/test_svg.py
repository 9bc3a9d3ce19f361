"""The process map (P1, P4): server-side SVG that parses, names every step, highlights where a claim
stands and keeps internal roles out of the customer's map."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.utils import timezone, translation

from claimwise.accounts.choices import Role
from claimwise.claims.services import claim_register, claim_submit
from claimwise.core.errors import NotFound
from claimwise.process.choices import ClockKind
from claimwise.process.models import ClaimClock, ClaimProcess
from claimwise.process.presets import preset_document
from claimwise.process.svg import _fit, _width, claim_map_svg, definition_svg
from claimwise.process.transfer import definition_import
from tests import factories
from tests.process.builders import confirm_step

pytestmark = pytest.mark.django_db
NS = {"svg": "http://www.w3.org/2000/svg"}


def texts(svg: str) -> str:
    root = ET.fromstring(svg)
    return "\n".join("".join(t.itertext()) for t in root.iter(f"{{{NS['svg']}}}text"))


def group(svg: str, key: str) -> ET.Element:
    root = ET.fromstring(svg)
    return next(g for g in root.iter(f"{{{NS['svg']}}}g") if g.get("data-step") == key)


def role_labels() -> set[str]:
    labels = set()
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            labels |= {str(r.label) for r in Role}
    return labels | {r.value for r in Role}


@pytest.fixture
def motor() -> Any:
    return definition_import(actor=None, source=preset_document("motor"), publish=True)


def test_every_step_named_and_xml_valid(motor: Any) -> None:
    with translation.override("en"):
        svg = definition_svg(motor)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "Noto Sans CJK SC" in root.get("font-family", "")
    body = texts(svg)
    for step in motor.steps.all():
        assert step.name in body and step.name_en in body
        assert group(svg, step.key) is not None
    assert "Claim handler · 24 hours" in body
    assert len(root.findall("svg:path", NS)) == sum(len(s.next_steps) for s in motor.steps.all())
    assert 400 <= float(root.get("width", 0)) <= 1200


def test_layers_follow_next_steps(motor: Any) -> None:
    svg = definition_svg(motor)

    def top(key: str) -> float:
        return float(group(svg, key).find("svg:rect", NS).get("y"))  # type: ignore[union-attr]

    assert top("report") < top("register") < top("survey") < top("assess") < top("approve") < top("pay") < top("close")
    assert top("pay") == top("deny")  # the two outcomes side by side
    # register → assess skips the survey layer: it goes round the boxes, not behind the survey box.
    survey_left = float(group(svg, "survey").find("svg:rect", NS).get("x"))  # type: ignore[union-attr]
    xs = []
    for path in ET.fromstring(svg).iter(f"{{{NS['svg']}}}path"):
        if path.get("class") == "edge":
            xs.append(min(float(p.split(",")[0].lstrip("MC")) for p in path.get("d", "").split()))
    assert min(xs) < survey_left


def test_current_completed_and_deadlines(motor: Any) -> None:
    now = timezone.now()
    deadlines = {"assess": now + dt.timedelta(days=2), "survey": now - dt.timedelta(hours=5)}
    with translation.override("en"):
        svg = definition_svg(
            motor, current_step="assess", completed=["report", "register"], deadlines=deadlines, now=now
        )
    current = group(svg, "assess")
    assert "current" in current.get("class", "") and current.get("aria-current") == "step"
    assert current.find("svg:rect", NS).get("stroke-width") == "3"  # type: ignore[union-attr]
    assert "completed" in group(svg, "report").get("class", "")
    assert "✓ 报案受理与调度" in texts(svg)
    assert "upcoming" in group(svg, "approve").get("class", "")
    due = timezone.localtime(deadlines["assess"]).strftime("%Y-%m-%d %H:%M")
    assert f"Due {due}" in "".join(current.itertext())
    assert "Overdue since" in "".join(group(svg, "survey").itertext())


def test_customer_mode_plain_language_without_roles(motor: Any) -> None:
    with translation.override("zh-hans"):
        svg = definition_svg(motor, current_step="survey", customer=True)
    body = texts(svg)
    assert "查勘人员正在核实事故现场" in body
    for label in role_labels():
        assert label not in svg, label
    assert "v1" not in body


def test_everything_is_escaped() -> None:
    doc = preset_document("travel")
    doc["name"] = 'A <b>"&" 旅行</b>'
    doc["steps"][0]["name"] = "<script>alert(1)</script>"
    definition = definition_import(actor=None, source=doc)
    svg = definition_svg(definition)
    ET.fromstring(svg)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_wrapping_counts_chinese_as_wide() -> None:
    assert _width("中文", 10) == 20 and _width("ab", 10) < 12
    lines = _fit("很长的中文句子" * 10, 10, 50, 2)
    assert len(lines) == 2 and lines[1].endswith("…")
    assert _fit("short", 10, 200, 2) == ["short"]


def _claim() -> Any:
    handler = factories.user(Role.HANDLER)
    holder = factories.customer()
    claim = claim_submit(
        actor=holder.user,
        policy_number=factories.policy(holder=holder).number,
        incident_at=timezone.now() - dt.timedelta(hours=2),
        incident_place="北京市朝阳区",
        loss_type="collision",
        claimed_amount="3000.00",
        description="追尾",
    ).claim
    confirm_step(handler, claim.pk)
    claim_register(actor=handler, claim_id=claim.pk)
    claim.refresh_from_db()
    return claim


def test_claim_map_reads_the_claims_process_and_clocks(motor: Any) -> None:
    claim = _claim()
    due = timezone.now() + dt.timedelta(days=1)
    # The clocks are written by the process engine; here they are the data the map reads.
    process, _new = ClaimProcess.objects.get_or_create(claim=claim)
    ClaimProcess.objects.filter(pk=process.pk).update(
        definition=motor, step_key="survey", completed_steps=["report", "register"]
    )
    ClaimClock.objects.filter(claim=claim).delete()
    ClaimClock.objects.create(
        claim=claim, kind=ClockKind.STEP, step_key="survey", started_at=timezone.now(), due_at=due
    )
    ClaimClock.objects.create(
        claim=claim, kind=ClockKind.STEP, step_key="report", started_at=timezone.now(), due_at=due, state="met"
    )
    with translation.override("en"):
        svg = claim_map_svg(claim, customer=False)
    assert "current" in group(svg, "survey").get("class", "")
    assert "completed" in group(svg, "register").get("class", "")
    local = timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
    assert f"Due {local}" in "".join(group(svg, "survey").itertext())
    assert "Due" not in "".join(group(svg, "report").itertext())
    customer_svg = claim_map_svg(claim, customer=True)
    assert not any(label in customer_svg for label in role_labels())


def test_claim_without_a_bound_process_uses_the_governing_definition(motor: Any) -> None:
    claim = _claim()
    ClaimProcess.objects.filter(claim=claim).delete()
    svg = claim_map_svg(claim, customer=True)
    assert "current" in group(svg, "register").get("class", "")  # from the claim's status


def test_no_process_for_the_line() -> None:
    claim = _claim()
    ClaimProcess.objects.filter(claim=claim).delete()
    with pytest.raises(NotFound):
        claim_map_svg(claim, customer=False)
