"""The relationship map in a real browser (system Chromium): nodes and edges render
under the strict CSP, and clicking a customer opens its admin page."""

import json
import re
from pathlib import Path

import pytest

from customers.models import Customer
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


VIEWPORT = {"width": 1280, "height": 800}
# node boxes (labels included) and edge segments, as drawn, in model coordinates
DRAWN_GEOMETRY = """() => {
  const cy = window.relationshipMap;
  const box = (b) => ({x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2});
  return {
    nodes: cy.nodes().map(n => ({id: n.id(), ref: n.data("referenceId") || n.data("label"),
                                 box: box(n.boundingBox({includeLabels: true}))})),
    edges: cy.edges().map(e => ({source: e.source().id(), target: e.target().id(),
                                 points: [e.sourceEndpoint(), ...(e.segmentPoints() || []),
                                          e.targetEndpoint()],
                                 caption: e.data("caption"),
                                 label: box(e.boundingBox({includeNodes: false,
                                   includeEdges: false, includeLabels: true}))})),
  };
}"""


@pytest.fixture
def group(e2e_org):
    """Twelve customers: a target with three corporate and two personal shareholders,
    a three-level UBO chain, directors, an authorised person and a subsidiary."""
    org = e2e_org
    target = company(org, "T", "Target Holdings Ltd", risk_score=60, risk_level="High risk")
    alpha = company(org, "A", "Alpha Investments Ltd")
    beta = company(org, "B", "Beta Capital AS")
    mid = company(org, "M", "Mid Holdings GmbH")
    owns(alpha, target, 50)
    owns(beta, target, 25)
    owns(person(org, "CARL", "Carl Direct"), target, 10)
    owns(person(org, "JANE", "Jane Doe"), alpha, 60)
    owns(mid, alpha, 40)
    top = person(org, "TOP", "Tove Top")
    owns(top, mid, 100)
    owns(top, target, 5)  # also a direct holding: an edge that spans ranks
    owns(person(org, "BOB", "Bob Beta"), beta, 100)
    role(person(org, "DIR1", "Dee Rector"), target, Role.DIRECTOR)
    role(person(org, "DIR2", "Dan Director"), target, Role.DIRECTOR)
    role(person(org, "AUTH", "Ann Authorised"), target, Role.AUTHORIZED_PERSON)
    owns(target, company(org, "SUB", "Target Sub Ltd"), 100)
    return target


def _overlap(a: dict, b: dict) -> bool:
    return a["x1"] < b["x2"] and b["x1"] < a["x2"] and a["y1"] < b["y2"] and b["y1"] < a["y2"]


def _segment_crosses_box(p: dict, q: dict, box: dict) -> bool:
    """Liang–Barsky clipping: does the segment p→q enter the box's interior?"""
    dx, dy = q["x"] - p["x"], q["y"] - p["y"]
    low, high = 0.0, 1.0
    for edge_p, edge_q in (
        (-dx, p["x"] - box["x1"]),
        (dx, box["x2"] - p["x"]),
        (-dy, p["y"] - box["y1"]),
        (dy, box["y2"] - p["y"]),
    ):
        if edge_p == 0:
            if edge_q <= 0:
                return False
            continue
        t = edge_q / edge_p
        if edge_p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low >= high:
            return False
    return True


def test_segment_helper_tells_crossing_from_passing():
    box = {"x1": 0, "y1": 0, "x2": 10, "y2": 10}
    assert _segment_crosses_box({"x": -5, "y": 5}, {"x": 15, "y": 5}, box)
    assert _segment_crosses_box({"x": 5, "y": -5}, {"x": 5, "y": 3}, box)
    assert not _segment_crosses_box({"x": -5, "y": 12}, {"x": 15, "y": 12}, box)
    assert not _segment_crosses_box({"x": -5, "y": 5}, {"x": -1, "y": 5}, box)
    assert not _segment_crosses_box({"x": 11, "y": -20}, {"x": 30, "y": 5}, box)


