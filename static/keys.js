// Mirox security keys (WebAuthn): the browser's half of each ceremony. No build step, no
// inline script (strict CSP). Forms marked data-key-form are real forms: this script asks
// the server for options (JSON), lets the browser talk to the key, puts the key's answer
// into the form's hidden fields and submits it. Without this script (or without WebAuthn in the
// browser) the key options stay hidden and a note says that keys need JavaScript.
(function () {
  "use strict";

  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) return;

  function toBuffer(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBuffer(item.id), transports: item.transports };
    });
  }

  function creationOptions(options) {
    var copy = Object.assign({}, options);
    copy.challenge = toBuffer(options.challenge);
    copy.user = Object.assign({}, options.user, { id: toBuffer(options.user.id) });
    copy.excludeCredentials = descriptors(options.excludeCredentials);
    return copy;
  }

  function requestOptions(options) {
    var copy = Object.assign({}, options);
    copy.challenge = toBuffer(options.challenge);
    copy.allowCredentials = descriptors(options.allowCredentials);
    return copy;
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (credential.authenticatorAttachment) out.authenticatorAttachment = credential.authenticatorAttachment;
    if (response.attestationObject) {
      out.response.attestationObject = toText(response.attestationObject);
      if (response.getTransports) out.response.transports = response.getTransports();
    }
    if (response.authenticatorData) {
      out.response.authenticatorData = toText(response.authenticatorData);
      out.response.signature = toText(response.signature);
      if (response.userHandle) out.response.userHandle = toText(response.userHandle);
    }
    return JSON.stringify(out);
  }

  // The options for this form, or null when the server answered something else (the password
  // prompt of a stale session, say): then the form goes through as it is and the page says why.
  function fetchOptions(form) {
    var body = new FormData();
    body.append("csrf_token", form.elements.csrf_token.value);
    return fetch(form.getAttribute("data-options-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      var json = (response.headers.get("content-type") || "").indexOf("application/json") === 0;
      if (!json) return null;
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.error || "");
        return data;
      });
    });
  }

  function setField(form, name, value) {
    if (form.elements[name]) form.elements[name].value = value;
  }

  function codeTyped(form) {
    var code = form.elements.code;
    return code && code.value.trim() !== "";
  }

  function ceremony(form, options) {
    var kind = form.getAttribute("data-key-form");
    var confirm = Promise.resolve(null);
    if (options.confirm && !codeTyped(form) && kind !== "signin" && kind !== "passkey") {
      confirm = navigator.credentials.get({ publicKey: requestOptions(options.confirm) });
    }
    return confirm.then(function (confirmation) {
      if (confirmation) setField(form, "confirmation", credentialJSON(confirmation));
      if (kind === "add") return navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
      if (kind === "signin" || kind === "passkey") {
        return navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
      }
      return null;
    }).then(function (credential) {
      if (credential) setField(form, "credential", credentialJSON(credential));
    });
  }

  function showError(form, text) {
    var holder = form.querySelector("[data-key-error]");
    if (!holder) return;
    holder.textContent = text;
    holder.hidden = false;
    holder.focus && holder.focus();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-key-form]")) return;
    event.preventDefault();
    var ui = form.closest("[data-keys-ui]");
    var cancelled = ui ? ui.getAttribute("data-cancelled") : "";
    var button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    fetchOptions(form).then(function (options) {
      if (options) return ceremony(form, options).then(function () { form.submit(); });
      rememberName(form);
      form.submit();
    }).catch(function (error) {
      var domError = error && error.name && error.name !== "Error";
      showError(form, domError || !error.message ? cancelled : error.message);
      if (button) button.disabled = false;
    });
  });

  // Add security key with a stale session goes through the password prompt and back to the section,
  // which then says to click Add again (its own click: Safari's create() needs a user gesture). The
  // name typed before the prompt is kept for that click, in this tab only.
  var NAME_KEPT = "mirox-key-name";

  function rememberName(form) {
    if (form.getAttribute("data-key-form") !== "add" || !form.elements.name) return;
    try {
      sessionStorage.setItem(NAME_KEPT, form.elements.name.value);
    } catch (storageOff) {
      return;  // no storage (a privacy setting): the name is typed again
    }
  }

  function restoreName() {
    var form = document.querySelector('form[data-key-form="add"]');
    if (!form) return;  // the password prompt's own page: keep the name for the page after it
    var name = null;
    try {
      name = sessionStorage.getItem(NAME_KEPT);
      sessionStorage.removeItem(NAME_KEPT);
    } catch (storageOff) {
      return;
    }
    if (name === null || !document.querySelector("[data-key-resumed]")) return;
    form.elements.name.value = name;
  }

  // "Use security key" in a code prompt (Check 2FA, New Backup Codes, Disable): a touch of a
  // registered key goes into the prompt's form, which is then submitted as usual (htmx or not).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-key-confirm]");
    if (!button) return;
    var form = button.closest("form");
    var ui = button.closest("[data-keys-ui]");
    button.disabled = true;
    var body = new FormData();
    body.append("csrf_token", form.elements.csrf_token.value);
    fetch(button.getAttribute("data-key-confirm"), { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) throw new Error(data.error || "");
          return navigator.credentials.get({ publicKey: requestOptions(data.confirm) });
        });
      })
      .then(function (assertion) {
        setField(form, "confirmation", credentialJSON(assertion));
        if (form.elements.code) form.elements.code.required = false;
        form.requestSubmit();
      })
      .catch(function (error) {
        var domError = error && error.name && error.name !== "Error";
        showError(form, domError || !error.message ? (ui ? ui.getAttribute("data-cancelled") : "") : error.message);
        button.disabled = false;
      });
  });

  // The key controls appear, and the "needs JavaScript" note goes, only where keys can work.
  function reveal() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-keys-ui]"), function (element) {
      element.hidden = false;
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-keys-off]"), function (element) {
      element.hidden = true;
    });
  }

  function start() {
    reveal();
    restoreName();
  }

  document.addEventListener("htmx:after:swap", reveal);  // the section comes back in place after Enable or Disable
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
