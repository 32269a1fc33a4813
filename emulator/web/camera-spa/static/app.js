/*
 * Camera web 5.x: a single-page app. The shell is empty at load; each hash route fetches its
 * view (views/*.html) and binds it. #app[data-view] names the view once it is ready, so a
 * page object can wait for it.
 */
(function () {
  "use strict";
  var $ = Hik.$;
  var app = $("app");
  var viewCache = {};
  var activationPassword = "";  // kept only between activation and the reset-method dialog

  function fetchView(name) {
    if (viewCache[name]) return Promise.resolve(viewCache[name]);
    return Hik.request("GET", "views/" + name + ".html").then(function (a) {
      if (!a.ok) throw new Error("Could not load the page (" + name + ").");
      viewCache[name] = a.text;
      return a.text;
    });
  }

  function render(html, viewName) {
    document.body.removeAttribute("data-reset-step");
    app.innerHTML = html;
    app.setAttribute("data-view", viewName);
    app.removeAttribute("aria-busy");
    app.querySelectorAll("[data-role=device]").forEach(function (el) {
      el.textContent = Hik.device().model + "  " + Hik.device().firmware;
    });
  }

  /* Routes: view, whether a login is needed, and the function that binds the view. */
  var routes = {
    "/activate": { view: "activate", inactiveOnly: true, bind: bindActivate },
    "/login": { view: "login", bind: bindLogin },
    "/pwdReset": { view: "pwd-reset", bind: bindPwdReset },
    "/preview": { view: "preview", shell: "nav-preview", login: true, bind: function () {} },
    "/playback": { view: "preview", shell: "nav-playback", login: true, bind: function () {} },
    "/config/user": { view: "config-user", shell: "nav-config", login: true, bind: bindConfigUser }
  };

  function go(path) { location.replace("#" + path); }

  function route() {
    var path = (location.hash || "#/login").replace(/^#/, "").split("?")[0];
    var r = routes[path];
    if (!r) { go("/login"); return; }
    app.setAttribute("aria-busy", "true");
    Hik.activated().then(function (active) {
      if (!active && !r.inactiveOnly) { go("/activate"); return null; }
      if (active && r.inactiveOnly && !activationPassword) { go("/login"); return null; }
      var check = r.login ? Hik.deviceInfo() : Promise.resolve(true);
      return check.then(function (ok) {
        if (!ok) { go("/login"); return null; }
        if (!r.shell) return fetchView(r.view).then(function (html) { render(html, r.view); r.bind(); });
        return Promise.all([fetchView("shell"), fetchView(r.view)]).then(function (parts) {
          render(parts[0], r.view);
          $("shell-body").innerHTML = parts[1];
          $(r.shell).classList.add("active");
          $("logout-btn").addEventListener("click", function () {
            Hik.logout().then(function () { go("/login"); });
          });
          r.bind();
        });
      });
    }).catch(function (err) {
      render('<div class="card" style="margin:40px auto"><div class="alert" id="app-error"></div></div>', "error");
      Hik.say("app-error", err.message);
    });
  }

  function bindActivate() {
    Hik.bindStrength($("activate-password"), $("activate-strength"));
    $("rm-question-check").addEventListener("change", function () { Hik.show("rm-question-note", this.checked); });
    $("rm-email-check").addEventListener("change", function () { Hik.show("rm-email-field", this.checked); });
    if (activationPassword) Hik.show("reset-method-dialog", true);
    $("activate-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var pw = $("activate-password").value;
      if (!pw) return Hik.say("activate-error", "Please enter the password.");
      if (!Hik.confirmMatches(pw, $("activate-confirm").value)) return Hik.say("activate-error", "The passwords do not match.");
      Hik.say("activate-error", "");
      $("activate-submit").disabled = true;
      Hik.activate(pw).then(function () { return Hik.login(pw); }).then(function (r) {
        $("activate-submit").disabled = false;
        if (!r.ok) { sessionStorage.setItem("hik.notice", r.message); go("/login"); return; }
        return Hik.securityCapabilities().then(function (caps) {
          if (!caps.email) { go("/preview"); return; }
          activationPassword = pw;
          Hik.show("reset-method-dialog", true);
        });
      }, function (err) { $("activate-submit").disabled = false; Hik.say("activate-error", err.message); });
    });
    $("reset-method-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var wantsEmail = $("rm-email-check").checked, email = $("rm-email").value.trim();
      // Refuses to go on until a method the web client can set (the e-mail) is set.
      if (!wantsEmail || !email) return Hik.say("rm-error", "Set at least one password reset method.");
      if (!Hik.emailLooksValid(email)) return Hik.say("rm-error", "Invalid e-mail address (up to 32 characters).");
      $("rm-submit").disabled = true;
      Hik.setReservedEmail(activationPassword, email).then(function () {
        activationPassword = "";
        go("/preview");
      }, function (err) { $("rm-submit").disabled = false; Hik.say("rm-error", err.message); });
    });
  }

  function bindLogin() {
    var notice = sessionStorage.getItem("hik.notice");
    if (notice) { Hik.say("login-notice", notice, "ok"); sessionStorage.removeItem("hik.notice"); }
    $("login-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      if ($("login-username").value.trim() !== Hik.USER) return Hik.say("login-error", "Incorrect user name or password.");
      if (!$("login-password").value) return Hik.say("login-error", "Please enter the password.");
      $("login-submit").disabled = true;
      Hik.login($("login-password").value).then(function (r) {
        $("login-submit").disabled = false;
        if (r.ok) { go("/preview"); return; }
        $("login-error").setAttribute("data-attempts-left", r.attemptsLeft === null ? "" : String(r.attemptsLeft));
        $("login-error").setAttribute("data-locked", String(r.locked));
        Hik.say("login-error", r.message);
      }, function (err) { $("login-submit").disabled = false; Hik.say("login-error", err.message); });
    });
  }

  function bindConfigUser() {
    function load() {
      Promise.all([Hik.users(), Hik.securityCapabilities()]).then(function (got) {
        var list = got[0], emailSupported = got[1].email;
        var tbody = $("user-table").querySelector("tbody");
        tbody.innerHTML = "";
        list.forEach(function (u, i) {
          var tr = document.createElement("tr");
          tr.setAttribute("data-user", u.userName);
          [String(i + 1), u.userName, u.userLevel].forEach(function (t) {
            var td = document.createElement("td"); td.textContent = t; tr.appendChild(td);
          });
          var td = document.createElement("td");
          tr.appendChild(td); tbody.appendChild(tr);
          if (!emailSupported) return;
          var a = document.createElement("a");
          a.href = "javascript:void(0)"; a.id = "account-security-" + u.userName;
          a.textContent = "Account Security Settings"; a.setAttribute("data-i18n", "user.accountSecurity");
          a.addEventListener("click", openDialog);
          td.appendChild(a);
        });
      }, function (err) { Hik.say("user-notice", err.message, "error"); });
    }
    function openDialog() {
      $("as-admin-password").value = ""; $("as-email").value = ""; Hik.say("as-error", "");
      Hik.getReservedEmail().then(function (cur) {
        $("as-current").textContent = cur ? "Current reserved e-mail: " + cur : "No reserved e-mail is set.";
      }, function () { $("as-current").textContent = ""; });
      Hik.show("account-security-dialog", true);
    }
    $("as-cancel").addEventListener("click", function () { Hik.show("account-security-dialog", false); });
    $("account-security-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var pw = $("as-admin-password").value, email = $("as-email").value.trim();
      if (!pw) return Hik.say("as-error", "Please enter the admin password.");
      if (!Hik.emailLooksValid(email)) return Hik.say("as-error", "Invalid e-mail address (up to 32 characters).");
      $("as-submit").disabled = true;
      Hik.setReservedEmail(pw, email).then(function () {
        $("as-submit").disabled = false;
        Hik.show("account-security-dialog", false);
        Hik.say("user-notice", "Saved successfully.", "ok");
      }, function (err) { $("as-submit").disabled = false; Hik.say("as-error", err.message); });
    });
    load();
  }

  function bindPwdReset() {
    HikReset.start({
      ids: { methodStep: "pr-step-mode", methodList: "pr-modes", methodNext: "pr-mode-next", methodHint: "pr-mode-hint",
        privacyStep: "pr-step-privacy", privacyAccept: "pr-privacy-accept", privacyNext: "pr-privacy-next",
        qrStep: "pr-step-verify", qrImage: "pr-qr", qrExport: "pr-export", qrRefresh: "pr-refresh",
        code: "pr-code", codeNext: "pr-verify-next", qrError: "pr-verify-error",
        passwordStep: "pr-step-password", password: "pr-password", confirm: "pr-confirm",
        strength: "pr-strength", ok: "pr-submit", error: "pr-error" },
      methodIdPrefix: "pr-mode-",
      methods: {
        email: { label: "E-mail Verification", i18n: "reset.modeEmail" },
        question: { label: "Security Question Verification", i18n: "reset.modeQuestion" },
        guid: { label: "GUID File Verification", i18n: "reset.modeGuid" }
      },
      consoleHint: "This mode is available with the SADP tool or the local console only.",
      noMethod: "No password reset mode is available. Contact your dealer.",
      activationUrl: "#/activate",
      exportName: "reset-qr.png",
      onStep: function (name) {
        var order = ["method", "privacy", "qr", "password"];
        document.querySelectorAll("#pr-stepper div").forEach(function (d) {
          d.classList.toggle("done", order.indexOf(d.getAttribute("data-step")) <= order.indexOf(name));
        });
      },
      onDone: function () { go("/login"); }
    });
    // The wizard's radios are plain labels; give them the SPA's card look.
    new MutationObserver(function () {
      document.querySelectorAll("#pr-modes label").forEach(function (l) { l.className = "mode"; });
    }).observe($("pr-modes"), { childList: true });
  }

  window.addEventListener("hashchange", route);
  route();
})();
