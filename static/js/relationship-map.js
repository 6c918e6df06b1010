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

  var ROLE_WORDS = {
    DIRECTOR: "Director",
    AUTHORIZED_PERSON: "Authorised",
    UBO: "UBO",
    BANK_ACCOUNT: "Bank account",
    ACCOUNT_HOLDER: "Account holder"
  };

  /* What an edge says on the map, kept short so that it fits between two ranks: a
   * shareholding is its percentage (the solid line says it is one), another role its
   * name. The full label ("SHAREHOLDER 60%") stays in the edge's data. */
  function captionOf(edge) {
    var label = String(edge.label || "");
    var percentage = (label.match(/(\S+%)$/) || [])[1] || "";
    if (edge.role === "SHAREHOLDER") { return percentage || "Shareholder"; }
    var word = ROLE_WORDS[edge.role] || label;
    return percentage ? word + " " + percentage : word;
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
      edge.caption = captionOf(edge);
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
        "text-background-color": "#ffffff",
        "text-background-opacity": 0.85,
        "text-background-padding": 2,
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
        "label": "data(caption)",
        "font-size": 10,
        "color": "#37474f",
        "text-background-color": "#ffffff",
        "text-background-opacity": 0.9,
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

  /* Holders above what they hold, in ranks (dagre, a layered layout): nodes and their
   * labels get their own space, and edges mostly join neighbouring ranks, so they do
   * not run through other nodes. Without the dagre extension: a breadth-first tree. */
  function layoutOptions(graph) {
    if (window.cytoscape("layout", "dagre")) {
      return {
        name: "dagre",
        rankDir: "TB",
        nodeDimensionsIncludeLabels: true,
        nodeSep: 36,
        edgeSep: 24,
        rankSep: 90,
        padding: 24,
        fit: true,
        animate: false
      };
    }
    return {
      name: "breadthfirst",
      directed: false,
      roots: "#" + graph.center,
      spacingFactor: 1.2,
      padding: 24,
      animate: false
    };
  }

  var CLEARANCE = 8;  // px between a bent edge and the nodes it passes

  function crosses(p, q, box) {
    // Liang–Barsky: does the segment p→q enter the box?
    var dx = q.x - p.x, dy = q.y - p.y, low = 0, high = 1;
    var checks = [[-dx, p.x - box.x1], [dx, box.x2 - p.x], [-dy, p.y - box.y1], [dy, box.y2 - p.y]];
    for (var i = 0; i < checks.length; i++) {
      var a = checks[i][0], b = checks[i][1];
      if (a === 0) {
        if (b <= 0) { return false; }
        continue;
      }
      var t = b / a;
      if (a < 0) { low = Math.max(low, t); } else { high = Math.min(high, t); }
      if (low >= high) { return false; }
    }
    return true;
  }

  /* Ranks of a top-to-bottom layered layout: the nodes that share a y, with the band
   * their boxes (labels included) cover and the x-spans they take in it. */
  function ranksOf(cy) {
    var byY = {};
    cy.nodes().forEach(function (node) {
      var key = Math.round(node.position("y"));
      var box = node.boundingBox({ includeLabels: true });
      var rank = byY[key] || (byY[key] = { y: node.position("y"), top: box.y1, bottom: box.y2, spans: [] });
      rank.top = Math.min(rank.top, box.y1);
      rank.bottom = Math.max(rank.bottom, box.y2);
      rank.spans.push([box.x1 - CLEARANCE, box.x2 + CLEARANCE]);
    });
    return Object.keys(byY).map(function (key) {
      var rank = byY[key];
      rank.spans.sort(function (a, b) { return a[0] - b[0]; });
      var merged = [];
      rank.spans.forEach(function (span) {
        var last = merged[merged.length - 1];
        if (last && span[0] <= last[1]) { last[1] = Math.max(last[1], span[1]); } else { merged.push(span.slice()); }
      });
      rank.spans = merged;
      return rank;
    });
  }

  function freeX(rank, x) {
    for (var i = 0; i < rank.spans.length; i++) {
      var span = rank.spans[i];
      if (x > span[0] && x < span[1]) {
        return x - span[0] < span[1] - x ? span[0] : span[1];
      }
    }
    return x;
  }

  function clamp(value, low, high) {
    return Math.max(low, Math.min(high, value));
  }

  function xAt(from, to, y) {
    return to.y === from.y ? to.x : from.x + (to.x - from.x) * (y - from.y) / (to.y - from.y);
  }

  /* The bends of an edge from node `source` to node `target` that keep it out of every
   * other node's box: it leaves its own rank within the width of the source's box,
   * crosses each rank between through a gap, and enters the target's rank within the
   * width of the target's box. Between ranks there are no nodes. */
  function bendsOf(source, target, ranks) {
    var s = source.position(), t = target.position();
    var down = t.y > s.y;
    var sourceBox = source.boundingBox({ includeLabels: true });
    var targetBox = target.boundingBox({ includeLabels: true });
    var rankOf = function (y) {
      return ranks.filter(function (rank) { return Math.abs(rank.y - y) < 1; })[0];
    };
    var sourceRank = rankOf(s.y), targetRank = rankOf(t.y);
    if (!sourceRank || !targetRank || sourceRank === targetRank) { return []; }
    var between = ranks.filter(function (rank) {
      return down ? rank.y > s.y + 1 && rank.y < t.y - 1 : rank.y < s.y - 1 && rank.y > t.y + 1;
    }).sort(function (a, b) { return down ? a.y - b.y : b.y - a.y; });

    var points = [];
    var exitY = down ? sourceRank.bottom + CLEARANCE : sourceRank.top - CLEARANCE;
    var from = { x: clamp(xAt(s, t, exitY), sourceBox.x1, sourceBox.x2), y: exitY };
    points.push(from);
    between.forEach(function (rank) {
      var x = freeX(rank, xAt(from, t, rank.y));
      var enter = down ? rank.top - CLEARANCE : rank.bottom + CLEARANCE;
      var leave = down ? rank.bottom + CLEARANCE : rank.top - CLEARANCE;
      points.push({ x: x, y: enter }, { x: x, y: leave });
      from = { x: x, y: leave };
    });
    var entryY = down ? targetRank.top - CLEARANCE : targetRank.bottom + CLEARANCE;
    points.push({ x: clamp(xAt(from, t, entryY), targetBox.x1, targetBox.x2), y: entryY });
    return points;
  }

  /* cytoscape puts a segmented edge's label at its middle bend (or half-way between
   * the two middle ones), which may lie in a rank beside other nodes: shift it to the
   * middle of the longest stretch between two ranks. */
  function labelShift(s, t, points) {
    var n = points.length;
    var mid = n % 2 ? points[(n - 1) / 2] : {
      x: (points[n / 2 - 1].x + points[n / 2].x) / 2,
      y: (points[n / 2 - 1].y + points[n / 2].y) / 2
    };
    var best = null;
    // between ranks: from each bend that leaves a rank to the next bend (n is even)
    for (var i = 0; i + 1 < n; i += 2) {
      var a = points[i], b = points[i + 1];
      var length = Math.abs(b.y - a.y);
      if (!best || length > best.length) {
        best = { length: length, x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
      }
    }
    return best ? { x: best.x - mid.x, y: best.y - mid.y } : { x: 0, y: 0 };
  }

  /* Straight edges between neighbouring ranks where nothing is in the way. An edge
   * that skips ranks (an owner holding both a company and that company's parent), or
   * one whose straight line would graze another node's label, bends (bendsOf). */
  function routeAroundNodes(cy) {
    var ranks = ranksOf(cy);
    var boxes = cy.nodes().map(function (node) {
      return { id: node.id(), box: node.boundingBox({ includeLabels: true }) };
    });
    cy.edges().forEach(function (edge) {
      var s = edge.source().position(), t = edge.target().position();
      var ends = [edge.source().id(), edge.target().id()];
      var skipsRanks = ranks.some(function (rank) {
        return rank.y > Math.min(s.y, t.y) + 1 && rank.y < Math.max(s.y, t.y) - 1;
      });
      var blocked = skipsRanks || boxes.some(function (b) {
        return ends.indexOf(b.id) < 0 && crosses(s, t, b.box);
      });
      if (!blocked) { return; }
      var points = bendsOf(edge.source(), edge.target(), ranks);
      var dx = t.x - s.x, dy = t.y - s.y, length2 = dx * dx + dy * dy;
      if (!points.length || !length2) { return; }
      var length = Math.sqrt(length2);
      // cytoscape places segment point i at s + w·(t − s) + d·n, n the unit normal (−dy, dx)/|t − s|
      var weights = [], distances = [];
      points.forEach(function (p) {
        weights.push(((p.x - s.x) * dx + (p.y - s.y) * dy) / length2);
        distances.push(((p.y - s.y) * dx - (p.x - s.x) * dy) / length);
      });
      var label = labelShift(s, t, points);
      edge.style({
        "curve-style": "segments",
        "edge-distances": "node-position",
        "segment-weights": weights,
        "segment-distances": distances,
        "text-margin-x": label.x,
        "text-margin-y": label.y
      });
      edge.addClass("routed");
    });
  }

  function render(graph) {
    container.textContent = "";
    var layout = layoutOptions(graph);
    var cy = window.cytoscape({
      container: container,
      elements: elementsOf(graph),
      style: STYLE,
      wheelSensitivity: 0.3,
      minZoom: 0.1,
      maxZoom: 3
    });
    cy.layout(layout).run();
    if (layout.name === "dagre") {
      routeAroundNodes(cy);
      cy.fit(undefined, layout.padding);
    }
    cy.on("tap", "node.customer", function (event) {
      var url = event.target.data("url");
      if (url) { window.location.assign(url); }
    });
    cy.on("mouseover", "node.customer", function () { container.style.cursor = "pointer"; });
    cy.on("mouseout", "node", function () { container.style.cursor = ""; });
    // For people and for the browser test: what was drawn.
    container.setAttribute("data-nodes", String(cy.nodes().length));
    container.setAttribute("data-edges", String(cy.edges().length));
    container.setAttribute("data-layout", layout.name);
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
