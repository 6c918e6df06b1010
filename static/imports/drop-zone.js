// The bulk upload's file input as a drop zone: drag a file onto it, or click to choose.
// The form stays a plain multipart post; without this script the input is shown as is.
(function () {
  "use strict";

  function enhance(zone) {
    var input = zone.querySelector('input[type="file"]');
    var shown = zone.querySelector(".drop-zone-file");
    if (!input || !shown) {
      return;
    }
    zone.classList.add("is-enhanced");

    function show() {
      var file = input.files && input.files[0];
      zone.classList.remove("is-refused");
      zone.classList.toggle("has-file", Boolean(file));
      shown.textContent = file ? "Selected: " + file.name : "";
    }

    function refuse(message) {
      input.value = "";
      zone.classList.add("is-refused");
      zone.classList.remove("has-file");
      shown.textContent = message;
    }

    function over(event) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("is-over");
    }

    zone.addEventListener("dragenter", over);
    zone.addEventListener("dragover", over);
    zone.addEventListener("dragleave", function (event) {
      if (!zone.contains(event.relatedTarget)) {
        zone.classList.remove("is-over");
      }
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("is-over");
      var files = event.dataTransfer && event.dataTransfer.files;
      if (!files || files.length === 0) {
        return;
      }
      if (files.length > 1) {
        refuse("Drop one file at a time.");
        return;
      }
      if (!/\.xlsx$/i.test(files[0].name)) {
        refuse("“" + files[0].name + "” is not an .xlsx file.");
        return;
      }
      input.files = files;
      show();
    });
    input.addEventListener("change", show);
    show();
  }

  function start() {
    // A file dropped beside the zone must not make the browser open it instead.
    ["dragover", "drop"].forEach(function (type) {
      window.addEventListener(type, function (event) {
        if (!(event.target instanceof Element) || !event.target.closest(".drop-zone")) {
          event.preventDefault();
        }
      });
    });
    var zones = document.querySelectorAll(".drop-zone");
    for (var i = 0; i < zones.length; i += 1) {
      enhance(zones[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
