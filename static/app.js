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

  function revealCopyButtons(root) {
    if (!navigator.clipboard || !root.querySelectorAll) return;
    root.querySelectorAll("[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

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
    liveRegion(document.body);
    init(document);
    if (window.htmx) window.htmx.onLoad(init);
  });
})();
