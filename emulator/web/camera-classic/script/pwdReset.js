/*
 * pwdReset.asp, behind *Forget Password*: reset mode → privacy notice → QR code (Export,
 * Refresh) and verification code → new password → back to login with a notice.
 * One step is in the page at a time.
 */
(function () {
  "use strict";
  var t = App.t, h = App.h;
  var body, securityCode = "";

  function step(titleKey, nodes, buttons) {
    body.innerHTML = "";
    body.appendChild(h("h3", { class: "step-title", text: t(titleKey) }));
    nodes.forEach(function (n) { if (n) body.appendChild(n); });
    var foot = h("div", { class: "step-btns" });
    buttons.forEach(function (b) { foot.appendChild(b); });
    body.appendChild(foot);
  }

  function button(key, primary, onClick) {
    return h("button", { type: "button", class: primary ? "btn btn-primary" : "btn", text: t(key),
      on: { click: onClick } });
  }

  function tipLine() { return h("div", { class: "tip", hidden: true }); }
  function say(el, text) { el.textContent = text || ""; el.hidden = !text; }

  function row(label, control) {
    return h("div", { class: "form-row" }, h("span", { class: "label", text: label }), control);
  }

  /* ------------------------------------------------------------ steps */

  var MODES = [["email", "emailVerify"], ["question", "questionVerify"], ["guid", "guidVerify"]];

  function modeStep(caps) {
    var list = h("div", { class: "modes" });
    var offered = MODES.filter(function (m) { return caps[m[0]]; });
    offered.forEach(function (m, i) {
      list.appendChild(h("label", { class: "mode" },
        h("input", { type: "radio", name: "resetMode", value: m[0], checked: i === 0 }), " " + t(m[1])));
    });
    var hint = tipLine();
    if (!offered.length) say(hint, t("noResetMode"));
    var next = button("next", true, function () {
      var sel = list.querySelector("input:checked");
      if (!sel) return;
      if (sel.value === "email") { privacyStep(); return; }
      say(hint, t("resetModeTip"));
    });
    next.disabled = !offered.length;
    step("selectResetMode", [list, hint], [next, button("cancel", false, backToLogin)]);
  }

  function privacyStep() {
    var agree = h("input", { type: "checkbox" });
    var next = button("next", true, function () { if (agree.checked) qrStep(); });
    next.disabled = true;
    agree.addEventListener("change", function () { next.disabled = !agree.checked; });
    step("privacyTitle", [
      h("div", { class: "privacy", text: t("privacyText") }),
      h("label", { class: "agree" }, agree, " " + t("privacyAgree"))
    ], [next, button("cancel", false, backToLogin)]);
  }

  function qrStep() {
    var img = h("img", { class: "qr", alt: t("qrCode") });
    var exp = h("a", { class: "btn", href: "javascript:;", download: "QRCode.png", text: t("export") });
    var code = h("input", { type: "text", maxlength: "8", autocomplete: "off" });
    var tip = tipLine();
    function load() {
      say(tip, "");
      code.value = "";
      return ISAPI.qrCode().then(function (qr) {
        img.src = qr.qrImage;
        exp.href = qr.qrImage;
      }, function (err) { say(tip, App.errorText(err)); });
    }
    var busy = false;
    var next = button("next", true, function () {
      var value = code.value.trim();
      if (busy) return;
      if (!value) { say(tip, t("inputVerifyCode")); return; }
      busy = true;
      say(tip, "");
      ISAPI.checkCode(value).then(function () {
        securityCode = value;
        passwordStep();
      }, function (err) { busy = false; say(tip, App.errorText(err)); });
    });
    step("emailVerify", [
      h("div", { class: "qr-area" }, img, h("div", { class: "qr-help" },
        h("p", { text: t("qrTip") }), exp, " ", button("refresh", false, load))),
      row(t("verifyCode"), code), tip
    ], [next, button("cancel", false, backToLogin)]);
    load();
  }

  function passwordStep() {
    var pass = h("input", { type: "password", maxlength: "16", autocomplete: "off" });
    var confirm = h("input", { type: "password", maxlength: "16", autocomplete: "off" });
    var tip = tipLine();
    var busy = false;
    var ok = button("ok", true, function () {
      if (busy) return;
      var pw = pass.value, again = confirm.value;
      if (!pw) { say(tip, t("password") + t("nullTips")); return; }
      if (!App.confirmMatches(pw, again)) { say(tip, t("passNotMatch")); return; }
      if (pw.indexOf(ISAPI.USER) >= 0) { say(tip, t("pwdIncludeUser")); return; }
      busy = true;
      say(tip, "");
      ISAPI.resetPassword(securityCode, pw).then(function () {
        sessionStorage.setItem("notice", "resetPwdSucc");
        location.replace("login.asp");
      }, function (err) { busy = false; say(tip, App.errorText(err)); });
    });
    step("setNewPassword", [
      row(t("newPassword"), pass), row("", App.strengthMeter(pass)),
      h("div", { class: "pwd-tip", text: t("passwordTip") }),
      row(t("confirm"), confirm), tip
    ], [ok, button("cancel", false, backToLogin)]);
  }

  function backToLogin() { location.replace("login.asp"); }

  App.boot(function (root) {
    document.title = App.device().model;
    body = h("div", { class: "wizard-body" });
    root.appendChild(h("div", { class: "login-page" },
      h("div", { class: "login-top" }, h("span", { class: "product", text: App.device().model })),
      h("div", { class: "wizard" }, h("div", { class: "wizard-title", text: t("resetPassword") }), body)));
    return ISAPI.activated().then(function (active) {
      if (!active && App.device().guardInactive) { location.replace("login.asp"); return null; }
      return ISAPI.externCapabilities().then(modeStep);
    });
  });
})();
