// twpay: small improvements where JavaScript runs. Every page works
// without it: codes are plain selectable text, the status has a refresh link.
(function () {
  "use strict";
  // Copy buttons appear only where the clipboard can be written.
  function reveal(root) {
    if (!navigator.clipboard) return;
    root.querySelectorAll("button[data-copy]").forEach(function (b) { b.hidden = false; });
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("button[data-copy]");
    if (!b) return;
    navigator.clipboard.writeText(b.dataset.copy).then(function () {
      b.textContent = b.dataset.copied;
    });
  });
  document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  document.addEventListener("htmx:load", function (e) { reveal(e.target); });
})();
