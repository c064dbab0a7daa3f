// Mirox account security: a clear error dialog when an htmx request fails.
// Two cases: the request never got an answer (network down, timeout), or the answer is not
// the app's own (no X-Mirox-App header: a proxy's 502 page, a load balancer's 503), which is
// never pasted into the page. The app's own error answers (4xx/5xx) are dialogs already.
(function () {
  "use strict";

  // Where focus goes back after Close: what had it, unless the request's busy state took it
  // away (a disabled button loses focus); then the control that sent the request.
  function returnTarget(before, source) {
    if (before && before !== document.body && before.isConnected) return before;
    if (!source || !source.isConnected) return null;
    if (source.matches("button, a, input, select, textarea")) return source;
    return source.querySelector("button[type=submit], button:not([type])");
  }

  function show(kind, status, source) {
    var template = document.getElementById("request-error");
    if (!template) return;
    var old = document.getElementById("request-error-dialog");
    if (old) old.close();
    var dialog = template.content.firstElementChild.cloneNode(true);
    dialog.id = "request-error-dialog";
    var text = template.getAttribute("data-" + kind) || "";
    dialog.querySelector("[data-error-text]").textContent = text.replace("{status}", String(status));
    var before = document.activeElement;
    var dismiss = dialog.querySelector("[data-dismiss-error]");
    dismiss.addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () {
      dialog.remove();
      var back = returnTarget(before, source);
      if (back) back.focus();
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    dismiss.focus();
  }

  document.addEventListener("htmx:before:response", function (event) {
    var ctx = event.detail && event.detail.ctx;
    var response = ctx && ctx.response;
    if (!response || !response.headers || response.headers.get("X-Mirox-App")) return;
    event.preventDefault();  // htmx stops here: nothing of the foreign page is swapped in
    show("foreign", response.status, event.target);
  });

  document.addEventListener("htmx:error", function (event) {
    show("network", 0, event.target);
  });
})();
