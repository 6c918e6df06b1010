/* Ownership structure page: the "Print" button opens the browser's print dialog (the
 * print stylesheet, css/ownership-print.css, leaves only the structure). The button
 * is rendered hidden and shown here, so without JavaScript no dead button shows. */
(function () {
  "use strict";

  var button = document.getElementById("print-structure");
  if (!button) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
})();