def _draw(page, customer, depth=3) -> dict:
    page.set_viewport_size(VIEWPORT)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.goto(f"{page.base_url}/admin/customers/customer/{customer.pk}/map/?depth={depth}")
    graph = page.locator("#relationship-map[data-ready=true]")
    graph.wait_for(timeout=15_000)
    assert graph.get_attribute("data-layout") == "dagre"
    drawn = page.evaluate(DRAWN_GEOMETRY)
    drawn["by_id"] = {n["id"]: n for n in drawn["nodes"]}
    assert page.evaluate("() => window.__cspViolations || []") == []
    return drawn


def _overlapping_nodes(drawn: dict) -> list[tuple[str, str]]:
    nodes = drawn["nodes"]
    return [
        (a["ref"], b["ref"])
        for i, a in enumerate(nodes)
        for b in nodes[i + 1 :]
        if _overlap(a["box"], b["box"])
    ]


def _edges_through_nodes(drawn: dict) -> list[tuple[str, str, str]]:
    """(source, target, node) for every straight piece of an edge that enters the box
    (label included) of a node other than its two ends."""
    by_id = drawn["by_id"]
    return [
        (by_id[e["source"]]["ref"], by_id[e["target"]]["ref"], n["ref"])
        for e in drawn["edges"]
        for p, q in zip(e["points"], e["points"][1:], strict=False)
        for n in drawn["nodes"]
        if n["id"] not in (e["source"], e["target"]) and _segment_crosses_box(p, q, n["box"])
    ]


def _labels_over_nodes(drawn: dict) -> list[tuple[str, str]]:
    """(edge caption, node) for every edge label whose box overlaps a node's box."""
    return [
        (e["caption"], n["ref"])
        for e in drawn["edges"]
        if e["caption"]
        for n in drawn["nodes"]
        if _overlap(e["label"], n["box"])
    ]


def _bent_edges(drawn: dict) -> list[tuple[str, str]]:
    by_id = drawn["by_id"]
    return sorted(
        (by_id[e["source"]]["ref"], by_id[e["target"]]["ref"])
        for e in drawn["edges"]
        if len(e["points"]) > 2
    )


def test_layout_keeps_nodes_labels_and_edges_apart(admin_page, group):
    drawn = _draw(admin_page, group)
    assert (len(drawn["nodes"]), len(drawn["edges"])) == (12, 12)
    assert _overlapping_nodes(drawn) == []
    assert _edges_through_nodes(drawn) == []
    assert _labels_over_nodes(drawn) == []
    assert sorted(e["caption"] for e in drawn["edges"]) == [
        "10%",
        "100%",
        "100%",
        "100%",
        "25%",
        "40%",
        "5%",
        "50%",
        "60%",
        "Authorised",
        "Director",
        "Director",
    ]
    # The owner who also holds the target directly: that edge bends around the rank
    # between (the others are straight).
    assert _bent_edges(drawn) == [("TOP", "T")]
    # Holders are drawn above what they hold.
    by_id = drawn["by_id"]
    above = [
        (by_id[e["source"]]["ref"], by_id[e["target"]]["ref"])
        for e in drawn["edges"]
        if by_id[e["source"]]["box"]["y2"] > by_id[e["target"]]["box"]["y1"]
    ]
    assert above == []


def test_layout_of_circular_holdings_and_long_chains(admin_page, e2e_org):
    """A circle of three companies, an owner at the top of a four-level chain who also
    holds every level directly, and two wide ranks."""
    org = e2e_org
    target = company(org, "T", "Target Holdings Ltd")
    first, second, third = (company(org, f"C{i}", f"Circle {i} Ltd") for i in (1, 2, 3))
    owns(first, target, 40)
    owns(second, first, 30)
    owns(third, second, 30)
    owns(first, third, 30)  # back to the start: a circle
    chain = [company(org, f"L{i}", f"Level {i} Holdings Ltd") for i in (1, 2, 3)]
    owns(chain[0], target, 30)
    owns(chain[1], chain[0], 50)
    owns(chain[2], chain[1], 50)
    founder = person(org, "F", "Frida Founder")
    for level in [*chain, target]:
        owns(founder, level, 10)
    for i in range(4):
        role(person(org, f"D{i}", f"Director Number {i}"), target, Role.DIRECTOR)
    drawn = _draw(admin_page, target, depth=4)
    assert len(drawn["nodes"]) == 12
    assert _overlapping_nodes(drawn) == []
    assert _edges_through_nodes(drawn) == []
    assert _labels_over_nodes(drawn) == []
    assert {("F", "T"), ("F", "L1"), ("F", "L2")} <= set(_bent_edges(drawn))


