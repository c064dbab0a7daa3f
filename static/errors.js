// Mirox account security: a clear error dialog when an htmx request fails.
// Two cases: the request never got an answer (network down, timeout), or the answer is not
// the app's own (no X-Mirox-App header: a proxy's 502 page, a load balancer's 503), which is
// never pasted into the page. The app's own error answers (4xx/5xx) are dialogs already.
(function () {
  "use strict";

  function show(kind, status) {
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
      if (before && before.isConnected) before.focus();
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
    show("foreign", response.status);
  });

  document.addEventListener("htmx:error", function () {
    show("network", 0);
  });
})();
