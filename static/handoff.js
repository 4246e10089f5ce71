// twpay: the hand-off form submits itself on the first visit (the page
// marks it data-auto); without JavaScript the shopper presses its button.
// A file rather than an inline script: the shop's Content-Security-Policy
// runs scripts from our own origin only. The hand-off fragment loads it
// after the form, so it runs on the whole page and when htmx swaps the
// fragment in (htmx re-creates the script element, which loads it again).
(function () {
  "use strict";
  var f = document.getElementById("gateway-form");
  if (f && f.hasAttribute("data-auto") && !f.hasAttribute("data-submitted")) {
    f.setAttribute("data-submitted", "");
    f.submit();
  }
})();
