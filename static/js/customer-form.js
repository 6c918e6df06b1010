// The customer change page (templates/admin/customers/customer/change_form.html):
// person/company fields switched by the account type on the add page, the region
// control matching the address country, inline rows with errors highlighted and
// scrolled to from the error summary. Loaded through CustomerAdmin.Media.
(function () {
  "use strict";

  var PERSON = ["given_name", "family_name", "birth_date"];
  var COMPANY = ["legal_name", "incorporation_date", "corporation_type"];
  var ISO_REGION_COUNTRIES = ["US", "CA", "MX"];

  // The field's own box: its .fieldBox on a line of several fields, else its row.
  function boxes(name) {
    var inLine = document.querySelectorAll(".fieldBox.field-" + name);
    return inLine.length ? inLine : document.querySelectorAll(".form-row.field-" + name);
  }

  function show(names, visible) {
    names.forEach(function (name) {
      boxes(name).forEach(function (el) {
        el.hidden = !visible;
      });
    });
  }

  function switchAccountType() {
    var select = document.getElementById("id_account_type");
    if (!select || select.tagName !== "SELECT") {
      return; // a saved customer: the server shows only its own fields
    }
    var update = function () {
      var value = select.value;
      show(PERSON, value !== "2");
      show(COMPANY, value !== "1");
    };
    select.addEventListener("change", update);
    update();
  }

  function switchRegion() {
    var country = document.getElementById("id_address_country");
    if (!country) {
      return;
    }
    var update = function () {
      var iso = ISO_REGION_COUNTRIES.indexOf(country.value) !== -1;
      show(["address_region"], iso);
      show(["address_region_other"], !iso);
    };
    country.addEventListener("change", update);
    update();
  }

  function highlight(row) {
    row.classList.add("row-has-errors");
  }

  function markFailingRows() {
    document.querySelectorAll("tr.form-row, .inline-related").forEach(function (row) {
      if (row.querySelector(".errorlist")) {
        highlight(row);
      }
    });
    var previous = document.querySelectorAll("tr.row-form-errors");
    previous.forEach(function (errorRow) {
      var next = errorRow.nextElementSibling;
      if (next) {
        highlight(next);
      }
    });
  }

  function linkSummary() {
    var summary = document.getElementById("error-summary");
    if (!summary) {
      return;
    }
    summary.querySelectorAll("a[data-row]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var row = document.getElementById(link.getAttribute("data-row"));
        if (!row) {
          return;
        }
        event.preventDefault();
        highlight(row);
        row.classList.remove("row-flash");
        void row.offsetWidth; // restart the flash animation
        row.classList.add("row-flash");
        row.scrollIntoView({ block: "center" });
        var input = row.querySelector(".errorlist ~ input, .errorlist ~ select, input, select");
        if (input) {
          input.focus({ preventScroll: true });
        }
      });
    });
    summary.focus({ preventScroll: true });
  }

  // Inline tables next to the section they belong to (Django puts them after all).
  var INLINE_SECTIONS = {
    "connections-group": ".section-connections",
    "connected_to-group": ".section-connections",
    "sessions-group": ".section-risk",
    "screening_hits-group": ".section-risk",
  };

  function placeInlines() {
    Object.keys(INLINE_SECTIONS).forEach(function (id) {
      var group = document.getElementById(id);
      var sections = document.querySelectorAll("fieldset" + INLINE_SECTIONS[id]);
      if (!group || !sections.length) {
        return;
      }
      var section = sections[sections.length - 1];
      var anchor = section.nextElementSibling;
      while (anchor && anchor.classList.contains("placed-inline")) {
        anchor = anchor.nextElementSibling;
      }
      section.parentNode.insertBefore(group, anchor);
      group.classList.add("placed-inline");
    });
  }

  function ready() {
    placeInlines();
    switchAccountType();
    switchRegion();
    markFailingRows();
    linkSummary();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
