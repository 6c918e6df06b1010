"""The relationship map in a real browser (system Chromium): nodes and edges render
under the strict CSP, and clicking a customer opens its admin page."""

import re

import pytest

from relations.models import Role
from tests.relations.ownership_helpers import company, owns, person, role

RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
def network(e2e_org):
    org = e2e_org
    target = company(org, "T", "Target Ltd", risk_score=60, risk_level="High risk")
    hold = company(org, "H", "HoldCo Ltd", risk_score=30, risk_level="Medium risk")
    jane = person(org, "JANE", "Jane Doe", risk_score=10, risk_level="Low risk")
    owns(hold, target, 60)
    owns(jane, hold, 50)
    role(person(org, "DIR", "Dee Rector"), target, Role.DIRECTOR)
    return {"target": target, "jane": jane}


def test_map_renders_and_a_click_opens_the_customer(admin_page, network):
    page, base = admin_page, admin_page.base_url
    errors: list[str] = []
    failed: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "response",
        lambda r: failed.append(r.url) if r.status >= 400 and "favicon" not in r.url else None,
    )
    page.add_init_script(RECORD_CSP_VIOLATIONS)

    target, jane = network["target"], network["jane"]
    page.goto(f"{base}/admin/customers/customer/{target.pk}/map/?depth=2")
    graph = page.locator("#relationship-map[data-ready=true]")
    graph.wait_for(timeout=15_000)
    assert graph.get_attribute("data-nodes") == "4"
    assert graph.get_attribute("data-edges") == "3"
    assert page.locator("#relationship-map canvas").count() >= 1
    drawn = page.evaluate(
        """() => ({
          nodes: window.relationshipMap.nodes().map(n => n.data("referenceId")).sort(),
          labels: window.relationshipMap.edges().map(e => e.data("label")).sort(),
          highlighted: window.relationshipMap.edges(".ubo-path").length,
          visible: window.relationshipMap.nodes().filter(n => n.visible()).length,
        })"""
    )
    assert drawn == {
        "nodes": ["DIR", "H", "JANE", "T"],
        "labels": ["DIRECTOR", "SHAREHOLDER 50%", "SHAREHOLDER 60%"],
        "highlighted": 2,
        "visible": 4,
    }
    summary = page.locator("#relationship-summary").inner_text()
    assert "Derived UBOs (≥ 25%): Jane Doe 30%." in summary

    # Click Jane's node where cytoscape drew it.
    position = page.evaluate(
        """(pk) => {
          const node = window.relationshipMap.getElementById(String(pk));
          const box = document.getElementById("relationship-map").getBoundingClientRect();
          const p = node.renderedPosition();
          return {x: box.left + p.x, y: box.top + p.y};
        }""",
        jane.pk,
    )
    page.mouse.click(position["x"], position["y"])
    page.wait_for_url(re.compile(rf".*/admin/customers/customer/{jane.pk}/change/$"))
    assert "Jane Doe" in page.content()

    assert page.evaluate("() => window.__cspViolations || []") == []
    assert failed == []
    # The browser's favicon request is the only 404 it may log.
    assert [e for e in errors if "Failed to load resource" not in e] == []