def test_map_page_does_not_scroll_sideways(admin_page, group):
    page, base = admin_page, admin_page.base_url
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{base}/admin/customers/customer/{group.pk}/map/?depth=3")
    page.locator("#relationship-map[data-ready=true]").wait_for(timeout=15_000)
    scroll_width, client_width = _no_sideways_scroll(page)
    assert scroll_width <= client_width


def _no_sideways_scroll(page) -> list[int]:
    return page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )


def test_ownership_page_downloads_prints_and_fits(admin_page, group, tmp_path):
    page, base = admin_page, admin_page.base_url
    page.set_viewport_size(VIEWPORT)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.goto(f"{base}/admin/customers/customer/{group.pk}/structure/?asOf=2026-01-15")
    scroll_width, client_width = _no_sideways_scroll(page)
    assert scroll_width <= client_width

    # Discrepancies: kinds in words, the customer a link to its page.
    row = page.locator("#discrepancies tbody tr", has_text="Tove Top")
    assert row.locator("td").nth(1).inner_text() == "Reaches the threshold, but not declared as UBO"
    row.get_by_role("link", name="Tove Top").click()
    top = Customer.objects.get(organisation=group.organisation, reference_id="TOP")
    page.wait_for_url(re.compile(rf".*/admin/customers/customer/{top.pk}/change/$"))
    page.go_back()

    with page.expect_download() as bods_download:
        page.get_by_role("link", name="BODS 0.4 (JSON)").click()
    download = bods_download.value
    assert download.suggested_filename == "T-ownership-bods-2026-01-15.json"
    statements = json.loads(Path(download.path()).read_text())
    entity = next(s for s in statements if s["recordId"].endswith(f"/customer/{group.pk}"))
    assert (entity["recordType"], entity["recordDetails"]["name"]) == (
        "entity",
        "Target Holdings Ltd",
    )
    assert {s["statementDate"] for s in statements} == {"2026-01-15"}
    assert sum(s["recordType"] == "relationship" for s in statements) >= 9

    with page.expect_download() as ftm_download:
        page.get_by_role("link", name="FollowTheMoney (JSON)").click()
    entities = json.loads(Path(ftm_download.value.path()).read_text())
    companies = sorted(e["properties"]["name"][0] for e in entities if e["schema"] == "Company")
    assert "Target Holdings Ltd" in companies
    assert {e["schema"] for e in entities} >= {"Company", "Person", "Ownership", "Directorship"}

    # "Print" opens the print dialog through window.print (stubbed: a headless dialog
    # would not return).
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed++; }; }")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("() => window.__printed") == 1

    page.emulate_media(media="print")
    for chrome in ("#header", ".breadcrumbs", ".object-tools", ".ownership-controls"):
        assert page.locator(chrome).first.is_hidden(), chrome
    assert page.get_by_role("button", name="Print").is_hidden()
    assert page.locator("#derived-ubos").is_visible()
    assert "ownership structure on 2026-01-15" in page.locator(".ownership-print-note").inner_text()
    page.emulate_media(media="screen")
    assert page.locator("#header").is_visible()
    assert page.locator(".ownership-print-note").is_hidden()
    assert page.evaluate("() => window.__cspViolations || []") == []


def test_layout_of_a_wide_fan_out(admin_page, e2e_org):
    """Thirty directors: 25 drawn and one "and 5 more" node, all in one rank."""
    hub = company(e2e_org, "HUB", "Hub Holdings Ltd")
    for i in range(30):
        role(person(e2e_org, f"D{i:02d}", f"Director {i:02d}"), hub, Role.DIRECTOR)
    drawn = _draw(admin_page, hub, depth=1)
    assert len(drawn["nodes"]) == 27
    assert "and 5 more" in {n["ref"] for n in drawn["nodes"]}
    assert _overlapping_nodes(drawn) == []
    assert _edges_through_nodes(drawn) == []
    assert _labels_over_nodes(drawn) == []
