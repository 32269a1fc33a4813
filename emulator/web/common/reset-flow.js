/*
 * The "Forgot Password" wizard shared by the generations: method → privacy notice → QR and
 * verification code → new password. Each generation brings its own DOM and wording and
 * passes the element ids; this file only holds the sequence and the ISAPI calls.
 */
(function (global) {
  "use strict";

  /*
   * cfg.ids: methodStep, methodList, methodNext, methodHint, privacyStep, privacyAccept,
   *   privacyNext, qrStep, qrImage, qrExport, qrRefresh, code, codeNext, qrError,
   *   passwordStep, password, confirm, strength, ok, error, (optional) cancel.
   * cfg.methods: {email, question, guid: {label}}; cfg.methodIdPrefix;
   * cfg.consoleHint: text shown for methods the web client cannot do;
   * cfg.noMethod: text when the device offers nothing; cfg.activationUrl;
   * cfg.onStep(name); cfg.onDone(); cfg.exportName.
   */
  function start(cfg) {
    var Hik = global.Hik, $ = Hik.$, ids = cfg.ids;
    var steps = { method: ids.methodStep, privacy: ids.privacyStep, qr: ids.qrStep, password: ids.passwordStep };
    var securityCode = "";
    var chosen = "";

    function go(name) {
      Object.keys(steps).forEach(function (k) { Hik.show(steps[k], k === name); });
      if (cfg.onStep) cfg.onStep(name);
    }

    function buildMethods(caps) {
      var list = $(ids.methodList);
      list.innerHTML = "";
      var offered = [];
      if (caps.email) offered.push("email");
      if (caps.securityQuestion) offered.push("question");
      if (caps.guidFile) offered.push("guid");
      offered.forEach(function (key, i) {
        var m = cfg.methods[key];
        var label = document.createElement("label");
        var input = document.createElement("input");
        input.type = "radio"; input.name = "resetMethod"; input.value = key;
        input.id = cfg.methodIdPrefix + key;
        if (i === 0) input.checked = true;
        var span = document.createElement("span");
        span.textContent = " " + m.label;
        label.appendChild(input); label.appendChild(span);
        list.appendChild(label);
      });
      if (!offered.length) Hik.say(ids.methodHint, cfg.noMethod, "info");
      $(ids.methodNext).disabled = !offered.length;
    }

    function loadQr() {
      Hik.say(ids.qrError, "");
      $(ids.code).value = "";
      return Hik.qrCode().then(function (qr) {
        $(ids.qrImage).src = qr.qrImage;
        var a = $(ids.qrExport);
        a.href = qr.qrImage;
        a.setAttribute("download", cfg.exportName || "ResetPasswordQRCode.png");
      }, function (err) { Hik.say(ids.qrError, err.message); });
    }

    $(ids.methodNext).addEventListener("click", function (ev) {
      ev.preventDefault();
      var sel = document.querySelector("input[name=resetMethod]:checked");
      chosen = sel ? sel.value : "";
      if (chosen === "email") { Hik.say(ids.methodHint, ""); go("privacy"); return; }
      if (chosen) Hik.say(ids.methodHint, cfg.consoleHint, "info");
    });
    $(ids.privacyAccept).addEventListener("change", function () {
      $(ids.privacyNext).disabled = !this.checked;
    });
    $(ids.privacyNext).disabled = true;
    $(ids.privacyNext).addEventListener("click", function (ev) {
      ev.preventDefault();
      if (!$(ids.privacyAccept).checked) return;
      go("qr");
      loadQr();
    });
    $(ids.qrRefresh).addEventListener("click", function (ev) { ev.preventDefault(); loadQr(); });
    $(ids.codeNext).addEventListener("click", function (ev) {
      ev.preventDefault();
      var code = $(ids.code).value.trim();
      if (!code) return Hik.say(ids.qrError, "Please enter the verification code.");
      $(ids.codeNext).disabled = true;
      Hik.verifyCode(code).then(function () {
        $(ids.codeNext).disabled = false;
        securityCode = code;
        Hik.say(ids.error, "");
        go("password");
      }, function (err) { $(ids.codeNext).disabled = false; Hik.say(ids.qrError, err.message); });
    });
    Hik.bindStrength($(ids.password), $(ids.strength));
    $(ids.ok).addEventListener("click", function (ev) {
      ev.preventDefault();
      var pw = $(ids.password).value, confirm = $(ids.confirm).value;
      if (!pw) return Hik.say(ids.error, "Please enter the new password.");
      if (!Hik.confirmMatches(pw, confirm)) return Hik.say(ids.error, "The passwords do not match.");
      Hik.say(ids.error, "");
      $(ids.ok).disabled = true;
      Hik.resetPassword(securityCode, pw).then(function () {
        $(ids.ok).disabled = false;
        sessionStorage.setItem("hik.notice", "The password has been reset. Log in with the new password.");
        cfg.onDone();
      }, function (err) { $(ids.ok).disabled = false; Hik.say(ids.error, err.message); });
    });

    var guarded = Hik.device().guardInactive ? Hik.requireActivated(cfg.activationUrl)
      : Promise.resolve(true);
    return guarded.then(function (ok) {
      if (!ok) return false;
      return Hik.externCapabilities().then(function (caps) {
        buildMethods(caps);
        go("method");
        return true;
      });
    });
  }

  global.HikReset = { start: start };
})(window);
