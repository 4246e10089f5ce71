// twpay admin: the order page's confirmation <dialog>. Every action link
// is a plain link to its confirmation page; with htmx the page's fragment
// is loaded into the dialog instead, and this opens it (and closes it on
// Cancel). Without JavaScript, or without this file, the pages work alone.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSwap", function (e) {
    var d = e.detail && e.detail.target;
    if (!d || d.tagName !== "DIALOG" || d.open) return;
    if (typeof d.showModal === "function") d.showModal(); else d.setAttribute("open", "");
    var first = d.querySelector("input:not([type=hidden]), textarea, button");
    if (first) first.focus();
  });
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("[data-close-dialog]");
    var d = a && a.closest("dialog");
    if (!d) return; // on a full page the link goes back to the order
    e.preventDefault();
    if (typeof d.close === "function") d.close(); else d.removeAttribute("open");
  });
  // A closed dialog forgets its form (a fresh one, with a fresh key, is
  // loaded next time).
  document.addEventListener("close", function (e) {
    if (e.target.tagName === "DIALOG" && e.target.id === "confirm-dialog") e.target.innerHTML = "";
  }, true);
})();
