/*
 * login.asp: the login box, on an inactive camera under the activation popup (#active);
 * after activation the camera logs in and asks for a password reset method in the
 * Account Security Settings popup (#qaDialog2, tabs #tabsQA) before going on.
 */
(function () {
  "use strict";
  var t = App.t, h = App.h;
  var tip, notice;

  function languageList() {
    var sel = h("select", { class: "language", on: { change: function () {
      document.cookie = "language=" + this.value + "; path=/";
      location.reload();
    } } });
    App.LANGUAGES.forEach(function (l) {
      sel.appendChild(h("option", { value: l[0], text: l[1], selected: l[0] === App.language() }));
    });
    return sel;
  }

  function showTip(text) { tip.textContent = text || ""; tip.hidden = !text; }

  function unitOf(seconds) {
    return seconds < 60 ? [seconds, t("seconds")] : [Math.ceil(seconds / 60), t("minute")];
  }

  function loginBox() {
    var user = h("input", { id: "username", type: "text", maxlength: "32", autocomplete: "off",
      placeholder: t("userName") });
    var pass = h("input", { id: "password", type: "password", maxlength: "16", autocomplete: "off",
      placeholder: t("password") });
    var button = h("button", { type: "button", class: "btn btn-primary login-btn", text: t("login") });
    var busy = false;
    tip = h("label", { class: "error", hidden: true });
    notice = h("div", { class: "notice", hidden: true });
    function submit() {
      if (busy) return;
      showTip("");
      notice.hidden = true;
      if (!user.value.trim()) { showTip(t("inputUsername")); user.focus(); return; }
      if (!pass.value) { showTip(t("inputPassword")); pass.focus(); return; }
      if (App.device().checkCookies && !navigator.cookieEnabled) {
        showTip(t("cookieError")); return;
      }
      if (user.value.trim() !== ISAPI.USER) { refused({ retryLoginTime: "" }); return; }
      busy = true;
      ISAPI.login(pass.value).then(function (r) {
        busy = false;
        if (r.ok) { location.href = "preview.asp"; return; }
        refused(r);
      }, function (err) { busy = false; App.alert(App.errorText(err)); });
    }
    /* As the real GUI: the lock is a modal alert, a wrong password an inline tip with the
       attempts left; both fields are emptied. */
    function refused(r) {
      user.value = ""; pass.value = "";
      if (r.lockStatus) {
        App.alert(t("userLock", unitOf(r.unlockTime)), function () { user.focus(); });
        return;
      }
      if (r.status && r.status !== 401) { App.alert(App.errorText(r)); return; }
      showTip(r.retryLoginTime === "" ? t("loginError") : t("loginLockError", [r.retryLoginTime]));
      user.focus();
    }
    button.addEventListener("click", submit);
    [user, pass].forEach(function (el) {
      el.addEventListener("keydown", function (ev) { if (ev.key === "Enter") submit(); });
    });
    var box = h("div", { class: "login-box" },
      h("div", { class: "login-title", text: t("login") }),
      notice,
      h("div", { class: "login-item" }, user),
      h("div", { class: "login-item" }, pass),
      h("div", { class: "login-tip" }, tip),
      h("div", { class: "login-item" }, button),
      h("div", { class: "login-links" }, h("a", { href: "pwdReset.asp", text: t("forgetPassword") })));
    var message = sessionStorage.getItem("notice");
    if (message) {
      sessionStorage.removeItem("notice");
      notice.textContent = t(message);
      notice.hidden = false;
    }
    return box;
  }

  /* ------------------------------------------------------------ activation */

  function row(label, control) {
    return h("div", { class: "form-row" }, h("span", { class: "label", text: label }), control);
  }

  function showActivation() {
    var pass = h("input", { id: "activePassword", type: "password", maxlength: "16", autocomplete: "off" });
    var confirm = h("input", { type: "password", maxlength: "16", autocomplete: "off" });
    var content = h("div", { id: "active" },
      row(t("userName"), h("input", { type: "text", value: ISAPI.USER, disabled: true })),
      row(t("password"), pass),
      row("", App.strengthMeter(pass)),
      h("div", { class: "pwd-tip", text: t("passwordTip") }),
      row(t("confirm"), confirm));
    var busy = false;
    App.popup({ title: t("activeDevice"), width: 460, content: content, buttons: [{ key: "ok", primary: true,
      click: function (dlg) {
        if (busy) return false;
        var pw = pass.value.replace(/\s/g, ""), again = confirm.value.replace(/\s/g, "");
        if (!pw) { App.alert(t("password") + t("nullTips")); return false; }
        if (!App.confirmMatches(pw, again)) { App.alert(t("passNotMatch")); return false; }
        if (pw.indexOf(ISAPI.USER) >= 0) { App.alert(t("pwdIncludeUser")); return false; }
        busy = true;
        ISAPI.activate(pw).then(function () {
          // The camera logs in with the new password at once, then asks for a reset method.
          return ISAPI.login(pw).then(function (r) {
            dlg.close();
            if (!r.ok) { location.replace("login.asp"); return null; }
            return ISAPI.securityEmailSupported().then(function (email) {
              if (email) resetTypeSettings(pw); else location.href = "preview.asp";
            });
          });
        }).catch(function (err) { busy = false; App.alert(App.errorText(err)); });
        return false;
      } }] });
    pass.focus();
  }

  /* Account Security Settings: at least one password reset method before going on. */
  function resetTypeSettings(adminPassword) {
    var email = h("input", { type: "text", maxlength: "32", autocomplete: "off" });
    var tabs = [
      { key: "reservedEmail", pane: h("div", { class: "pane", role: "tabpanel" },
        row(t("emailAddress"), email), h("div", { class: "pwd-tip", text: t("emailTip") })) },
      { key: "securityQuestion", pane: h("div", { class: "pane", role: "tabpanel", hidden: true },
        h("p", { class: "note", text: t("questionTip") })) }
    ];
    var list = h("ul", { role: "tablist" });
    tabs.forEach(function (tab, i) {
      tab.tab = h("li", { role: "tab", class: i === 0 ? "sel" : null, "aria-selected": String(i === 0),
        tabindex: "0", text: t(tab.key), on: { click: function () { select(i); } } });
      list.appendChild(tab.tab);
    });
    function select(n) {
      tabs.forEach(function (tab, i) {
        tab.tab.className = i === n ? "sel" : "";
        tab.tab.setAttribute("aria-selected", String(i === n));
        tab.pane.hidden = i !== n;
      });
    }
    var content = h("div", { id: "qaDialog2" },
      h("p", { class: "intro", text: t("resetTypeTip") }),
      h("div", { id: "tabsQA", class: "tabs" }, list, tabs[0].pane, tabs[1].pane));
    var busy = false;
    App.popup({ title: t("resetTypeSettings"), width: 650, content: content, buttons: [{ key: "ok",
      primary: true, click: function () {
        if (busy) return false;
        var address = email.value.trim();
        if (!address) { App.alert(t("QATip1")); return false; }
        if (!App.emailValid(address)) { App.alert(t("emailError")); return false; }
        busy = true;
        ISAPI.setReservedEmail(adminPassword, address).then(function () {
          location.href = "preview.asp";
        }, function (err) { busy = false; App.alert(App.errorText(err)); });
        return false;
      } }] });
  }

  /* ------------------------------------------------------------ boot */

  App.boot(function (root) {
    document.title = App.device().model;
    var page = h("div", { class: "login-page" },
      h("div", { class: "login-top" }, h("span", { class: "product", text: App.device().model }), languageList()));
    root.appendChild(page);
    // The login box and, on an inactive camera, the activation popup over it are drawn in
    // one go once the state is known: a login box alone means an active camera.
    return ISAPI.activated().then(function (active) {
      page.appendChild(loginBox());
      if (active) document.getElementById("username").focus();
      else showActivation();
    }, function (err) { page.appendChild(loginBox()); showTip(App.errorText(err)); });
  });
})();
