"""The dashboard (admin index): counts scoped like the lists, each linking to the list
that shows exactly those rows; recent activity in words."""

import re

import pytest
from django.urls import reverse

from customers.models import OnboardingStatus, RiskLevel
from imports.models import BulkUpload
from kyc.models import Session, SessionStatus
from kycregistry.jobs import JobStatus
from organisations.audit import Channel, audit_context
from relations.models import Role
from screening.models import HitStatus, ScreeningHit, WatchlistEntry
from tests.admin_support import make_staff, make_superuser
from tests.factories import CompanyFactory, ConnectionFactory, PersonFactory
from tests.screening.factories import screening_hit_for

pytestmark = pytest.mark.django_db

LABELS = [
    "Pending onboarding",
    "Needs review",
    "High risk",
    "Open screening hits",
    "KYC sessions in review",
    "Bulk uploads running",
    "Bulk uploads failed",
]


def seed(org, n):
    """Per organisation: `n` of each thing the dashboard counts, and one of each that
    it must not count. Returns the pks each count must list."""
    approved = {"onboarding_status": OnboardingStatus.APPROVED}
    pending = [PersonFactory(organisation=org) for _ in range(n)]
    review = [CompanyFactory(organisation=org, needs_review=True, **approved) for _ in range(n)]
    high = [
        PersonFactory(organisation=org, risk_level=RiskLevel.HIGH, risk_score=80, **approved)
        for _ in range(n)
    ]
    PersonFactory(organisation=org, risk_level=RiskLevel.LOW, risk_score=5, **approved)
    hits = [screening_hit_for(high[0])]
    watchlist = hits[0].entry.watchlist
    for customer in [*high[1:], review[0]]:
        entry = WatchlistEntry.objects.create(
            watchlist=watchlist,
            source_id=f"e-{customer.pk}",
            schema="Person",
            name=customer.name,
            digest="d" * 32,
            version=1,
        )
        hits.append(
            ScreeningHit.objects.create(
                organisation=org,
                customer=customer,
                party=customer,
                role="SELF",
                entry=entry,
                score=0.9,
                entry_digest=entry.digest,
            )
        )
    dismissed = hits.pop()
    dismissed.status = HitStatus.DISMISSED
    dismissed.save()
    sessions = [
        Session.objects.create(organisation=org, customer=c, status=SessionStatus.REVIEW)
        for c in pending
    ]
    Session.objects.create(organisation=org, customer=high[0], status=SessionStatus.APPROVED)

    def upload(status):
        return BulkUpload.objects.create(organisation=org, file_name="a.xlsx", status=status)

    running = [upload(JobStatus.RUNNING) for _ in range(n)]
    failed = [upload(JobStatus.FAILED) for _ in range(n)]
    upload(JobStatus.COMPLETED)
    return [pending, review, high, hits, sessions, running, failed]


def pks(rows):
    return {row.pk for row in rows}


def test_staff_counts_are_their_organisations_and_link_to_exactly_those_rows(
    client, org, other_org
):
    mine = seed(org, 2)
    seed(other_org, 3)
    client.force_login(make_staff(org))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    counts = response.context["dashboard_counts"]
    assert [(c.label, c.count) for c in counts] == [(label, 2) for label in LABELS]
    for count, expected in zip(counts, mine, strict=True):
        listed = client.get(count.url)
        assert listed.status_code == 200, count.url
        assert pks(listed.context["cl"].result_list) == pks(expected), count.label
        assert f'href="{count.url.replace("&", "&amp;")}"' in response.content.decode()


def test_superuser_counts_every_organisation(client, org, other_org):
    seed(org, 2)
    seed(other_org, 3)
    client.force_login(make_superuser())
    counts = client.get(reverse("admin:index")).context["dashboard_counts"]
    assert [(c.label, c.count) for c in counts] == [(label, 5) for label in LABELS]


def test_staff_without_membership_counts_nothing(client, other_org):
    seed(other_org, 1)
    client.force_login(make_staff(None, username="nobody"))
    response = client.get(reverse("admin:index"))
    assert response.context["dashboard_counts"] == []
    assert response.context["recent_activity"] == []


def test_recent_activity_in_words_with_links_and_never_another_organisations(
    client, org, other_org
):
    officer = make_staff(org, username="olivia")
    company = CompanyFactory(organisation=org, name="Acme Holding")
    person = PersonFactory(organisation=org, name="Jane Doe")
    with audit_context(channel=Channel.ADMIN, user=officer):
        ConnectionFactory(customer=company, connected_customer=person, role=Role.UBO)
    PersonFactory(organisation=other_org, name="Secret Outsider")
    client.force_login(officer)
    response = client.get(reverse("admin:index"))
    activity = response.context["recent_activity"]
    latest = activity[0]
    assert (latest.actor.label, latest.action, latest.kind, latest.subject) == (
        "olivia",
        "created",
        "connection",
        "Jane Doe — UBO of Acme Holding",
    )
    assert latest.url == reverse("admin:customers_customer_change", args=[company.pk])
    assert {a.subject for a in activity[1:]} == {str(company), str(person)}
    assert "Secret Outsider" not in response.content.decode()


@pytest.mark.parametrize("page", ["index", "list", "change", "history"])
def test_pages_need_no_inline_style_or_script(client, org, page):
    """The frame's pages keep to a CSP without 'unsafe-inline' for styles or scripts."""
    customer = PersonFactory(organisation=org, risk_level=RiskLevel.HIGH, risk_score=80)
    client.force_login(make_staff(org))
    url = {
        "index": reverse("admin:index"),
        "list": reverse("admin:customers_customer_changelist"),
        "change": reverse("admin:customers_customer_change", args=[customer.pk]),
        "history": reverse("admin:customers_customer_history", args=[customer.pk]),
    }[page]
    content = client.get(url).content.decode()
    if page in ("list", "change"):
        assert 'class="risk-badge risk-high"' in content  # the badge is there, classed
    assert " style=" not in content
    assert "<style" not in content
    assert not re.search(r"<script(?![^>]*\bsrc=)", content)


def test_root_redirects_to_the_admin(client):
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/admin/")


def test_activity_names_sessions_and_hits_by_their_customer(client, org):
    person = PersonFactory(organisation=org, name="Jane Doe")
    session = Session.objects.create(organisation=org, customer=person)
    hit = screening_hit_for(person)
    client.force_login(make_superuser())
    activity = client.get(reverse("admin:index")).context["recent_activity"]
    words = {(a.kind, a.subject, a.url) for a in activity}
    session_url = reverse("admin:kyc_session_change", args=[session.pk])
    assert ("session", "of Jane Doe", session_url) in words
    assert (
        "screening hit",
        f"Jane Doe ~ {hit.entry.name}",
        reverse("admin:screening_screeninghit_change", args=[hit.pk]),
    ) in words
