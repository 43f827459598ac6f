// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Move focus to the error summary so screen-reader and keyboard users land on it.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }

  // Prevent accidental double submission of a form.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.method.toLowerCase() !== "post") {
      return;
    }
    var button = form.querySelector("button[type=submit]");
    if (button) {
      if (button.disabled) {
        event.preventDefault();
        return;
      }
      window.setTimeout(function () { button.disabled = true; }, 0);
    }
  });
})();
