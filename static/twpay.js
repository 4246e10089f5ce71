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
  // When a swap changes the result panel's state (waiting -> paid), its
  // heading takes focus and names the page, so keyboard and screen-reader
  // users land on the news; a swap to the same state leaves focus alone.
  var kindBefore = null;
  document.addEventListener("htmx:beforeSwap", function () {
    var r = document.getElementById("result");
    kindBefore = r ? r.dataset.kind : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    var r = document.getElementById("result");
    if (r && kindBefore !== null && r.dataset.kind !== kindBefore) {
      if (r.dataset.title) document.title = r.dataset.title;
      var h = r.querySelector("h1");
      if (h) h.focus();
    }
    kindBefore = null;
  });
})();
