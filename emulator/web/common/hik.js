/*
 * Shared device-GUI logic for every generation: password strength, crypto, ISAPI calls.
 *
 * Loaded after /SDK/guiConfig.js (window.HIK_DEVICE) and the vendored crypto-js and
 * jsencrypt. Each generation keeps its own HTML, CSS and wording and calls into `Hik`.
 * Wire formats: docs/device-api.md. No secret is ever logged.
 */
(function (global) {
  "use strict";

  var TIMEOUT_MS = 15000;
  var USER = "admin";
  var LEVEL_KEYS = ["risky", "weak", "medium", "strong"];
  /* The real GUIs' words: level 0 is a sentence of its own, the others a single word. */
  var LEVEL_NAMES = ["Risky password.", "Weak", "Medium", "Strong"];

  function device() {
    var d = global.HIK_DEVICE || {};
    var gui = d.gui || {};
    return {
      generation: d.generation || "",
      deviceType: d.deviceType || "",
      model: d.model || "",
      firmware: d.firmware || "",
      checkConfirm: gui.checkConfirm !== false,
      strengthOffset: Number(gui.strengthOffset || 0),
      guardInactive: gui.guardInactive !== false,
      checkCookies: gui.checkCookies !== false
    };
  }

  /* DEVICE-SPEC §4: the GUI's own strength formula (0 Risky .. 3 Strong). */
  function strength(password, user) {
    user = user === undefined ? USER : user;
    var n = 0;
    if (/[a-z]/.test(password)) n += 1;
    if (/[A-Z]/.test(password)) n += n ? 2 : 1;
    if (/[0-9]/.test(password)) n += 1;
    if (/[^a-zA-Z0-9]/.test(password)) n += n ? 2 : 1;
    var reversed = user.split("").reverse().join("");
    if (password.length < 8 || password === user || password === reversed) return 0;
    return Math.max(0, Math.min(3, n - 1));
  }

  /* The level the bar shows: a firmware defect may shift it (gui.strengthOffset). */
  function displayedLevel(password) {
    var level = strength(password) + device().strengthOffset;
    return Math.max(0, Math.min(3, level));
  }

  /* Confirm check before anything is sent; a defective build skips it (gui.checkConfirm). */
  function confirmMatches(password, confirm) {
    if (!device().checkConfirm) return true;
    return password === confirm;
  }

  /*
   * Bind a live strength meter: `bar` holds segments (children whose class names a bar or
   * segment) lit with the class `is-active` up to the level (none for Risky), and a text
   * element (class containing "text" or "label") with the level's words. State is shown
   * the way a person sees it (lit bars, a word), never in data-* attributes.
   * opts.names overrides LEVEL_NAMES.
   */
  function bindStrength(input, bar, opts) {
    var names = (opts && opts.names) || LEVEL_NAMES;
    var label = bar.querySelector("[class*=text], [class*=label]");
    var segments = bar.querySelectorAll("[class*=bar], [class*=seg], b");
    function update() {
      var pw = input.value;
      var level = pw ? displayedLevel(pw) : -1;
      for (var i = 0; i < segments.length; i++) {
        segments[i].classList.toggle("is-active", level > 0 && i < level);
      }
      LEVEL_KEYS.forEach(function (k, i) { bar.classList.toggle("is-" + k, i === level); });
      bar.hidden = !pw;
      if (label) label.textContent = pw ? names[level] : "";
    }
    input.addEventListener("input", update);
    update();
    return update;
  }

  /* ---------------------------------------------------------------- HTTP */

  /*
   * Pages that need no login, per generation (paths, or camera-spa hash routes), and each
   * generation's login page. A 401 anywhere else means the session is gone: go to login.
   */
  var PUBLIC_PAGES = {
    "camera-classic": ["/doc/page/login.asp", "/doc/page/pwdReset.asp",
      "/doc/page/login.html", "/doc/page/resetPwd.html"]
  };
  var LOGIN_PAGES = {
    "recorder": "/doc/index.html#/portal/login",
    "camera-classic": "/doc/page/login.asp",
    "camera-spa": "/doc/index.html#/portal/login"
  };

  /* The single-page generations: everything under #/portal/ needs no login. */
  function isSinglePage() {
    var g = device().generation;
    return g === "recorder" || g === "camera-spa";
  }

  function onProtectedPage() {
    if (isSinglePage()) {
      var route = global.location.hash.replace(/^#/, "").split("?")[0];
      return global.location.pathname.indexOf("/doc/index.html") === 0 &&
        route !== "" && route !== "/" && route.indexOf("/portal") !== 0;
    }
    var pub = PUBLIC_PAGES[device().generation];
    if (!pub) return false;
    return pub.indexOf(global.location.pathname) < 0;
  }

  /*
   * A 401 that answers a password the user typed (login refusal with its attempts left,
   * wrong admin password in a dialog) is shown by the page; any other 401 on a protected
   * page (no or expired session) sends the browser to the login page, as real GUIs do.
   */
  function leaveOnSessionLoss(url, answer) {
    if (answer.status !== 401 || !onProtectedPage()) return;
    if (url.indexOf("/ISAPI/Security/sessionLogin") === 0) return;
    if (answer.xmlText("lockStatus") !== null) return;
    if (answer.status_().subStatusCode === "passwordError") return;
    toLogin();
  }

  function toLogin() {
    stopHeartbeat();
    try { global.sessionStorage.removeItem(SESSION_FLAG); } catch (e) { /* no storage */ }
    var target = LOGIN_PAGES[device().generation];
    if (target) global.location.replace(target);
  }

  /*
   * One ISAPI call as the real GUI sends it (DEVICE-SPEC §10): cookies always, no marker header,
   * XML as text with the form content type, JSON as application/json. A 401 (with the
   * device's Digest challenge) comes back as an answer like any other: the page decides.
   */
  function request(method, url, body, contentType) {
    var ctrl = new AbortController();
    var timer = setTimeout(function () { ctrl.abort(); }, TIMEOUT_MS);
    var init = { method: method, credentials: "same-origin", signal: ctrl.signal, headers: {} };
    if (body !== undefined && body !== null) {
      init.body = body;
      init.headers["Content-Type"] = contentType || "application/x-www-form-urlencoded; charset=UTF-8";
    }
    return fetch(url, init).then(function (resp) {
      return resp.text().then(function (text) {
        clearTimeout(timer);
        var answer = new Answer(resp.status, text, resp.headers.get("Content-Type") || "");
        leaveOnSessionLoss(url, answer);
        return answer;
      });
    }, function (err) {
      clearTimeout(timer);
      if (err && err.name === "AbortError") {
        throw new Error("No answer from the device within " + TIMEOUT_MS / 1000 + " s for " + method + " " + url.split("?")[0]);
      }
      throw new Error("Network error for " + method + " " + url.split("?")[0]);
    });
  }

  function Answer(status, text, contentType) {
    this.status = status;
    this.text = text;
    this.ok = status >= 200 && status < 300;
    this.json = null;
    this.xml = null;
    var trimmed = text.replace(/^\s+/, "");
    if (trimmed.charAt(0) === "{") {
      try { this.json = JSON.parse(trimmed); } catch (e) { this.json = null; }
    } else if (trimmed.charAt(0) === "<") {
      this.xml = new DOMParser().parseFromString(trimmed, "application/xml");
    }
    this.contentType = contentType;
  }

  /* First element named `name` in any namespace (newer firmware changes the namespace). */
  Answer.prototype.xmlText = function (name) {
    if (!this.xml) return null;
    var nodes = this.xml.getElementsByTagNameNS("*", name);
    if (!nodes.length) nodes = this.xml.getElementsByTagName(name);
    return nodes.length ? nodes[0].textContent : null;
  };

  /* statusCode, subStatusCode, retryTimes of a ResponseStatus (JSON or XML), or a userCheck. */
  Answer.prototype.status_ = function () {
    if (this.json) {
      var j = this.json;
      return {
        statusCode: j.statusCode, subStatusCode: j.subStatusCode || j.errorMsg || "",
        retryTimes: j.retryTimes === undefined ? null : Number(j.retryTimes)
      };
    }
    var retry = this.xmlText("retryTimes");
    return {
      statusCode: Number(this.xmlText("statusCode") || 0),
      subStatusCode: this.xmlText("subStatusCode") || "",
      retryTimes: retry === null ? null : Number(retry)
    };
  };

  /* One human sentence for a device error answer. */
  function errorText(answer) {
    var st = answer.status_();
    var left = st.retryTimes;
    switch (st.subStatusCode) {
      case "riskPassword":
        return "Risky password: use 8 to 16 characters combining at least two of digits, lower case, upper case and special characters.";
      case "badParameters":
        return "Invalid parameter. Check the value you entered.";
      case "invalidOperation":
        return "The device is already activated.";
      case "notActivated":
        return "The device is not activated.";
      case "passwordError":
        return "The admin password is incorrect." + (left !== null ? " " + left + " attempt(s) left." : "");
      case "verificationCodeError":
        return "Incorrect verification code." + (left !== null ? " " + left + " attempt(s) left." : "");
      case "verificationCodeExpired":
        return "The verification code is invalid or has expired. Get a new QR code.";
      case "notSupport":
        return "This function is not supported by the device.";
      case "lowPrivilege":
        return "No permission.";
      default:
        if (answer.status === 401) return "Not logged in or the session has expired.";
        return "Operation failed (HTTP " + answer.status + (st.subStatusCode ? ", " + st.subStatusCode : "") + ").";
    }
  }

  function DeviceError(answer) {
    this.name = "DeviceError";
    this.answer = answer;
    this.subStatusCode = answer.status_().subStatusCode;
    this.message = errorText(answer);
  }
  DeviceError.prototype = Object.create(Error.prototype);

  function expectOk(answer) {
    if (!answer.ok) throw new DeviceError(answer);
    return answer;
  }

  /* ---------------------------------------------------------------- crypto */

  /* RSA-1024 key pair made in the browser; the device encrypts a 32-hex challenge to it. */
  function challenge() {
    var rsa = new global.JSEncrypt({ default_key_size: 1024 });
    var key = rsa.getKey();
    var modulusHex = key.n.toString(16);
    var body = "<PublicKey><key>" + btoa(modulusHex) + "</key></PublicKey>";
    return request("POST", "/ISAPI/Security/challenge", body).then(function (answer) {
      expectOk(answer);
      /* The device answers Base64 of the cipher's hex text; JSEncrypt wants Base64 of the
         raw cipher bytes. */
      var plain = rsa.decrypt(fromB64Hex(answer.xmlText("key") || ""));
      if (!plain || !/^[0-9a-fA-F]{32}$/.test(plain)) {
        throw new Error("The device's challenge could not be decrypted.");
      }
      return plain;
    });
  }

  /* Base64(hex) -> Base64 of the raw bytes; "" when the text is not Base64 of hex. */
  function fromB64Hex(text) {
    var hex;
    try { hex = atob(text.trim()); } catch (e) { return ""; }
    if (!/^([0-9a-fA-F]{2})+$/.test(hex)) return "";
    var C = global.CryptoJS;
    return C.enc.Hex.parse(hex).toString(C.enc.Base64);
  }

  /*
   * AES-128-ECB, zero padding, key = the challenge's 16 bytes, text = challenge[0:16] +
   * password; sent as Base64 of the cipher's lower-case hex (DEVICE-SPEC §3).
   */
  function encryptPassword(challengeHex, password) {
    var C = global.CryptoJS;
    var cipher = C.AES.encrypt(C.enc.Utf8.parse(challengeHex.substring(0, 16) + password),
      C.enc.Hex.parse(challengeHex), { mode: C.mode.ECB, padding: C.pad.ZeroPadding });
    return btoa(cipher.ciphertext.toString(C.enc.Hex));
  }

  function sha256Hex(text) {
    return global.CryptoJS.SHA256(text).toString(global.CryptoJS.enc.Hex);
  }

  /* DEVICE-SPEC §5: iterated SHA-256 of the session-login challenge; version 2.1 first
     hashes the irreversible hash again with salt2 (docs/device-api.md). */
  function sessionHash(password, salt, challengeHex, iterations, salt2) {
    var r = sha256Hex(USER + salt + password);
    if (salt2) r = sha256Hex(USER + salt2 + r);
    r = sha256Hex(r + challengeHex);
    for (var i = 2; i < iterations; i++) r = sha256Hex(r);
    return r;
  }

  function xmlEscape(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&apos;");
  }

  /* ---------------------------------------------------------------- ISAPI */

  function activated() {
    return request("GET", "/SDK/activateStatus").then(function (a) {
      return (a.xmlText("Activated") || "").trim() === "true";
    });
  }

  /*
   * Every page but activation calls this first: an inactive device sends the browser to the
   * activation page. Resolves true when the page may go on.
   */
  function requireActivated(activationUrl) {
    return activated().then(function (isActive) {
      if (!isActive) { global.location.replace(activationUrl); return false; }
      return true;
    });
  }

  /* ActivateInfo carries the password only; a reserved address follows through
     setReservedEmail with the new password (as the real NVR GUI does). */
  function activate(password) {
    return challenge().then(function (ch) {
      var body = "<ActivateInfo><password>" + encryptPassword(ch, password) + "</password>" +
        "</ActivateInfo>";
      return request("PUT", "/ISAPI/System/activate", body);
    }).then(expectOk);
  }

  /*
   * Session login. Resolves {ok: true} or {ok: false, locked, attemptsLeft, unlockSeconds,
   * message}; the 401 userCheck carries the lockout counters.
   */
  function login(password) {
    if (device().checkCookies && !global.navigator.cookieEnabled) {
      return Promise.resolve({ ok: false, locked: false, attemptsLeft: null, unlockSeconds: 0,
        cookies: false, message: "Cookies are disabled in this browser. Enable cookies to log in." });
    }
    return sessionLogin(password).then(function (a) {
      if (a.ok) {
        try { global.sessionStorage.setItem(SESSION_FLAG, "1"); } catch (e) { /* no storage */ }
        return { ok: true, locked: false, attemptsLeft: null, unlockSeconds: 0, message: "",
          riskPassword: (a.xmlText("isRiskPassword") || "").trim() === "true" };
      }
      if (a.status === 401 && a.xmlText("lockStatus") !== null) {
        var locked = a.xmlText("lockStatus") === "lock";
        var left = Number(a.xmlText("retryLoginTime") || 0);
        var unlock = Number(a.xmlText("unlockTime") || 0);
        var msg = locked
          ? "The user is locked. Try again in " + formatDuration(unlock) + "."
          : "Incorrect user name or password. " + left + " attempt(s) left.";
        return { ok: false, locked: locked, attemptsLeft: left, unlockSeconds: unlock, message: msg };
      }
      return { ok: false, locked: false, attemptsLeft: null, unlockSeconds: 0, message: errorText(a) };
    });
  }

  /* sessionLogin/capabilities, then sessionLogin with the iterated hash; the answer. */
  function sessionLogin(password) {
    return request("GET", "/ISAPI/Security/sessionLogin/capabilities?username=" + USER).then(function (cap) {
      expectOk(cap);
      var version = (cap.xmlText("sessionIDVersion") || "2").trim();
      var hash = sessionHash(password, cap.xmlText("salt") || "", cap.xmlText("challenge") || "",
        Number(cap.xmlText("iterations") || 100), version === "2.1" ? cap.xmlText("salt2") || "" : "");
      var body = "<SessionLogin><userName>" + USER + "</userName><password>" + hash +
        "</password><sessionID>" + (cap.xmlText("sessionID") || "") +
        "</sessionID><isSessionIDValidLongTerm>false</isSessionIDValidLongTerm>" +
        "<sessionIDVersion>" + xmlEscape(version) + "</sessionIDVersion></SessionLogin>";
      return request("POST", "/ISAPI/Security/sessionLogin?timeStamp=" + Date.now(), body);
    });
  }

  function formatDuration(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return (m ? m + " min " : "") + s + " s";
  }

  function logout() {
    stopHeartbeat();
    try { global.sessionStorage.removeItem(SESSION_FLAG); } catch (e) { /* no storage */ }
    return request("PUT", "/ISAPI/Security/sessionLogout").catch(function () { return null; });
  }

  /* Whether this tab logged in (the flagged fields are then sent with security=1). */
  function sessionHeld() {
    try { return global.sessionStorage.getItem(SESSION_FLAG) === "1"; } catch (e) { return false; }
  }

  /* Resolves the DeviceInfo answer, or null when not logged in. */
  function deviceInfo() {
    return request("GET", "/ISAPI/System/deviceInfo").then(function (a) {
      if (!a.ok) return null;
      return {
        deviceName: a.xmlText("deviceName") || "", model: a.xmlText("model") || "",
        serialNumber: a.xmlText("serialNumber") || "", firmwareVersion: a.xmlText("firmwareVersion") || "",
        firmwareReleasedDate: a.xmlText("firmwareReleasedDate") || "", deviceType: a.xmlText("deviceType") || ""
      };
    });
  }

  function users() {
    return request("GET", "/ISAPI/Security/users").then(function (a) {
      expectOk(a);
      var out = [];
      var nodes = a.xml ? a.xml.getElementsByTagNameNS("*", "User") : [];
      for (var i = 0; i < nodes.length; i++) {
        var get = function (n) { var e = nodes[i].getElementsByTagNameNS("*", n); return e.length ? e[0].textContent : ""; };
        out.push({ id: get("id"), userName: get("userName"), userLevel: get("userLevel") });
      }
      return out;
    });
  }

  /* Which reset methods the device offers (no login needed). */
  function externCapabilities() {
    return request("GET", "/ISAPI/Security/extern/capabilities").then(function (a) {
      function flag(n) { return (a.xmlText(n) || "").trim() === "true"; }
      return {
        email: flag("isSupportWithSecurityEmail"), securityQuestion: flag("isSupportWithSecurityQuestion"),
        guidFile: flag("isSupportWithGUIDFileData"), hcApp: flag("isSupportWithHCApp")
      };
    });
  }

  function securityCapabilities() {
    return request("GET", "/ISAPI/Security/capabilities").then(function (a) {
      return { email: a.ok && (a.xmlText("isSupportSecurityEmail") || "").trim() === "true" };
    });
  }

  function getReservedEmail() {
    return request("GET", "/ISAPI/Security/email/parameter?format=json").then(function (a) {
      expectOk(a);
      var info = (a.json && a.json.SecurityEmail && a.json.SecurityEmail.SecurityInformation) || [];
      return info.length ? info[0].emailAddress : "";
    });
  }

  /*
   * Save the reserved address, proven by the admin password. Logged in, the fields go
   * encrypted (security=1) when the device gives keyIterateNum; otherwise plain, as the
   * real GUI falls back (DEVICE-SPEC §10).
   */
  function setReservedEmail(adminPassword, email) {
    var url = "/ISAPI/Security/email/parameter?format=json";
    var keyed = sessionHeld() ? fieldKey(adminPassword) : Promise.resolve(null);
    return keyed.then(function (key) {
      var pw = adminPassword, address = email;
      if (key) {
        var iv = randomHex(16);
        pw = encryptField(pw, key, iv);
        address = encryptField(address, key, iv);
        url += "?security=1&iv=" + iv;
      }
      var body = JSON.stringify({ SecurityEmail: { password: pw,
        SecurityInformation: [{ emailAddress: address }] } });
      return request("PUT", url, body, "application/json");
    }).then(expectOk);
  }

  /* docs/device-api.md "Field encryption": the AES key from keyIterateNum and salt, or null
     when the device gives no keyIterateNum. */
  function fieldKey(password) {
    return request("GET", "/ISAPI/Security/capabilities?username=" + USER).then(function (a) {
      var n = Number(a.xmlText("keyIterateNum") || 0);
      if (!a.ok || !n) return null;
      var h = sha256Hex(USER + (a.xmlText("salt") || "") + password) + "AaBbCcDd1234!@#$";
      for (var i = 0; i < n; i++) h = sha256Hex(h);
      return h.substring(0, 32);
    }, function () { return null; });
  }

  function randomHex(bytes) {
    var a = new Uint8Array(bytes);
    global.crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  /* hex(AES-128-CBC(Base64(value), key, iv)), PKCS#7 padded. */
  function encryptField(value, keyHex, ivHex) {
    var C = global.CryptoJS;
    var plain = C.enc.Utf8.parse(C.enc.Base64.stringify(C.enc.Utf8.parse(value)));
    var cipher = C.AES.encrypt(plain, C.enc.Hex.parse(keyHex),
      { iv: C.enc.Hex.parse(ivHex), mode: C.mode.CBC, padding: C.pad.Pkcs7 });
    return cipher.ciphertext.toString(C.enc.Hex);
  }

  /* A new reset QR (voids the previous one): {qrText, qrImage, validSeconds}. */
  function qrCode() {
    return request("GET", "/ISAPI/Security/email/qrCode?format=json").then(function (a) {
      expectOk(a);
      return a.json.QRCode;
    });
  }

  /* Check the mailed verification code (the device does not use it up yet). */
  function verifyCode(code) {
    var body = JSON.stringify({ EmailCertification: { securityCode: code } });
    return request("PUT", "/ISAPI/Security/emailCertification?format=json", body, "application/json")
      .then(expectOk);
  }

  /* Set the new password with the code, encrypted like activation with a fresh challenge;
     the device uses the code up. */
  function resetPassword(code, password) {
    return challenge().then(function (ch) {
      var body = JSON.stringify({ EmailCertification: { securityCode: code,
        resetPassword: encryptPassword(ch, password) } });
      return request("PUT", "/ISAPI/Security/emailCertification?format=json", body, "application/json");
    }).then(expectOk);
  }

  /*
   * A logged-in page keeps its session alive as the real GUI does: a heartbeat at once and
   * every 30 s; six failed beats in a row and the GUI leaves for its login page.
   */
  var HEARTBEAT_MS = 30000;
  var HEARTBEAT_FAILURES = 6;
  var SESSION_FLAG = "hik.session";
  var heartbeatTimer = null;
  var heartbeatFailures = 0;

  function beat() {
    // Checked at each beat: a single-page app changes pages without a load.
    if (!onProtectedPage()) return;
    request("PUT", "/ISAPI/Security/sessionHeartbeat").then(function (a) {
      heartbeatFailures = a.ok ? 0 : heartbeatFailures + 1;
    }, function () { heartbeatFailures += 1; }).then(function () {
      if (heartbeatFailures >= HEARTBEAT_FAILURES) toLogin();
    });
  }

  function startHeartbeat() {
    heartbeatFailures = 0;
    if (heartbeatTimer === null) heartbeatTimer = global.setInterval(beat, HEARTBEAT_MS);
    beat();
  }

  function stopHeartbeat() {
    if (heartbeatTimer !== null) global.clearInterval(heartbeatTimer);
    heartbeatTimer = null;
  }

  /* Small DOM helpers shared by the generations. */
  function $(id) { return global.document.getElementById(id); }
  function show(el, on) { if (typeof el === "string") el = $(el); if (el) el.hidden = !on; }
  function say(el, text, kind) {
    if (typeof el === "string") el = $(el);
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
    var k = kind || "error";
    ["error", "ok", "info"].forEach(function (c) { el.classList.toggle("is-" + c, c === k); });
  }
  function emailLooksValid(email) {
    return email.length >= 1 && email.length <= 32 && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email);
  }

  /* Multi-page generations: a logged-in page beats from its load on. */
  global.addEventListener("load", function () { if (onProtectedPage()) startHeartbeat(); });

  global.Hik = {
    USER: USER, LEVEL_NAMES: LEVEL_NAMES, LEVEL_KEYS: LEVEL_KEYS,
    device: device, strength: strength, displayedLevel: displayedLevel,
    confirmMatches: confirmMatches, bindStrength: bindStrength,
    request: request, errorText: errorText, DeviceError: DeviceError,
    challenge: challenge, encryptPassword: encryptPassword, sessionHash: sessionHash,
    activated: activated, requireActivated: requireActivated, activate: activate,
    login: login, logout: logout, deviceInfo: deviceInfo, users: users,
    externCapabilities: externCapabilities, securityCapabilities: securityCapabilities,
    getReservedEmail: getReservedEmail, setReservedEmail: setReservedEmail,
    qrCode: qrCode, verifyCode: verifyCode, resetPassword: resetPassword,
    startHeartbeat: startHeartbeat, stopHeartbeat: stopHeartbeat, sessionHeld: sessionHeld,
    encryptField: encryptField, fieldKey: fieldKey, toLogin: toLogin, LOGIN_PAGES: LOGIN_PAGES,
    formatDuration: formatDuration, emailLooksValid: emailLooksValid,
    $: $, show: show, say: say
  };
})(window);
