/* Relationship map: draws the JSON graph of the admin's customer-map-data
 * endpoint with cytoscape.js. No inline script: the page passes its configuration in
 * data- attributes of #relationship-map, so it runs under a strict CSP. */
(function () {
  "use strict";

  var container = document.getElementById("relationship-map");
  if (!container || typeof window.cytoscape !== "function") {
    return;
  }
  var summary = document.getElementById("relationship-summary");
  var changeTemplate = container.getAttribute("data-change-url-template") || "";

  var RISK_COLOURS = {
    low: "#2e7d32",
    medium: "#f9a825",
    high: "#c62828",
    unknown: "#90a4ae"
  };

  function setStatus(text, isError) {
    container.textContent = "";
    var p = document.createElement("p");
    p.className = "relationship-map-status" + (isError ? " errornote" : "");
    p.textContent = text;
    container.appendChild(p);
  }

  function elementsOf(graph) {
    var elements = [];
    graph.nodes.forEach(function (node) {
      var classes = [node.kind];
      if (node.kind === "customer") {
        classes.push(node.accountType, "risk-" + node.risk);
        if (node.center) { classes.push("center"); }
        if (node.derivedUbo) { classes.push("derived-ubo"); }
        if (node.inactive) { classes.push("inactive"); }
        node.url = changeTemplate.replace("__pk__", String(node.pk));
      }
      elements.push({ group: "nodes", data: node, classes: classes.join(" ") });
    });
    graph.edges.forEach(function (edge) {
      var classes = ["role-" + String(edge.role || "more").toLowerCase()];
      if (edge.highlighted) { classes.push("ubo-path"); }
      elements.push({ group: "edges", data: edge, classes: classes.join(" ") });
    });
    return elements;
  }

  var STYLE = [
    {
      selector: "node",
      style: {
        "label": "data(label)",
        "font-size": 11,
        "text-valign": "bottom",
        "text-margin-y": 4,
        "text-wrap": "wrap",
        "text-max-width": 140,
        "color": "#222",
        "width": 34,
        "height": 34,
        "border-width": 3
      }
    },
    { selector: "node.person", style: { "shape": "ellipse", "border-color": "#1565c0" } },
    { selector: "node.company", style: { "shape": "round-rectangle", "width": 44, "border-color": "#6a1b9a" } },
    { selector: "node.risk-low", style: { "background-color": RISK_COLOURS.low } },
    { selector: "node.risk-medium", style: { "background-color": RISK_COLOURS.medium } },
    { selector: "node.risk-high", style: { "background-color": RISK_COLOURS.high } },
    { selector: "node.risk-unknown", style: { "background-color": RISK_COLOURS.unknown } },
    { selector: "node.center", style: { "border-width": 6, "font-weight": "bold", "width": 52, "height": 40 } },
    { selector: "node.derived-ubo", style: { "border-color": "#d81b60", "border-style": "double", "border-width": 7 } },
    { selector: "node.inactive", style: { "opacity": 0.55 } },
    {
      selector: "node.more",
      style: {
        "shape": "tag",
        "background-color": "#eceff1",
        "border-color": "#78909c",
        "border-style": "dashed",
        "border-width": 2,
        "width": 60,
        "height": 24,
        "text-valign": "center",
        "text-margin-y": 0
      }
    },
    {
      selector: "edge",
      style: {
        "width": 2,
        "curve-style": "bezier",
        "line-color": "#90a4ae",
        "target-arrow-color": "#90a4ae",
        "target-arrow-shape": "triangle",
        "label": "data(label)",
        "font-size": 9,
        "text-rotation": "autorotate",
        "text-background-color": "#ffffff",
        "text-background-opacity": 0.85,
        "text-background-padding": 2
      }
    },
    { selector: "edge.role-shareholder, edge.role-ubo", style: { "line-color": "#546e7a", "target-arrow-color": "#546e7a" } },
    { selector: "edge.role-director, edge.role-authorized_person", style: { "line-style": "dashed" } },
    { selector: "edge.role-more", style: { "line-style": "dotted", "target-arrow-shape": "none" } },
    { selector: "edge.ubo-path", style: { "width": 5, "line-color": "#d81b60", "target-arrow-color": "#d81b60", "z-index": 10 } }
  ];

  function describe(graph) {
    var customers = graph.nodes.filter(function (n) { return n.kind === "customer"; }).length;
    var text = customers + " customers and " + graph.edges.length + " connections on " +
      graph.asOf + " (depth " + graph.depth + ").";
    if (graph.derivedUbos.length) {
      text += " Derived UBOs (≥ " + graph.threshold + "%): " + graph.derivedUbos.map(function (u) {
        return u.name + " " + u.effectiveOwnership + "%";
      }).join(", ") + ".";
    }
    if (graph.cycles.length) {
      text += " Circular holdings: " + graph.cycles.map(function (c) { return c.join(" → "); }).join("; ") + ".";
    }
    return text;
  }

  function render(graph) {
    container.textContent = "";
    var cy = window.cytoscape({
      container: container,
      elements: elementsOf(graph),
      style: STYLE,
      layout: {
        name: "breadthfirst",
        directed: false,
        roots: "#" + graph.center,
        spacingFactor: 1.2,
        padding: 24,
        animate: false
      },
      wheelSensitivity: 0.3,
      minZoom: 0.1,
      maxZoom: 3
    });
    cy.on("tap", "node.customer", function (event) {
      var url = event.target.data("url");
      if (url) { window.location.assign(url); }
    });
    cy.on("mouseover", "node.customer", function () { container.style.cursor = "pointer"; });
    cy.on("mouseout", "node", function () { container.style.cursor = ""; });
    // For people and for the browser test: what was drawn.
    container.setAttribute("data-nodes", String(cy.nodes().length));
    container.setAttribute("data-edges", String(cy.edges().length));
    container.setAttribute("data-ready", "true");
    if (summary) { summary.textContent = describe(graph); }
    window.relationshipMap = cy;
  }

  fetch(container.getAttribute("data-graph-url"), {
    credentials: "same-origin",
    headers: { "Accept": "application/json" }
  })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    })
    .then(render)
    .catch(function (error) {
      setStatus("The relationship map could not be loaded (" + error.message + ").", true);
    });
})();
