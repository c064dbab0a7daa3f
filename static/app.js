// Mirox account security: the small amount of behaviour htmx does not provide.
// No inline scripts anywhere (strict CSP); everything hooks in from here.
(function () {
  "use strict";

  var opener = null;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Every htmx request carries the CSRF token as a header too.
  document.addEventListener("htmx:config:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (ctx && ctx.request && ctx.request.headers) {
      ctx.request.headers["X-CSRF-Token"] = csrfToken();
    }
    var source = event.target;
    if (source && !source.closest("dialog")) {
      opener = document.activeElement;
    }
  });

  function focusAfterDialog() {
    if (opener && opener.isConnected) {
      opener.focus();
    } else {
      var fallback = document.querySelector("#security-card [autofocus], #security-title");
      if (fallback) fallback.focus();
    }
    opener = null;
  }

  function closeDialog(dialog) {
    if (dialog.open) dialog.close();
    dialog.remove();
    focusAfterDialog();
  }

  function showDialogs(root) {
    var dialogs = [];
    if (root.matches && root.matches("dialog[data-modal]")) dialogs.push(root);
    if (root.querySelectorAll) dialogs = dialogs.concat(Array.prototype.slice.call(root.querySelectorAll("dialog[data-modal]")));
    dialogs.forEach(function (dialog) {
      if (!dialog.open) {
        dialog.showModal();
        var first = dialog.querySelector("[autofocus]");
        if (first) first.focus();
      }
      dialog.addEventListener("cancel", function (event) {
        event.preventDefault();
        closeDialog(dialog);
      });
    });
  }

  function revealCopyButtons(root) {
    if (!navigator.clipboard || !root.querySelectorAll) return;
    root.querySelectorAll("[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  function announce(text) {
    var region = document.getElementById("live-status");
    if (!region) {
      region = document.createElement("div");
      region.id = "live-status";
      region.className = "visually-hidden";
      region.setAttribute("role", "status");
      document.body.appendChild(region);
    }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      var dialog = closer.closest("dialog");
      if (dialog) closeDialog(dialog);
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var label = copy.textContent;
      navigator.clipboard.writeText(copy.getAttribute("data-copy")).then(function () {
        copy.textContent = "Copied";
        announce("Copied to the clipboard.");
        window.setTimeout(function () { copy.textContent = label; }, 2000);
      }, function () {
        announce("Copying failed. Select the text and copy it by hand.");
      });
    }
  });

  // After htmx removes the open dialog (an action finished), put focus somewhere sensible.
  document.addEventListener("htmx:after:swap", function () {
    if (opener && !document.querySelector("dialog[open]")) {
      var notice = document.querySelector("#security-card [autofocus], #sessions [autofocus]");
      if (notice) {
        notice.focus();
        opener = null;
      } else if (!opener.isConnected) {
        focusAfterDialog();
      }
    }
  });

  function init(root) {
    showDialogs(root);
    revealCopyButtons(root);
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    if (window.htmx) window.htmx.onLoad(init);
  });
})();
