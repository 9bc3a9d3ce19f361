"""The back office (Django admin with unfold): every write goes through an audited service, the role
decides view versus edit, and personal identifiers stay masked."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from claimwise.accounts.choices import Role
from claimwise.accounts.models import ApiToken, Branch, Team, User
from claimwise.accounts.services import BACK_OFFICE_ROLES, token_create
from claimwise.claims.services import claim_submit
from claimwise.core import admin as core_admin
from claimwise.core.audit import audit_verify
from claimwise.core.models import AuditEntry
from claimwise.policies.models import Coverage, Product
from tests import factories

PASSWORD = "Secret-pass-123"


def login(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def root(db: Any) -> User:
    return factories.user(Role.ADMIN, username="root", is_superuser=True)


@pytest.fixture
def staff(root: User) -> Client:
    return login(root)


def entries(action: str, object_id: Any = None) -> list[AuditEntry]:
    qs = AuditEntry.objects.filter(action=action)
    if object_id is not None:
        qs = qs.filter(object_id=str(object_id))
    return list(qs.order_by("seq"))


def management(prefix: str, total: int, initial: int = 0) -> dict[str, Any]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def assert_chain_ok() -> None:
    result = audit_verify()
    assert result.ok, result


def test_role_values_match_accounts():
    assert core_admin.ADMIN_ROLE == Role.ADMIN
    assert {str(r) for r in BACK_OFFICE_ROLES} == core_admin.BACK_OFFICE_VIEW_ROLES


def test_branch_and_team_create_edit_delete_are_audited(staff: Client, root: User):
    r = staff.post(
        "/admin/accounts/branch/add/",
        {"code": "SH", "name": "上海分公司", "region": "华东", **management("teams", 0)},
    )
    assert r.status_code == 302, r.context and r.context["adminform"].form.errors
    branch = Branch.objects.get(code="SH")
    (created,) = entries("branch.create", branch.pk)
    assert created.before is None
    assert created.after["name"] == "上海分公司"
    assert created.actor_label == "root" and created.actor_id == root.pk
    assert created.request_id

    r = staff.post(
        f"/admin/accounts/branch/{branch.pk}/change/",
        {"code": "SH", "name": "上海分公司（新）", "region": "华东", **management("teams", 0)},
    )
    assert r.status_code == 302
    (updated,) = entries("branch.update", branch.pk)
    assert updated.before["name"] == "上海分公司" and updated.after["name"] == "上海分公司（新）"

    r = staff.post("/admin/accounts/team/add/", {"code": "SH-MOTOR", "name": "车险组", "branch": branch.pk})
    assert r.status_code == 302
    team = Team.objects.get(code="SH-MOTOR")
    (team_created,) = entries("team.create", team.pk)
    assert team_created.after["branch_id"] == branch.pk and team_created.after["is_specialist"] is False

    r = staff.post(
        f"/admin/accounts/team/{team.pk}/change/",
        {"code": "SH-MOTOR", "name": "车险组", "branch": branch.pk, "is_specialist": "on"},
    )
    assert r.status_code == 302
    (team_updated,) = entries("team.update", team.pk)
    assert team_updated.before["is_specialist"] is False and team_updated.after["is_specialist"] is True

    r = staff.post(f"/admin/accounts/team/{team.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert not Team.objects.filter(pk=team.pk).exists()
    (team_deleted,) = entries("team.delete", team.pk)
    assert team_deleted.before["code"] == "SH-MOTOR" and team_deleted.after is None

    r = staff.post(f"/admin/accounts/branch/{branch.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert entries("branch.delete", branch.pk)
    # The audit trail replaces Django's LogEntry, which the admin no longer writes.
    from django.contrib.admin.models import LogEntry

    assert not LogEntry.objects.exists()
    assert_chain_ok()


def test_team_inline_on_branch_is_audited(staff: Client):
    r = staff.post(
        "/admin/accounts/branch/add/",
        {
            "code": "GZ",
            "name": "广州分公司",
            **management("teams", 1),
            "teams-0-code": "GZ-HEALTH",
            "teams-0-name": "健康险组",
        },
    )
    assert r.status_code == 302
    team = Team.objects.get(code="GZ-HEALTH")
    assert team.branch.code == "GZ"
    assert entries("team.create", team.pk)
    assert_chain_ok()


def product_form(coverages: list[dict[str, Any]], initial: int = 0, **product: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": "HOME-1",
        "name": "安居家财险",
        "line": "property",
        "description": "",
        "is_active": "on",
        **product,
        **management("coverages", len(coverages), initial),
    }
    for i, cov in enumerate(coverages):
        for key, value in cov.items():
            data[f"coverages-{i}-{key}"] = value
    return data


FIRE = {
    "code": "fire",
    "name": "火灾",
    "limit": "500000.00",
    "deductible": "1000.00",
    "currency": "CNY",
    "loss_types": ["fire"],
}
WATER = {
    "code": "water",
    "name": "水渍",
    "limit": "20000.00",
    "deductible": "200.00",
    "currency": "CNY",
    "loss_types": ["water_damage", "burglary"],
}


def test_product_with_inline_coverages_create_edit_delete(staff: Client):
    r = staff.post("/admin/policies/product/add/", product_form([FIRE, WATER]))
    assert r.status_code == 302, r.context and [f.errors for f in r.context["inline_admin_formsets"][0].formset]
    product = Product.objects.get(code="HOME-1")
    fire, water = product.coverages.order_by("code")
    assert water.loss_types == ["water_damage", "burglary"]
    assert entries("product.create", product.pk)[0].after["line"] == "property"
    fire_created = entries("coverage.create", fire.pk)[0]
    assert fire_created.before is None
    assert fire_created.after["limit"] == "500000.00" and fire_created.after["product_id"] == product.pk
    assert entries("coverage.create", water.pk)

    # Edit: raise the fire deductible, delete the water cover, add a glass cover — like the browser does.
    glass = {"code": "glass", "name": "玻璃", "limit": "5000.00", "deductible": "0", "currency": "CNY"}
    data = product_form(
        [
            {**FIRE, "id": fire.pk, "product": product.pk, "deductible": "2000.00"},
            {**WATER, "id": water.pk, "product": product.pk, "DELETE": "on"},
            glass,
        ],
        initial=2,
        name="安居家财险 2025",
    )
    r = staff.post(f"/admin/policies/product/{product.pk}/change/", data)
    assert r.status_code == 302, r.context and [f.errors for f in r.context["inline_admin_formsets"][0].formset]
    (product_updated,) = entries("product.update", product.pk)
    assert product_updated.before["name"] == "安居家财险" and product_updated.after["name"] == "安居家财险 2025"
    (fire_updated,) = entries("coverage.update", fire.pk)
    assert fire_updated.before["deductible"] == "1000.00" and fire_updated.after["deductible"] == "2000.00"
    (water_deleted,) = entries("coverage.delete", water.pk)
    assert water_deleted.before["code"] == "water"
    new_glass = Coverage.objects.get(product=product, code="glass")
    assert entries("coverage.create", new_glass.pk)
    assert not Coverage.objects.filter(pk=water.pk).exists()

    # Delete the product: each coverage is deleted and audited before the product itself.
    r = staff.get(f"/admin/policies/product/{product.pk}/delete/")
    assert r.status_code == 200
    r = staff.post(f"/admin/policies/product/{product.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert not Product.objects.filter(pk=product.pk).exists()
    assert entries("coverage.delete", fire.pk) and entries("coverage.delete", new_glass.pk)
    (product_deleted,) = entries("product.delete", product.pk)
    assert product_deleted.seq > entries("coverage.delete", fire.pk)[0].seq
    assert_chain_ok()


def test_deductible_not_below_limit_shows_the_error_and_writes_nothing(staff: Client):
    before = AuditEntry.objects.count()
    bad = {**FIRE, "deductible": "500000.00"}
    r = staff.post("/admin/policies/product/add/", product_form([bad, WATER]))
    assert r.status_code == 200
    formset = r.context["inline_admin_formsets"][0].formset
    assert "deductible" in formset.forms[0].errors
    assert not formset.forms[1].errors
    assert not Product.objects.filter(code="HOME-1").exists()
    assert not Coverage.objects.filter(code="fire").exists()
    assert AuditEntry.objects.count() == before

    # And on an existing product the row keeps its old values.
    product = factories.product()
    cover = product.coverages.get()
    before = AuditEntry.objects.count()
    data = product_form(
        [
            {
                "id": cover.pk,
                "product": product.pk,
                "code": cover.code,
                "name": cover.name,
                "limit": "100000.00",
                "deductible": "100000.00",
                "currency": "CNY",
                "loss_types": cover.loss_types,
            }
        ],
        initial=1,
        code=product.code,
        name=product.name,
        line=product.line,
    )
    r = staff.post(f"/admin/policies/product/{product.pk}/change/", data)
    assert r.status_code == 200
    assert "deductible" in r.context["inline_admin_formsets"][0].formset.forms[0].errors
    assert b"errornote" in r.content or b"error" in r.content
    cover.refresh_from_db()
    assert str(cover.deductible) == "500.00"
    assert AuditEntry.objects.count() == before


def test_bulk_delete_action_is_audited(staff: Client):
    a = factories.branch("AA")
    b = factories.branch("BB")
    r = staff.post(
        "/admin/accounts/branch/",
        {"action": "delete_selected", "_selected_action": [a.pk, b.pk]},
    )
    assert r.status_code == 200  # the confirmation page
    assert not entries("branch.delete")
    r = staff.post(
        "/admin/accounts/branch/",
        {"action": "delete_selected", "_selected_action": [a.pk, b.pk], "post": "yes"},
    )
    assert r.status_code == 302
    assert not Branch.objects.filter(pk__in=[a.pk, b.pk]).exists()
    deleted = entries("branch.delete")
    assert {e.object_id for e in deleted} == {str(a.pk), str(b.pk)}
    assert all(e.before and e.before["code"] in ("AA", "BB") for e in deleted)
    assert_chain_ok()


def test_history_opens_the_audit_trail(staff: Client):
    branch = factories.branch("HZ")
    r = staff.get(f"/admin/accounts/branch/{branch.pk}/history/")
    assert r.status_code == 302
    assert r["Location"].startswith("/admin/core/auditentry/?")
    r = staff.get(r["Location"])
    assert r.status_code == 200
    assert list(r.context["cl"].result_list) == entries("branch.create", branch.pk)


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.COMPLIANCE, Role.AUDITOR])
def test_viewing_roles_can_look_but_not_change(role: str, root: User):
    branch = factories.branch("BJ")
    product = factories.product()
    viewer = login(factories.user(role))
    for url in ("/admin/", "/admin/accounts/branch/", f"/admin/accounts/branch/{branch.pk}/change/"):
        assert viewer.get(url).status_code == 200, url
    assert viewer.get("/admin/policies/product/").status_code == 200
    assert viewer.get("/admin/core/auditentry/").status_code == 200
    assert viewer.get(f"/admin/accounts/user/{root.pk}/change/").status_code == 200

    before = AuditEntry.objects.count()
    assert viewer.get("/admin/accounts/branch/add/").status_code == 403
    assert (
        viewer.post("/admin/accounts/branch/add/", {"code": "X", "name": "X", **management("teams", 0)}).status_code
        == 403
    )
    r = viewer.post(
        f"/admin/accounts/branch/{branch.pk}/change/", {"code": "BJ", "name": "hacked", **management("teams", 0)}
    )
    assert r.status_code == 403
    assert viewer.post(f"/admin/accounts/branch/{branch.pk}/delete/", {"post": "yes"}).status_code == 403
    assert viewer.post(f"/admin/policies/product/{product.pk}/change/", {}).status_code == 403
    assert viewer.get("/admin/accounts/user/add/").status_code == 403
    assert viewer.post(f"/admin/accounts/user/{root.pk}/password/", {}).status_code == 403
    r = viewer.post(
        "/admin/accounts/branch/", {"action": "delete_selected", "_selected_action": [branch.pk], "post": "yes"}
    )
    assert Branch.objects.filter(pk=branch.pk, name="BJ branch").exists()
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize("role", [Role.HANDLER, Role.REVIEWER, Role.CUSTOMER, Role.PARTNER])
def test_other_roles_do_not_enter_the_back_office(role: str, db: Any):
    user = factories.user(role)
    client = login(user)
    r = client.get("/admin/accounts/branch/")
    assert r.status_code == 302 and "/admin/login/" in r["Location"]


def test_admin_role_without_superuser_can_edit_but_not_make_superusers(root: User):
    admin_user = factories.user(Role.ADMIN)
    assert admin_user.is_staff and not admin_user.is_superuser
    client = login(admin_user)
    r = client.post("/admin/accounts/branch/add/", {"code": "CD", "name": "成都", **management("teams", 0)})
    assert r.status_code == 302
    assert entries("branch.create")[0].actor_id == admin_user.pk
    # A superuser's account is out of reach for a non-superuser administrator.
    assert client.post(f"/admin/accounts/user/{root.pk}/change/", {}).status_code == 403
    assert client.post(f"/admin/accounts/user/{root.pk}/password/", {}).status_code == 403


def user_form(user: User, **changes: Any) -> dict[str, Any]:
    data = {
        "username": user.username,
        "role": user.role,
        "branch": user.branch_id or "",
        "team": user.team_id or "",
        "lines": list(user.lines),
        "partner": user.partner_id or "",
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "is_demo": "on" if user.is_demo else "",
        "is_superuser": "on" if user.is_superuser else "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v not in ("", None)}


def no_password_in_audit() -> None:
    for entry in AuditEntry.objects.all():
        text = json.dumps([entry.before, entry.after])
        assert "pbkdf2" not in text and "argon2" not in text and "Secret-pass" not in text and "New-pass" not in text


def test_user_create_update_and_password_change_are_audited_without_the_hash(staff: Client):
    team = factories.team()
    r = staff.post(
        "/admin/accounts/user/add/",
        {
            "username": "wang.fang",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "role": Role.HANDLER,
            "branch": team.branch_id,
            "team": team.pk,
            "lines": ["motor", "property"],
            "first_name": "芳",
            "last_name": "王",
        },
    )
    assert r.status_code == 302, r.context and r.context["adminform"].form.errors
    user = User.objects.get(username="wang.fang")
    assert user.role == Role.HANDLER and user.lines == ["motor", "property"] and user.team == team
    assert user.check_password(PASSWORD) and not user.is_staff
    (created,) = entries("user.create", user.pk)
    assert created.actor_label == "root"

    r = staff.post(f"/admin/accounts/user/{user.pk}/change/", user_form(user, role=Role.SUPERVISOR, lines=["motor"]))
    assert r.status_code == 302, r.context and r.context["adminform"].form.errors
    user.refresh_from_db()
    assert user.role == Role.SUPERVISOR and user.lines == ["motor"]
    assert user.is_staff  # back-office access follows the role
    (updated,) = entries("user.update", user.pk)
    assert updated.before["role"] == "handler" and updated.after["role"] == "supervisor"
    assert updated.before["lines"] == ["motor", "property"] and updated.after["lines"] == ["motor"]
    assert "password" not in updated.before and "password" not in updated.after

    r = staff.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"usable_password": "true", "password1": "New-pass-4567", "password2": "New-pass-4567", "set-password": "1"},
    )
    assert r.status_code == 302, r.context and r.context["form"].errors
    user.refresh_from_db()
    assert user.check_password("New-pass-4567")
    (changed,) = entries("user.set_password", user.pk)
    assert changed.after == {"usable_password": True} and changed.actor_label == "root"
    no_password_in_audit()
    assert_chain_ok()


def test_user_form_checks_team_belongs_to_branch(staff: Client):
    other = factories.branch("SZ")
    team = factories.team()  # in BJ
    r = staff.post(
        "/admin/accounts/user/add/",
        {
            "username": "li.lei",
            "usable_password": "false",
            "role": Role.HANDLER,
            "branch": other.pk,
            "team": team.pk,
        },
    )
    assert r.status_code == 200
    assert "team" in r.context["adminform"].form.errors
    assert not User.objects.filter(username="li.lei").exists()


def test_weak_password_is_refused(staff: Client):
    user = factories.user(Role.AUDITOR)
    before = AuditEntry.objects.count()
    r = staff.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"usable_password": "true", "password1": "123", "password2": "123", "set-password": "1"},
    )
    assert r.status_code == 200
    assert r.context["form"].errors
    assert AuditEntry.objects.count() == before
    # Disabling password sign-in is audited too.
    r = staff.post(f"/admin/accounts/user/{user.pk}/password/", {"usable_password": "false", "unset-password": "1"})
    assert r.status_code == 302
    user.refresh_from_db()
    assert not user.has_usable_password()
    (disabled,) = entries("user.set_password", user.pk)
    assert disabled.after == {"usable_password": False}


def test_customer_pages_never_show_the_clear_identifiers(staff: Client, db: Any):
    customer = factories.customer()
    factories.policy(holder=customer)
    clear_id = customer.id_number
    local_phone = customer.phone.removeprefix("+86")
    for url in (
        "/admin/policies/customer/",
        f"/admin/policies/customer/{customer.pk}/change/",
        f"/admin/policies/customer/?q={customer.name}",
        "/admin/core/auditentry/",
        f"/admin/core/auditentry/{AuditEntry.objects.get(action='customer.create', object_id=str(customer.pk)).pk}/change/",
        "/admin/policies/policy/",
    ):
        r = staff.get(url)
        assert r.status_code == 200, url
        content = r.content.decode()
        assert clear_id not in content, url
        assert local_phone not in content, url
        assert customer.birth_date.isoformat() not in content, url
    r = staff.get(f"/admin/policies/customer/{customer.pk}/change/")
    assert customer.id_number_masked in r.content.decode()
    assert customer.phone_masked in r.content.decode()
    # Customers, policies and claims are looked up, not edited, here.
    assert staff.get("/admin/policies/customer/add/").status_code == 403
    assert staff.post(f"/admin/policies/customer/{customer.pk}/change/", {"name": "x"}).status_code == 403
    assert staff.post(f"/admin/policies/customer/{customer.pk}/delete/", {"post": "yes"}).status_code == 403


def test_audit_entries_cannot_be_added_changed_or_deleted(staff: Client):
    staff.post("/admin/accounts/branch/add/", {"code": "XA", "name": "西安", **management("teams", 0)})
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "branch.create" and entry.request_id
    assert staff.get("/admin/core/auditentry/").status_code == 200
    r = staff.get(f"/admin/core/auditentry/{entry.pk}/change/")
    assert r.status_code == 200
    assert b'name="_save"' not in r.content
    assert staff.get("/admin/core/auditentry/add/").status_code == 403
    assert staff.post(f"/admin/core/auditentry/{entry.pk}/change/", {"action": "x"}).status_code == 403
    assert staff.post(f"/admin/core/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    r = staff.post(
        "/admin/core/auditentry/", {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
    # Filters and search.
    r = staff.get("/admin/core/auditentry/", {"action": "branch.create"})
    assert {e.action for e in r.context["cl"].result_list} == {"branch.create"}
    r = staff.get("/admin/core/auditentry/", {"object_type": "accounts.branch"})
    assert {e.object_type for e in r.context["cl"].result_list} == {"accounts.branch"}
    r = staff.get("/admin/core/auditentry/", {"q": entry.request_id})
    assert entry in list(r.context["cl"].result_list)
    r = staff.get("/admin/core/auditentry/verify-chain/", follow=True)
    assert r.status_code == 200
    assert b"Audit chain intact" in r.content
    assert_chain_ok()


def test_api_tokens_are_listed_and_revoked_through_the_service(staff: Client):
    owner = factories.user(Role.PARTNER)
    token, _raw = token_create(actor=None, user=owner, name="hospital feed")
    r = staff.get("/admin/accounts/apitoken/")
    assert r.status_code == 200
    assert b"token create" in r.content  # tokens are created with the CLI
    assert staff.get("/admin/accounts/apitoken/add/").status_code == 403
    r = staff.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert r.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    (revoked,) = entries("api_token.revoke", token.pk)
    assert revoked.actor_label == "root"
    assert ApiToken.objects.count() == 1
    assert_chain_ok()


def test_supervisor_cannot_revoke_tokens(db: Any):
    owner = factories.user(Role.PARTNER)
    token, _raw = token_create(actor=None, user=owner)
    viewer = login(factories.user(Role.SUPERVISOR))
    assert viewer.get("/admin/accounts/apitoken/").status_code == 200
    viewer.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is None


def test_claims_are_read_only_and_scoped(world: dict[str, Any], staff: Client):
    claim = claim_submit(
        actor=world["customer"],
        policy_number=world["policy"].number,
        incident_at=timezone.now() - dt.timedelta(hours=2),
        incident_place="北京市朝阳区建国路88号",
        loss_type="collision",
        claimed_amount="8200.00",
    ).claim
    r = staff.get("/admin/claims/claim/")
    assert r.status_code == 200
    assert claim.number.encode() in r.content
    r = staff.get(f"/admin/claims/claim/{claim.pk}/change/")
    assert r.status_code == 200
    assert b'name="status"' not in r.content and b'name="_save"' not in r.content
    assert staff.post(f"/admin/claims/claim/{claim.pk}/change/", {"status": "paid"}).status_code == 403
    assert staff.get("/admin/claims/claim/add/").status_code == 403
    claim.refresh_from_db()
    assert claim.status == "reported"
    # A supervisor of another branch does not see the claim.
    elsewhere = login(factories.user(Role.SUPERVISOR, branch=factories.branch("CQ")))
    r = elsewhere.get("/admin/claims/claim/")
    assert r.status_code == 200 and claim.number.encode() not in r.content
    assert elsewhere.get(f"/admin/claims/claim/{claim.pk}/change/").status_code == 302  # "does not exist"
    # The auditor (no branch) sees it.
    r = login(world["auditor"]).get("/admin/claims/claim/", {"status__exact": "reported"})
    assert claim.number.encode() in r.content


def test_product_coverage_loss_types_are_choices(staff: Client):
    r = staff.get("/admin/policies/product/add/")
    assert r.status_code == 200
    assert b'value="water_damage"' in r.content
    r = staff.post("/admin/policies/product/add/", product_form([{**FIRE, "loss_types": ["no_such_loss"]}]))
    assert r.status_code == 200
    assert "loss_types" in r.context["inline_admin_formsets"][0].formset.forms[0].errors


def test_sidebar_and_index_render_for_viewers(db: Any):
    client = login(factories.user(Role.AUDITOR))
    r = client.get("/admin/")
    assert r.status_code == 200
    assert b"/admin/core/auditentry/" in r.content
    assert b"/admin/accounts/branch/" in r.content


def _queries(client: Client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200, url
    return len(ctx.captured_queries)


LIST_PAGES = (
    "/admin/claims/claim/",
    "/admin/policies/customer/",
    "/admin/policies/policy/",
    "/admin/policies/product/",
    "/admin/accounts/user/",
    "/admin/accounts/branch/",
    "/admin/accounts/team/",
    "/admin/accounts/apitoken/",
    "/admin/core/auditentry/",
)


def test_list_pages_do_not_query_per_row(world: dict[str, Any], staff: Client):
    """Pinned: a list page costs the same number of queries for 1 row as for many."""

    def add_rows(n: int) -> None:
        for _ in range(n):
            holder = factories.customer()
            policy = factories.policy(holder=holder)
            claim_submit(
                actor=holder.user,
                policy_number=policy.number,
                incident_at=timezone.now() - dt.timedelta(hours=2),
                incident_place="北京",
                loss_type="collision",
                claimed_amount="100.00",
            )
            token_create(actor=None, user=holder.user)
            factories.team(f"T{policy.pk}")

    add_rows(1)
    few = {url: _queries(staff, url) for url in LIST_PAGES}
    add_rows(4)
    many = {url: _queries(staff, url) for url in LIST_PAGES}
    assert many == few
