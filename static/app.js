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

  // A dialog that holds something not yet kept (a setup under way, a backup code shown once)
  // asks before it closes, unless the person has ticked the box that says it is kept.
  function mayClose(dialog) {
    var gate = dialog.querySelector("[data-confirm-close]");
    if (!gate) return true;
    var unless = gate.getAttribute("data-unless");
    if (unless && dialog.querySelector(unless + ":checked")) return true;
    return window.confirm(gate.getAttribute("data-confirm-close"));
  }

  function closeDialog(dialog) {
    if (!mayClose(dialog)) return;
    if (dialog.open) dialog.close();
    dialog.remove();
    focusAfterDialog();
  }

  function showDialogs(root) {
    var dialogs = [];
    if (root.matches && root.matches("dialog[data-modal]")) dialogs.push(root);
    if (root.querySelectorAll) dialogs = dialogs.concat(Array.prototype.slice.call(root.querySelectorAll("dialog[data-modal]")));
    dialogs.forEach(function (dialog) {
      if (dialog.hasAttribute("data-ready")) return;
      dialog.setAttribute("data-ready", "");
      liveRegion(dialog);
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

  var FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), ' +
    'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

  function focusables(dialog) {
    return Array.prototype.filter.call(dialog.querySelectorAll(FOCUSABLE), function (element) {
      return element.getClientRects().length > 0;
    });
  }

  // Tab and Shift+Tab cycle inside an open dialog; a modal <dialog> alone lets focus leave
  // it (to the browser's toolbar) after its last control.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Tab" || event.altKey || event.ctrlKey || event.metaKey) return;
    var open = document.querySelectorAll("dialog[open]");
    var dialog = open[open.length - 1];  // the topmost (an error dialog may open over another)
    if (!dialog) return;
    var items = focusables(dialog);
    if (!items.length) return;
    var first = items[0];
    var last = items[items.length - 1];
    var active = document.activeElement;
    var inside = dialog.contains(active);
    if (event.shiftKey && (active === first || !inside)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !inside)) {
      event.preventDefault();
      first.focus();
    }
  });

  // Copy and Print need JavaScript; Copy also works without the clipboard API (plain-http hosts).
  function revealScriptButtons(root) {
    if (!root.querySelectorAll) return;
    root.querySelectorAll("[data-copy][hidden], [data-print][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  function copyBySelection(button) {
    var source = document.getElementById(button.getAttribute("data-copy-from") || "");
    var field = document.createElement("textarea");
    field.value = button.getAttribute("data-copy");
    field.setAttribute("readonly", "");
    field.className = "visually-hidden";
    (button.closest("dialog") || document.body).appendChild(field);
    field.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    field.remove();
    if (!copied && source) window.getSelection().selectAllChildren(source);
    return copied;
  }

  function copied(button) {
    var label = button.textContent;
    button.textContent = "Copied";
    announce("Copied to the clipboard.");
    window.setTimeout(function () { button.textContent = label; }, 2000);
  }

  function copy(button) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () { copied(button); }, function () {
        if (copyBySelection(button)) copied(button);
        else announce("Copying failed. The code is selected: press Ctrl+C to copy it.");
      });
    } else if (copyBySelection(button)) {
      copied(button);
    } else {
      announce("The code is selected: press Ctrl+C to copy it.");
    }
  }

  // While a request runs, its form's submit button says so (aria-busy, a spinner in app.css);
  // hx-disable on the form disables it and hx-sync="this:drop" drops a second click.
  function busyButtons(event) {
    var ctx = event.detail && event.detail.ctx;
    var source = (ctx && ctx.sourceElement) || event.target;
    var form = source && source.closest ? source.closest("form") : null;
    return form ? Array.prototype.slice.call(form.querySelectorAll('button[type="submit"]')) : [];
  }

  document.addEventListener("htmx:before:request", function (event) {
    busyButtons(event).forEach(function (button) { button.setAttribute("aria-busy", "true"); });
  });

  document.addEventListener("htmx:finally:request", function (event) {
    busyButtons(event).forEach(function (button) { button.removeAttribute("aria-busy"); });
  });

  // A polite live region, present before anything is said in it. While a modal dialog is
  // open the rest of the page is inert (and so silent): the dialog gets a region of its own.
  function liveRegion(host) {
    var region = host.querySelector(":scope > .live-status");
    if (!region) {
      region = document.createElement("div");
      region.className = "live-status visually-hidden";
      region.setAttribute("role", "status");
      host.appendChild(region);
    }
    return region;
  }

  function announce(text) {
    var region = liveRegion(document.querySelector("dialog[data-modal][open]") || document.body);
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      var form = closer.type === "submit" ? closer.form : null;
      if (form) {
        event.preventDefault();  // Done: the form is the no-JavaScript way back to the Profile page
        if (!form.reportValidity()) return;
      }
      var dialog = closer.closest("dialog");
      if (dialog) closeDialog(dialog);
      return;
    }
    var copyButton = event.target.closest("[data-copy]");
    if (copyButton) {
      copy(copyButton);
      return;
    }
    if (event.target.closest("[data-print]")) window.print();
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
    revealScriptButtons(root);
  }

  document.addEventListener("DOMContentLoaded", function () {
    liveRegion(document.body);
    init(document);
    if (window.htmx) window.htmx.onLoad(init);
  });
})();
