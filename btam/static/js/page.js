/* Behaviour every page shares; each page works without it.
 *
 * - After a refused submit the error summary takes the focus, so a screen reader reads it and
 *   a keyboard user tabs straight into its links, however far down the failing field is.
 * - On a narrow screen the main navigation folds behind a "Menu" button (without script it
 *   wraps onto several lines instead, which also fits).
 */
(function () {
  "use strict";

  var summary = document.querySelector("[data-focus-on-load]");
  if (summary) {
    summary.focus();
  }

  var toggle = document.querySelector(".menu-toggle");
  var nav = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
  if (toggle && nav) {
    document.documentElement.classList.add("has-menu");
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
  }
})();
