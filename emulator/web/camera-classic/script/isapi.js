/*
 * The classic camera GUI's device layer: ISAPI calls as the real GUI sends them
 * (DEVICE-SPEC §10: cookies, no X-Requested-With, XML as form-urlencoded text, JSON as
 * application/json, `security=1` fields where the admin password is known) and the
 * password crypto of §3 and §5. Written for the emulator; needs crypto-js and jsencrypt.
 */
(function (global) {
  "use strict";

  var TIMEOUT_MS = 15000;
  var USER = "admin";
  var FORM_TYPE = "application/x-www-form-urlencoded; charset=UTF-8";
  var FIELD_KEY_SUFFIX = "AaBbCcDd1234!@#$";
  var PUBLIC_PAGES = ["/doc/page/login.asp", "/doc/page/pwdReset.asp"];
  var LOGIN_PAGE = "/doc/page/login.asp";

  function C() { return global.CryptoJS; }

  /* ---------------------------------------------------------------- answers */

  function Answer(status, text) {
    this.status = status;
    this.ok = status >= 200 && status < 300;
    this.text = text;
    this.json = null;
    this.xml = null;
    var trimmed = text.replace(/^\s+/, "");
    if (trimmed.charAt(0) === "{") {
      try { this.json = JSON.parse(trimmed); } catch (e) { this.json = null; }
    } else if (trimmed.charAt(0) === "<") {
      this.xml = new DOMParser().parseFromString(trimmed, "application/xml");
    }
  }

  /* The first element `name` in any namespace (newer firmware changes the namespace). */
  Answer.prototype.node = function (name) {
    if (!this.xml) return null;
    var nodes = this.xml.getElementsByTagNameNS("*", name);
    return nodes.length ? nodes[0].textContent.trim() : null;
  };

  /* subStatusCode and retryTimes of a ResponseStatus, XML or JSON. */
  Answer.prototype.sub = function () {
    var j = this.json;
    if (j) return { code: j.subStatusCode || j.errorMsg || "",
      retry: j.retryTimes === undefined ? null : Number(j.retryTimes) };
    var retry = this.node("retryTimes");
    return { code: this.node("subStatusCode") || "", retry: retry === null ? null : Number(retry) };
  };

  /* A refused call: `key` names the i18n message, `args` fill it. */
  function Refusal(answer) {
    var sub = answer.sub();
    this.name = "Refusal";
    this.answer = answer;
    this.subStatusCode = sub.code;
    this.retry = sub.retry;
    this.message = sub.code || ("HTTP " + answer.status);
  }
  Refusal.prototype = Object.create(Error.prototype);

  function expectOk(answer) {
    if (!answer.ok) throw new Refusal(answer);
    return answer;
  }

  /* ---------------------------------------------------------------- transport */

  function onPublicPage() {
    return PUBLIC_PAGES.indexOf(global.location.pathname) >= 0;
  }

  /*
   * A 401 on a logged-in page means the session is gone: back to login, as the real GUI
   * does. Not for answers to a password the user typed (the page shows those).
   */
  function leaveOnSessionLoss(url, answer) {
    if (answer.status !== 401 || onPublicPage()) return;
    if (answer.node("lockStatus") !== null || answer.sub().code === "passwordError") return;
    if (url.indexOf("/ISAPI/Security/email/parameter") === 0) return;
    holdSession(false);
    global.location.replace(LOGIN_PAGE);
  }

  /* Whether this tab logged in: a logged-in page without it goes to login at once
     (its first call would otherwise meet the device's challenge with cookies). */
  var SESSION_KEY = "loginState";
  function sessionHeld() {
    try { return global.sessionStorage.getItem(SESSION_KEY) === "1"; } catch (e) { return false; }
  }
  function holdSession(on) {
    try {
      if (on) global.sessionStorage.setItem(SESSION_KEY, "1");
      else global.sessionStorage.removeItem(SESSION_KEY);
    } catch (e) { /* no storage: every logged-in page goes to login */ }
  }

  /* One call as the real GUI sends it (§10): cookies always, no marker header. */
  function request(method, url, body, json) {
    var ctrl = new AbortController();
    var timer = setTimeout(function () { ctrl.abort(); }, TIMEOUT_MS);
    var init = { method: method, credentials: "same-origin", signal: ctrl.signal, headers: {} };
    if (body !== undefined && body !== null) {
      init.body = body;
      init.headers["Content-Type"] = json ? "application/json; charset=UTF-8" : FORM_TYPE;
    }
    return fetch(url, init).then(function (resp) {
      return resp.text().then(function (text) {
        clearTimeout(timer);
        var answer = new Answer(resp.status, text);
        leaveOnSessionLoss(url, answer);
        return answer;
      });
    }, function (err) {
      clearTimeout(timer);
      var e = new Error(err && err.name === "AbortError" ? "connectTimeout" : "networkError");
      e.subStatusCode = e.message;
      throw e;
    });
  }

  /* ---------------------------------------------------------------- crypto */

  function sha256(text) { return C().SHA256(text).toString(C().enc.Hex); }

  /* DEVICE-SPEC §3: RSA-1024 made here; the device's 32 hex characters come back as
     Base64 of the cipher's hex text. */
  function challenge() {
    var rsa = new global.JSEncrypt({ default_key_size: 1024 });
    var key = rsa.getKey();
    var body = "<PublicKey><key>" + btoa(key.n.toString(16)) + "</key></PublicKey>";
    return request("POST", "/ISAPI/Security/challenge", body).then(function (a) {
      expectOk(a);
      var hex = "";
      try { hex = atob((a.node("key") || "").trim()); } catch (e) { hex = ""; }
      var plain = /^([0-9a-fA-F]{2})+$/.test(hex)
        ? rsa.decrypt(C().enc.Hex.parse(hex).toString(C().enc.Base64)) : "";
      if (!plain || !/^[0-9a-fA-F]{32}$/.test(plain)) throw new Error("challengeError");
      return plain;
    });
  }

  /* AES-128-ECB, zero padding, over challenge[0:16] + password; Base64 of the hex. */
  function encryptPassword(challengeHex, password) {
    var cipher = C().AES.encrypt(C().enc.Utf8.parse(challengeHex.substring(0, 16) + password),
      C().enc.Hex.parse(challengeHex), { mode: C().mode.ECB, padding: C().pad.ZeroPadding });
    return btoa(cipher.ciphertext.toString(C().enc.Hex));
  }

  /* DEVICE-SPEC §5 session hash; version 2.1 hashes again with salt2 first. */
  function sessionHash(password, salt, challengeHex, iterations, salt2) {
    var r = sha256(USER + salt + password);
    if (salt2) r = sha256(USER + salt2 + r);
    r = sha256(r + challengeHex);
    for (var i = 2; i < iterations; i++) r = sha256(r);
    return r;
  }

  /* §10 `security=1`: the field key from the admin password, SecurityCap's salt and
     keyIterateNum; null when the device gives no keyIterateNum (then fields go plain). */
  function fieldKey(password) {
    return request("GET", "/ISAPI/Security/capabilities?username=" + USER).then(function (a) {
      var n = Number(a.node("keyIterateNum") || 0);
      if (!a.ok || !n) return null;
      var text = sha256(USER + (a.node("salt") || "") + password) + FIELD_KEY_SUFFIX;
      for (var i = 0; i < n; i++) text = sha256(text);
      return text.substring(0, 32);
    }, function () { return null; });
  }

  function randomHex(bytes) {
    var a = new Uint8Array(bytes);
    global.crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  /* hex(AES-128-CBC(Base64(value), key, iv)), PKCS#7. */
  function encryptField(value, keyHex, iv) {
    var b64 = C().enc.Base64.stringify(C().enc.Utf8.parse(value));
    var cipher = C().AES.encrypt(C().enc.Utf8.parse(b64), C().enc.Hex.parse(keyHex),
      { iv: C().enc.Hex.parse(iv), mode: C().mode.CBC, padding: C().pad.Pkcs7 });
    return cipher.ciphertext.toString(C().enc.Hex);
  }

  function xmlEscape(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  /* ---------------------------------------------------------------- calls */

  function activated() {
    return request("GET", "/SDK/activateStatus").then(function (a) {
      return a.node("Activated") === "true";
    });
  }

  function activate(password) {
    return challenge().then(function (ch) {
      return request("PUT", "/ISAPI/System/activate",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ActivateInfo><password>" +
        encryptPassword(ch, password) + "</password></ActivateInfo>");
    }).then(expectOk);
  }

  /*
   * Session login. Resolves {ok} or {ok: false, status, lockStatus, unlockTime,
   * retryLoginTime (string, "" when absent), subStatusCode}; a refusal's 401 userCheck
   * carries the lockout counters.
   */
  function login(password) {
    return sessionLogin(password).then(function (a) {
      if (a.ok) {
        holdSession(true);
        return { ok: true, riskPassword: a.node("isRiskPassword") === "true" };
      }
      var lock = a.node("lockStatus");
      var retry = a.node("retryLoginTime");
      return { ok: false, status: a.status, lockStatus: lock === "lock",
        unlockTime: Number(a.node("unlockTime") || 0),
        retryLoginTime: retry === null ? "" : retry, subStatusCode: a.sub().code };
    });
  }

  function sessionLogin(password) {
    return request("GET", "/ISAPI/Security/sessionLogin/capabilities?username=" + USER).then(function (cap) {
      expectOk(cap);
      var version = cap.node("sessionIDVersion") || "2";
      var hash = sessionHash(password, cap.node("salt") || "", cap.node("challenge") || "",
        Number(cap.node("iterations") || 100), version === "2.1" ? cap.node("salt2") || "" : "");
      var body = "<SessionLogin><userName>" + USER + "</userName><password>" + hash +
        "</password><sessionID>" + (cap.node("sessionID") || "") +
        "</sessionID><isSessionIDValidLongTerm>false</isSessionIDValidLongTerm>" +
        "<sessionIDVersion>" + xmlEscape(version) + "</sessionIDVersion></SessionLogin>";
      return request("POST", "/ISAPI/Security/sessionLogin?timeStamp=" + Date.now(), body, false);
    });
  }

  function logout() {
    holdSession(false);
    return request("PUT", "/ISAPI/Security/sessionLogout").catch(function () { return null; });
  }

  /* Heartbeat at once and every 30 s; six failures in a row end the session (§10). */
  var HEARTBEAT_MS = 30000;
  function startHeartbeat() {
    var failures = 0;
    function beat() {
      request("PUT", "/ISAPI/Security/sessionHeartbeat").then(function (a) {
        failures = a.ok ? 0 : failures + 1;
      }, function () { failures += 1; }).then(function () {
        if (failures >= 6) global.location.replace(LOGIN_PAGE);
      });
    }
    beat();
    global.setInterval(beat, HEARTBEAT_MS);
  }

  function deviceInfo() {
    return request("GET", "/ISAPI/System/deviceInfo").then(function (a) {
      if (!a.ok) return null;
      var out = {};
      ["deviceName", "model", "serialNumber", "firmwareVersion", "firmwareReleasedDate",
        "macAddress", "deviceType"].forEach(function (n) { out[n] = a.node(n) || ""; });
      return out;
    });
  }

  function users() {
    return request("GET", "/ISAPI/Security/users").then(function (a) {
      expectOk(a);
      var nodes = a.xml ? a.xml.getElementsByTagNameNS("*", "User") : [];
      return Array.prototype.map.call(nodes, function (u) {
        function get(n) { var e = u.getElementsByTagNameNS("*", n); return e.length ? e[0].textContent : ""; }
        return { id: get("id"), userName: get("userName"), userLevel: get("userLevel") };
      });
    });
  }

  function externCapabilities() {
    return request("GET", "/ISAPI/Security/extern/capabilities").then(function (a) {
      function flag(n) { return a.node(n) === "true"; }
      return { email: flag("isSupportWithSecurityEmail"), question: flag("isSupportWithSecurityQuestion"),
        guid: flag("isSupportWithGUIDFileData") };
    });
  }

  function securityEmailSupported() {
    return request("GET", "/ISAPI/Security/capabilities?username=" + USER).then(function (a) {
      return a.ok && a.node("isSupportSecurityEmail") === "true";
    });
  }

  function reservedEmail() {
    return request("GET", "/ISAPI/Security/email/parameter?format=json").then(function (a) {
      expectOk(a);
      var info = (a.json && a.json.SecurityEmail && a.json.SecurityEmail.SecurityInformation) || [];
      return info.length ? info[0].emailAddress : "";
    });
  }

  /* Reserved e-mail, proved with the admin password; both fields `security=1` when the
     device gives a keyIterateNum, plain otherwise (§10). */
  function setReservedEmail(adminPassword, email) {
    return fieldKey(adminPassword).then(function (key) {
      var url = "/ISAPI/Security/email/parameter?format=json";
      var pw = adminPassword, addr = email;
      if (key) {
        var iv = randomHex(16);
        url += "?security=1&iv=" + iv;
        pw = encryptField(adminPassword, key, iv);
        addr = encryptField(email, key, iv);
      }
      var body = JSON.stringify({ SecurityEmail: { password: pw,
        SecurityInformation: [{ emailAddress: addr }] } });
      return request("PUT", url, body, true);
    }).then(expectOk);
  }

  function qrCode() {
    return request("GET", "/ISAPI/Security/email/qrCode?format=json").then(function (a) {
      expectOk(a);
      return a.json.QRCode;
    });
  }

  function checkCode(code) {
    return request("PUT", "/ISAPI/Security/emailCertification?format=json",
      JSON.stringify({ EmailCertification: { securityCode: code } }), true).then(expectOk);
  }

  /* The new password, encrypted as at activation with a fresh challenge; uses the code up. */
  function resetPassword(code, password) {
    return challenge().then(function (ch) {
      return request("PUT", "/ISAPI/Security/emailCertification?format=json",
        JSON.stringify({ EmailCertification: { securityCode: code,
          resetPassword: encryptPassword(ch, password) } }), true);
    }).then(expectOk);
  }

  global.ISAPI = {
    USER: USER, LOGIN_PAGE: LOGIN_PAGE, request: request, Refusal: Refusal, sessionHeld: sessionHeld,
    activated: activated, activate: activate, login: login, logout: logout,
    startHeartbeat: startHeartbeat, deviceInfo: deviceInfo, users: users,
    externCapabilities: externCapabilities, securityEmailSupported: securityEmailSupported,
    reservedEmail: reservedEmail, setReservedEmail: setReservedEmail, qrCode: qrCode,
    checkCode: checkCode, resetPassword: resetPassword
  };
})(window);
