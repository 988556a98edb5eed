// Gatehouse's one script: the WebAuthn ceremony of the passkey forms.
//
// A form with data-passkey="create" (register) or "get" (sign in, confirm)
// carries the server's options as JSON in data-options. On submit this asks
// the browser's authenticator, writes its response as JSON into the form's
// hidden "credential" field and submits the form; the server checks
// everything. Without JavaScript the forms say to use another factor.
"use strict";

(function () {
  function toBytes(b64url) {
    const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }

  function toB64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(json) {
    const pk = json.publicKey;
    pk.challenge = toBytes(pk.challenge);
    pk.user.id = toBytes(pk.user.id);
    (pk.excludeCredentials || []).forEach((c) => { c.id = toBytes(c.id); });
    return { publicKey: pk };
  }

  function requestOptions(json) {
    const pk = json.publicKey;
    pk.challenge = toBytes(pk.challenge);
    (pk.allowCredentials || []).forEach((c) => { c.id = toBytes(c.id); });
    return { publicKey: pk };
  }

  function created(cred) {
    const r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: toB64url(r.attestationObject),
        clientDataJSON: toB64url(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : [],
      },
      extensions: cred.getClientExtensionResults(),
    };
  }

  function asserted(cred) {
    const r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null,
      },
      extensions: cred.getClientExtensionResults(),
    };
  }

  function say(form, text) {
    const box = form.querySelector("[data-passkey-error]");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }

  function wire(form) {
    const kind = form.dataset.passkey;
    // Without WebAuthn the form stays as it is, with its note.
    if (!window.PublicKeyCredential || !navigator.credentials) return;
    form.querySelectorAll("[data-passkey-nojs]").forEach((n) => { n.hidden = true; });
    form.querySelectorAll("button[disabled][data-passkey-button]").forEach((b) => { b.disabled = false; });
    let busy = false;
    form.addEventListener("submit", async (event) => {
      if (form.dataset.passkeyReady === "yes") return;
      event.preventDefault();
      if (busy) return;
      busy = true;
      try {
        const options = JSON.parse(form.dataset.options);
        const field = form.querySelector("input[name=credential]");
        if (kind === "create") {
          const cred = await navigator.credentials.create(creationOptions(options));
          field.value = JSON.stringify(created(cred));
        } else {
          const cred = await navigator.credentials.get(requestOptions(options));
          field.value = JSON.stringify(asserted(cred));
        }
        form.dataset.passkeyReady = "yes";
        form.submit();
      } catch (e) {
        const cancelled = e && (e.name === "NotAllowedError" || e.name === "AbortError");
        say(form, cancelled
          ? "The passkey prompt was closed or timed out. Try again when you are ready."
          : "Your browser could not use a passkey here" + (e && e.name ? " (" + e.name + ")" : "") + ".");
      } finally {
        busy = false;
      }
    });
  }

  document.querySelectorAll("form[data-passkey]").forEach(wire);
})();
