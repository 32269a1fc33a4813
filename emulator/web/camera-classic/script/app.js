/*
 * The classic camera GUI's small client-side app: loads the texts of the chosen language
 * (/doc/i18n/<lang>/Common.json), then lets the page render itself from script, as the
 * real GUI's app does once booted. Also the generic popups (title, content, untagged
 * OK/Cancel), the modal alert, the three-bar strength meter and the logged-in header.
 */
(function (global) {
  "use strict";

  var doc = global.document;
  var texts = {};
  var LANGUAGES = [["en", "English"]];

  function language() {
    var m = /(?:^|;\s*)language=([a-z]{2})/.exec(doc.cookie);
    var lang = m ? m[1] : "en";
    return LANGUAGES.some(function (l) { return l[0] === lang; }) ? lang : "en";
  }

  /* The text of i18n `key`, each %s filled from `args` in turn. */
  function t(key, args) {
    var s = Object.prototype.hasOwnProperty.call(texts, key) ? texts[key] : key;
    (args || []).forEach(function (a) { s = s.replace("%s", String(a)); });
    return s;
  }

  /* h("div", {class: "x", text: "..."}, child, ...): a DOM element. */
  function h(tag, attrs) {
    var el = doc.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k === "on") Object.keys(v).forEach(function (ev) { el.addEventListener(ev, v[ev]); });
      else if (k in el && k !== "list" && typeof v !== "string") el[k] = v;
      else el.setAttribute(k, v === true ? "" : v);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      el.appendChild(typeof c === "string" ? doc.createTextNode(c) : c);
    }
    return el;
  }

  function device() {
    var d = global.HIK_DEVICE || {};
    var gui = d.gui || {};
    return { model: d.model || "", firmware: d.firmware || "",
      checkConfirm: gui.checkConfirm !== false, strengthOffset: Number(gui.strengthOffset || 0),
      guardInactive: gui.guardInactive !== false, checkCookies: gui.checkCookies !== false };
  }

  /* ---------------------------------------------------------------- popups */

  var stack = [];

  /*
   * A modal popup: title bar, `content`, buttons [{key, primary, click}] without ids.
   * A click handler returning false keeps the popup open. Returns {el, close}.
   */
  function popup(opts) {
    var mask = h("div", { class: "mask" });
    var box = h("div", { class: "popup", role: opts.role || "dialog", "aria-modal": "true" });
    if (opts.width) box.style.width = opts.width + "px";
    var title = h("div", { class: "popup-title" }, h("span", { text: opts.title || "" }));
    var btns = h("div", { class: "popup-btns" });
    var handle = { el: box, close: close };
    (opts.buttons || []).forEach(function (b) {
      btns.appendChild(h("button", { type: "button", class: b.primary ? "btn btn-primary" : "btn",
        text: t(b.key), on: { click: function () {
          if (b.click && b.click(handle) === false) return;
          close();
        } } }));
    });
    box.appendChild(title);
    box.appendChild(h("div", { class: "popup-content" }, opts.content));
    box.appendChild(btns);
    mask.appendChild(box);
    doc.body.appendChild(mask);
    stack.push(mask);
    function close() {
      if (mask.parentNode) mask.parentNode.removeChild(mask);
      stack = stack.filter(function (m) { return m !== mask; });
      if (opts.onClose) opts.onClose();
    }
    return handle;
  }

  /* The modal alert: one message and OK. */
  function alert(message, onClose) {
    return popup({ role: "alertdialog", title: t("prompt"), width: 360,
      content: h("p", { class: "alert-msg", text: message }),
      buttons: [{ key: "ok", primary: true }], onClose: onClose });
  }

  /* ---------------------------------------------------------------- strength */

  /* DEVICE-SPEC §4: the GUI's own formula, 0 Risky .. 3 Strong. */
  function strength(password) {
    var n = 0;
    if (/[a-z]/.test(password)) n += 1;
    if (/[A-Z]/.test(password)) n += n ? 2 : 1;
    if (/[0-9]/.test(password)) n += 1;
    if (/[^a-zA-Z0-9]/.test(password)) n += n ? 2 : 1;
    var user = global.ISAPI.USER;
    if (password.length < 8 || password === user || password === user.split("").reverse().join("")) return 0;
    return Math.max(0, Math.min(3, n - 1));
  }

  var LEVEL_KEYS = ["risky", "weak", "medium", "strong"];

  /*
   * The three-bar meter under a password field: as many bars lit as the level (none for
   * Risky, 3 for Strong), the level's word beside it. A defective build shows a
   * level too high (gui.strengthOffset).
   */
  function strengthMeter(input) {
    var bars = [h("span", { class: "bar" }), h("span", { class: "bar" }), h("span", { class: "bar" })];
    var word = h("span", { class: "level" });
    var meter = h("div", { class: "userstrength" }, bars[0], bars[1], bars[2], word);
    function update() {
      var pw = input.value;
      var level = pw ? Math.max(0, Math.min(3, strength(pw) + device().strengthOffset)) : -1;
      meter.className = "userstrength" + (level >= 0 ? " " + LEVEL_KEYS[level] : "");
      bars.forEach(function (b, i) { b.className = "bar" + (i < level ? " on" : ""); });
      word.textContent = level >= 0 ? t(LEVEL_KEYS[level]) : "";
    }
    input.addEventListener("input", update);
    update();
    return meter;
  }

  /* Confirm checked before anything is sent; a defective build skips it. */
  function confirmMatches(password, confirm) {
    return !device().checkConfirm || password === confirm;
  }

  /* ---------------------------------------------------------------- messages */

  /* The i18n text for a refused call (ISAPI.Refusal) or a transport error. */
  function errorText(err) {
    var code = (err && err.subStatusCode) || "";
    var retry = err && err.retry !== undefined ? err.retry : null;
    switch (code) {
      case "riskPassword": return t("riskyInputPwd");
      case "badParameters": return t("paramError");
      case "invalidOperation": return t("alreadyActivated");
      case "passwordError":
        return retry === null ? t("adminPwdError") : t("adminPwdErrorRetry", [retry]);
      case "verificationCodeError":
        return retry === null ? t("codeError") : t("codeErrorRetry", [retry]);
      case "verificationCodeExpired": return t("codeExpired");
      case "notSupport": return t("notSupport");
      case "connectTimeout": return t("connectTimeout");
      case "networkError": return t("networkError");
      default:
        if (err && err.answer && err.answer.status === 401) return t("sessionExpired");
        return t("operationFailed") + (code ? " (" + code + ")" : "");
    }
  }

  function emailValid(email) {
    return email.length >= 1 && email.length <= 32 && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email);
  }

  /* ---------------------------------------------------------------- boot */

  function loadTexts(lang) {
    return fetch("/doc/i18n/" + lang + "/Common.json", { credentials: "same-origin" })
      .then(function (r) { return r.json(); });
  }

  /* Load the texts, then render: `render(root)` builds the page into #view. */
  function boot(render) {
    var lang = language();
    doc.documentElement.lang = lang;
    return loadTexts(lang).then(function (data) {
      texts = data;
      var root = doc.getElementById("view");
      root.innerHTML = "";
      return render(root);
    });
  }

  /* The header of logged-in pages: product name, menu, user and logout. */
  function header(active) {
    var menu = h("ul", { class: "menu" });
    [["preview", "preview.asp"], ["playback", null], ["config", "config.asp"]].forEach(function (m) {
      var a = h("a", { href: m[1] || "javascript:;", text: t(m[0]) });
      menu.appendChild(h("li", { class: m[0] === active ? "sel" : null }, a));
    });
    var logout = h("a", { href: "javascript:;", class: "logout", text: t("logout"), on: { click: function () {
      global.ISAPI.logout().then(function () { global.location.replace("login.asp"); });
    } } });
    return h("div", { class: "header" },
      h("div", { class: "product", text: device().model }), menu,
      h("div", { class: "user" }, h("span", { class: "name", text: global.ISAPI.USER }), logout));
  }

  /*
   * A logged-in page: inactive → login page (which shows activation), not logged in in
   * this tab, or no session → login page; else the header, the heartbeat and `render(main, info)`.
   */
  function loggedInPage(active, render) {
    return boot(function (root) {
      return global.ISAPI.activated().then(function (isActive) {
        if (!isActive || !global.ISAPI.sessionHeld()) { global.location.replace("login.asp"); return null; }
        return global.ISAPI.deviceInfo().then(function (info) {
          if (!info) { global.location.replace("login.asp"); return null; }
          global.ISAPI.startHeartbeat();
          var main = h("div", { class: "main" });
          root.appendChild(header(active));
          root.appendChild(main);
          return render(main, info);
        });
      });
    });
  }

  global.App = {
    t: t, h: h, device: device, popup: popup, alert: alert, strength: strength,
    strengthMeter: strengthMeter, confirmMatches: confirmMatches, errorText: errorText,
    emailValid: emailValid, boot: boot, loggedInPage: loggedInPage, language: language,
    LANGUAGES: LANGUAGES
  };
})(window);
