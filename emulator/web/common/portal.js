/*
 * The single-page web GUI shell of the recorder (DVR/NVR web 5.x) and camera-spa (IPC from
 * V5.7.0) generations (DEVICE-SPEC §2): hash routes, the portal (#portal: login,
 * activation, password reset) and the logged-in app (#app), in the DOM and class names of
 * an element-ui app, written in plain JS. What differs per product line (menus, wording,
 * the reserved e-mail at activation) comes from window.HIK_PROFILE (static/profile.js).
 *
 * Nothing here marks state in data-* attributes or tags buttons with ids: a page object
 * finds controls as a person does (placeholder, label, text, role).
 */
(function (global) {
  "use strict";
  var Hik = global.Hik, P = global.HIK_PROFILE, T = P.texts;
  var doc = global.document;
  var portal = doc.getElementById("portal"), app = doc.getElementById("app");
  var pendingMethodPassword = "";  // camera: kept between activation and its reset-method dialog

  /* ------------------------------------------------------------ small DOM kit */

  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function q(root, sel) { return root.querySelector(sel); }
  function qa(root, sel) { return Array.prototype.slice.call(root.querySelectorAll(sel)); }
  function on(el, ev, fn) { el.addEventListener(ev, fn); }

  /* An element-ui form item; `input` is the input's extra attributes (never an id). */
  function formItem(label, input, cls) {
    return '<div class="el-form-item' + (cls ? " " + cls : "") + '">' +
      (label ? '<label class="el-form-item__label">' + esc(label) + "</label>" : "") +
      '<div class="el-form-item__content"><div class="el-input"><input class="el-input__inner" ' +
      input + ' autocomplete="off"></div></div></div>';
  }
  function button(text, primary, cls) {
    return '<button type="button" class="el-button' + (primary ? " el-button--primary" : " el-button--default") +
      (cls ? " " + cls : "") + '"><span>' + esc(text) + "</span></button>";
  }
  function checkbox(text, cls) {
    return '<label class="el-checkbox' + (cls ? " " + cls : "") + '"><span class="el-checkbox__input">' +
      '<input type="checkbox" class="el-checkbox__original"><span class="el-checkbox__inner"></span></span>' +
      '<span class="el-checkbox__label">' + esc(text) + "</span></label>";
  }
  function strengthMeter() {
    return '<div class="password-strength" hidden><span class="strength-bar"></span>' +
      '<span class="strength-bar"></span><span class="strength-bar"></span><span class="strength-text"></span></div>';
  }
  function alertBox(kind) {
    return '<div class="el-alert el-alert--' + kind + ' is-light" role="alert" hidden></div>';
  }
  /* Show `text` in an el-alert (rebuilt each time: a page object may have emptied it). */
  function say(el, text) {
    if (!el) return;
    el.innerHTML = text ? '<div class="el-alert__content"><span class="el-alert__title">' + esc(text) + "</span></div>" : "";
    el.hidden = !text;
  }
  /* A toast as element-ui's $message: it closes by itself. */
  function toast(text, kind) {
    var box = doc.createElement("div");
    box.className = "el-message el-message--" + (kind || "success");
    box.setAttribute("role", "alert");
    box.innerHTML = '<p class="el-message__content">' + esc(text) + "</p>";
    doc.body.appendChild(box);
    global.setTimeout(function () { box.remove(); }, 3000);
  }
  /* A dialog as element-ui's el-dialog: role=dialog named by its title. */
  function dialog(title, body, footer) {
    return '<div class="el-dialog__wrapper" hidden><div class="el-dialog" role="dialog" aria-modal="true" aria-label="' +
      esc(title) + '"><div class="el-dialog__header"><span class="el-dialog__title">' + esc(title) +
      '</span></div><div class="el-dialog__body">' + body + '</div><div class="el-dialog__footer">' + footer +
      "</div></div></div>";
  }
  function inputs(root) { return qa(root, "input.el-input__inner"); }
  function busy(btn, on_) { btn.disabled = on_; btn.classList.toggle("is-loading", on_); }

  /* ------------------------------------------------------------ routing */

  function go(path) { global.location.replace("#" + path); }
  function here() { return (global.location.hash || "").replace(/^#/, "").split("?")[0]; }

  var routes = {
    "/portal/login": { portal: true, render: renderLogin },
    "/portal/activate": { portal: true, inactiveOnly: true, render: renderActivate },
    "/portal/resetPassword": { portal: true, reset: true, render: renderReset },
    "/preview": { menu: "preview", render: renderPreview },
    "/playback": { menu: "playback", render: renderPreview },
    "/config/info": { menu: "config", render: renderDeviceInfo },
    "/config/user": { menu: "config", render: renderUsers }
  };

  function route() {
    var path = here();
    var r = routes[path];
    if (!r) { go("/portal/login"); return; }
    Hik.activated().then(function (active) {
      // A GUI defect may leave the reset wizard open on an inactive device.
      var guarded = !r.reset || Hik.device().guardInactive;
      if (!active && !r.inactiveOnly && guarded) { go("/portal/activate"); return null; }
      if (active && r.inactiveOnly && !pendingMethodPassword) { go("/portal/login"); return null; }
      if (r.portal) {
        app.hidden = true; app.innerHTML = "";
        portal.hidden = false;
        r.render();
        return null;
      }
      // A tab that did not log in goes to login without asking: a credentialed call
      // without a session would meet the device's Digest challenge (see hik.js NO_LOGIN).
      if (!Hik.sessionHeld()) { go("/portal/login"); return null; }
      return Hik.deviceInfo().catch(function () { return null; }).then(function (info) {
        if (!info) { Hik.toLogin(); return; }
        portal.hidden = true; portal.innerHTML = "";
        renderShell(r.menu, info);
        r.render(q(app, ".el-main"), info);
        Hik.startHeartbeat();
      });
    }).catch(function (err) {
      portal.hidden = false;
      portal.innerHTML = '<div class="portal-box">' + alertBox("error") + "</div>";
      say(q(portal, ".el-alert"), err.message);
    });
  }

  /* ------------------------------------------------------------ portal: login */

  function portalFrame(title, inner) {
    return '<div class="portal-bg"><div class="portal-box"><div class="portal-title">' +
      '<div class="portal-product">' + esc(P.product) + "</div><h1>" + esc(title) + "</h1></div>" + inner +
      "</div></div>";
  }

  function renderLogin() {
    portal.innerHTML = portalFrame(T.login,
      alertBox("success") +
      '<form class="el-form login-form" autocomplete="off">' +
      formItem("", 'type="text" placeholder="' + esc(T.userName) + '" value="admin" maxlength="32"', "login-input") +
      formItem("", 'type="password" placeholder="' + esc(T.password) + '" maxlength="16"', "login-input") +
      alertBox("error") +
      button(T.login, true, "login-btn") +
      '<div class="login-links"><a class="el-link el-link--primary" href="#/portal/resetPassword"><span class="el-link--inner">' +
      esc(T.forgotPassword) + "</span></a></div></form>");
    var fields = inputs(portal), user = fields[0], pw = fields[1];
    var notice = q(portal, ".el-alert--success"), error = q(portal, ".el-alert--error");
    var btn = q(portal, ".login-btn");
    var saved = global.sessionStorage.getItem("hik.notice");
    if (saved) { say(notice, saved); global.sessionStorage.removeItem("hik.notice"); }
    function submit(ev) {
      if (ev) ev.preventDefault();
      say(error, "");
      if (user.value.trim() !== Hik.USER) return say(error, T.loginError);
      if (!pw.value) return say(error, T.enterPassword);
      busy(btn, true);
      Hik.login(pw.value).then(function (r) {
        busy(btn, false);
        if (r.ok) { go("/preview"); return; }
        say(error, r.message);
      }, function (err) { busy(btn, false); say(error, err.message); });
    }
    on(btn, "click", submit);
    on(q(portal, "form"), "submit", submit);
    on(pw, "keydown", function (ev) { if (ev.key === "Enter") submit(ev); });
    pw.focus();
  }

  /* ------------------------------------------------------------ portal: activation */

  /* The recorder's form shows once the page knows whether the firmware offers the reserved
     e-mail (extern capabilities), so the form never changes under the user's hands. */
  function renderActivate() {
    if (!P.reservedEmailAtActivation) { drawActivate(false); return; }
    Hik.externCapabilities().then(function (caps) { drawActivate(caps.hcApp); },
      function () { drawActivate(false); });
  }

  function drawActivate(offerEmail) {
    if (here() !== "/portal/activate") return;
    var emailAtActivation = P.reservedEmailAtActivation;
    portal.innerHTML = portalFrame(T.activation,
      '<form class="el-form activate-form" autocomplete="off">' +
      formItem(T.userName, 'type="text" value="admin" disabled') +
      formItem(T.newPassword, 'type="password" placeholder="' + esc(T.newPassword) + '" maxlength="16"') +
      strengthMeter() +
      '<div class="el-form-item__tip">' + esc(T.passwordRange) + "</div>" +
      formItem(T.confirmPassword, 'type="password" placeholder="' + esc(T.confirmPassword) + '" maxlength="16"') +
      (emailAtActivation ? '<div class="el-form-item reserved-email" hidden>' + checkbox(T.reservedEmail) + "</div>" +
        '<div class="reserved-email-address" hidden>' +
        formItem(T.emailAddress, 'type="text" placeholder="' + esc(T.emailAddress) + '" maxlength="32"') +
        '<div class="el-form-item__tip">' + esc(T.reservedEmailTip) + "</div></div>" : "") +
      alertBox("error") + button(T.ok, true, "activate-btn") + "</form>" +
      (emailAtActivation ? "" : resetMethodDialog()));
    var fields = inputs(q(portal, ".activate-form"));
    var pw = fields[1], confirm = fields[2], email = fields[3];
    var error = q(portal, ".activate-form .el-alert--error"), btn = q(portal, ".activate-btn");
    Hik.bindStrength(pw, q(portal, ".password-strength"));
    var emailBox = emailAtActivation ? q(portal, ".reserved-email input") : null;
    if (emailAtActivation) {
      // Firmware without the reserved-email reset (HC app channel) has no such checkbox.
      q(portal, ".reserved-email").hidden = !offerEmail;
      on(emailBox, "change", function () {
        emailBox.closest(".el-checkbox").classList.toggle("is-checked", emailBox.checked);
        q(portal, ".reserved-email-address").hidden = !emailBox.checked;
      });
    } else {
      bindResetMethodDialog();
      if (pendingMethodPassword) q(portal, ".el-dialog__wrapper").hidden = false;
    }
    on(btn, "click", function () {
      say(error, "");
      var address = emailBox && emailBox.checked ? email.value.trim() : "";
      if (!pw.value) return say(error, T.enterPassword);
      if (!Hik.confirmMatches(pw.value, confirm.value)) return say(error, T.passNotMatch);
      if (emailBox && emailBox.checked && !Hik.emailLooksValid(address)) return say(error, T.invalidEmail);
      say(error, "");
      busy(btn, true);
      var password = pw.value;
      Hik.activate(password).then(function () {
        if (emailAtActivation) {
          // As the real NVR GUI: activate, then reserve the address with the new password.
          if (!address) return T.activated;
          return Hik.setReservedEmail(password, address).then(function () { return T.activated; },
            function (err) { return T.activatedNoEmail + " " + err.message; });
        }
        return Hik.login(password).then(function (r) {
          if (!r.ok) return r.message;
          return Hik.securityCapabilities().then(function (caps) {
            if (!caps.email) { go("/preview"); return null; }
            pendingMethodPassword = password;
            busy(btn, false);
            q(portal, ".el-dialog__wrapper").hidden = false;
            return null;
          });
        });
      }).then(function (notice) {
        if (notice === null) return;
        global.sessionStorage.setItem("hik.notice", notice);
        go("/portal/login");
      }, function (err) { busy(btn, false); say(error, err.message); });
    });
  }

  /* Camera: after activation, at least one password reset method (Account Security). */
  function resetMethodDialog() {
    return dialog(T.accountSecurity,
      "<p>" + esc(T.selectMethod) + "</p>" +
      '<div class="el-form-item method-email">' + checkbox(T.reservedEmail) + "</div>" +
      formItem(T.emailAddress, 'type="text" placeholder="' + esc(T.emailAddress) + '" maxlength="32"', "method-email-address") +
      '<div class="el-form-item method-question">' + checkbox(T.securityQuestion) + "</div>" +
      '<div class="el-form-item__tip question-note" hidden>' + esc(T.questionNote) + "</div>" +
      alertBox("error"), button(T.ok, true));
  }

  function bindResetMethodDialog() {
    var box = q(portal, ".el-dialog__wrapper");
    var emailCheck = q(box, ".method-email input"), questionCheck = q(box, ".method-question input");
    var address = q(box, ".method-email-address input"), error = q(box, ".el-alert--error");
    emailCheck.checked = true;
    emailCheck.closest(".el-checkbox").classList.add("is-checked");
    on(emailCheck, "change", function () {
      emailCheck.closest(".el-checkbox").classList.toggle("is-checked", emailCheck.checked);
      q(box, ".method-email-address").hidden = !emailCheck.checked;
    });
    on(questionCheck, "change", function () { q(box, ".question-note").hidden = !questionCheck.checked; });
    var ok = q(box, ".el-dialog__footer .el-button");
    on(ok, "click", function () {
      var value = address.value.trim();
      say(error, "");
      // Refuses to go on until a method the web client can set (the e-mail) is set.
      if (!emailCheck.checked || !value) return say(error, T.setOneMethod);
      if (!Hik.emailLooksValid(value)) return say(error, T.invalidEmail);
      busy(ok, true);
      Hik.setReservedEmail(pendingMethodPassword, value).then(function () {
        pendingMethodPassword = "";
        go("/preview");
      }, function (err) { busy(ok, false); say(error, err.message); });
    });
  }

  /* ------------------------------------------------------------ portal: forgot password */

  function renderReset() {
    var stepTitles = [T.stepMethod, T.stepPrivacy, T.stepVerify, T.stepPassword];
    portal.innerHTML = portalFrame(T.forgotTitle,
      '<div class="el-steps el-steps--horizontal">' + stepTitles.map(function (t) {
        return '<div class="el-step"><div class="el-step__head"></div><div class="el-step__title">' + esc(t) + "</div></div>";
      }).join("") + "</div>" +
      '<div class="reset-step step-method" hidden><p>' + esc(T.selectMode) + '</p><div class="el-radio-group" role="radiogroup"></div>' +
      alertBox("info") + '<div class="step-buttons">' + button(T.cancel, false, "to-login") + button(T.next, true) + "</div></div>" +
      '<div class="reset-step step-privacy" hidden><div class="privacy-text">' + T.privacyHtml + "</div>" +
      checkbox(T.privacyAgree) + '<div class="step-buttons">' + button(T.next, true) + "</div></div>" +
      '<div class="reset-step step-verify" hidden><div class="qr-area"><img class="qr-img" alt="' + esc(T.qrCode) + '">' +
      '<div class="qr-side"><p>' + esc(T.qrHelp) + '</p><a class="el-button el-button--default qr-export" download="' +
      esc(P.exportName) + '"><span>' + esc(T.exportQr) + "</span></a>" + button(T.refresh, false, "qr-refresh") + "</div></div>" +
      formItem(T.verificationCode, 'type="text" placeholder="' + esc(T.verificationCode) + '" maxlength="8"') +
      alertBox("error") + '<div class="step-buttons">' + button(T.next, true) + "</div></div>" +
      '<div class="reset-step step-password" hidden>' +
      formItem(T.newPassword, 'type="password" placeholder="' + esc(T.newPassword) + '" maxlength="16"') + strengthMeter() +
      '<div class="el-form-item__tip">' + esc(T.passwordRange) + "</div>" +
      formItem(T.confirmPassword, 'type="password" placeholder="' + esc(T.confirmPassword) + '" maxlength="16"') +
      alertBox("error") + '<div class="step-buttons">' + button(T.ok, true) + "</div></div>");
    var steps = { method: q(portal, ".step-method"), privacy: q(portal, ".step-privacy"),
      qr: q(portal, ".step-verify"), password: q(portal, ".step-password") };
    var order = ["method", "privacy", "qr", "password"];
    var securityCode = "";
    function show(name) {
      Object.keys(steps).forEach(function (k) { steps[k].hidden = k !== name; });
      qa(portal, ".el-step").forEach(function (s, i) {
        s.classList.toggle("is-process", order[i] === name);
        s.classList.toggle("is-finish", i < order.indexOf(name));
      });
    }
    function primary(step) { return q(step, ".step-buttons .el-button--primary"); }
    on(q(portal, ".to-login"), "click", function () { go("/portal/login"); });

    var group = q(steps.method, ".el-radio-group"), hint = q(steps.method, ".el-alert");
    Hik.externCapabilities().then(function (caps) {
      var offered = [];
      if (caps.email) offered.push("email");
      if (caps.securityQuestion) offered.push("question");
      if (caps.guidFile) offered.push("guid");
      group.innerHTML = offered.map(function (key, i) {
        return '<label class="el-radio' + (i ? "" : " is-checked") + '"><span class="el-radio__input">' +
          '<input type="radio" class="el-radio__original" name="resetMethod" value="' + key + '"' + (i ? "" : " checked") +
          '><span class="el-radio__inner"></span></span><span class="el-radio__label">' + esc(T.methods[key]) + "</span></label>";
      }).join("");
      qa(group, "input").forEach(function (r) {
        on(r, "change", function () {
          qa(group, ".el-radio").forEach(function (l) { l.classList.toggle("is-checked", q(l, "input").checked); });
        });
      });
      if (!offered.length) say(hint, T.noMethod);
      primary(steps.method).disabled = !offered.length;
      show("method");
    }, function (err) { show("method"); say(hint, err.message); });
    on(primary(steps.method), "click", function () {
      var sel = q(group, "input:checked");
      if (!sel) return;
      if (sel.value !== "email") return say(hint, P.consoleHint);
      say(hint, "");
      show("privacy");
    });

    var agree = q(steps.privacy, "input[type=checkbox]"), privacyNext = primary(steps.privacy);
    privacyNext.disabled = true;
    on(agree, "change", function () {
      agree.closest(".el-checkbox").classList.toggle("is-checked", agree.checked);
      privacyNext.disabled = !agree.checked;
    });
    var img = q(steps.qr, ".qr-img"), exportLink = q(steps.qr, ".qr-export");
    var code = q(steps.qr, "input.el-input__inner"), codeError = q(steps.qr, ".el-alert--error");
    function loadQr() {
      say(codeError, "");
      code.value = "";
      return Hik.qrCode().then(function (qr) {
        img.src = qr.qrImage;
        exportLink.href = qr.qrImage;
      }, function (err) { say(codeError, err.message); });
    }
    on(privacyNext, "click", function () {
      if (!agree.checked) return;
      show("qr");
      loadQr();
    });
    on(q(steps.qr, ".qr-refresh"), "click", loadQr);
    var codeNext = primary(steps.qr);
    on(codeNext, "click", function () {
      var value = code.value.trim();
      say(codeError, "");
      if (!value) return say(codeError, T.enterCode);
      busy(codeNext, true);
      Hik.verifyCode(value).then(function () {
        busy(codeNext, false);
        securityCode = value;
        show("password");
      }, function (err) { busy(codeNext, false); say(codeError, err.message); });
    });
    var fields = inputs(steps.password), pw = fields[0], confirm = fields[1];
    var pwError = q(steps.password, ".el-alert--error"), ok = primary(steps.password);
    Hik.bindStrength(pw, q(steps.password, ".password-strength"));
    on(ok, "click", function () {
      say(pwError, "");
      if (!pw.value) return say(pwError, T.enterPassword);
      if (!Hik.confirmMatches(pw.value, confirm.value)) return say(pwError, T.passNotMatch);
      say(pwError, "");
      busy(ok, true);
      Hik.resetPassword(securityCode, pw.value).then(function () {
        global.sessionStorage.setItem("hik.notice", T.resetDone);
        go("/portal/login");
      }, function (err) { busy(ok, false); say(pwError, err.message); });
    });
  }

  /* ------------------------------------------------------------ the logged-in app */

  function renderShell(menu, info) {
    var nav = P.topMenus.map(function (m) {
      return '<li class="el-menu-item' + (m.key === menu ? " is-active" : "") + '" role="menuitem" tabindex="0">' +
        esc(m.text) + "</li>";
    }).join("");
    app.innerHTML = '<section class="el-container is-vertical"><header class="el-header">' +
      '<div class="header-product">' + esc(P.product) + '</div><ul class="el-menu el-menu--horizontal" role="menubar">' + nav + "</ul>" +
      '<div class="header-right">' + P.userMenu() + "</div></header>" +
      '<section class="el-container"><main class="el-main"></main></section></section>';
    app.hidden = false;
    qa(app, ".el-menu--horizontal .el-menu-item").forEach(function (li, i) {
      on(li, "click", function () { go(P.topMenus[i].route); });
    });
    var trigger = q(app, ".el-dropdown-link");
    if (trigger) {
      var list = q(app, ".el-dropdown-menu");
      on(trigger, "click", function () { list.hidden = !list.hidden; });
      doc.addEventListener("click", function (ev) { if (!trigger.contains(ev.target)) list.hidden = true; });
    }
    qa(app, ".logout").forEach(function (el) {
      on(el, "click", function (ev) {
        ev.preventDefault();
        Hik.logout().then(function () { go("/portal/login"); });
      });
    });
    global.document.title = P.product;
    return info;
  }

  function renderPreview(main) {
    main.innerHTML = '<div class="live-view"><div class="video-window">' + esc(T.noVideo) + "</div></div>";
  }

  function configFrame(main, active, inner) {
    var side = P.configMenus.map(function (g) {
      return '<li class="el-submenu is-opened" role="menuitem"><div class="el-submenu__title">' + esc(g.text) +
        '</div><ul class="el-menu el-menu--inline" role="menu">' + g.items.map(function (it) {
          return '<li class="el-menu-item' + (it.route === active ? " is-active" : "") + '" role="menuitem" tabindex="-1">' +
            esc(it.text) + "</li>";
        }).join("") + "</ul></li>";
    }).join("");
    main.innerHTML = '<section class="el-container"><aside class="el-aside"><ul class="el-menu" role="menubar">' + side +
      '</ul></aside><main class="el-main config-main">' + inner + "</main></section>";
    var routesInOrder = [];
    P.configMenus.forEach(function (g) { g.items.forEach(function (it) { routesInOrder.push(it.route); }); });
    qa(main, ".el-menu--inline .el-menu-item").forEach(function (li, i) {
      on(li, "click", function () { go(routesInOrder[i]); });
    });
    return q(main, ".config-main");
  }

  function renderDeviceInfo(main, info) {
    var rows = [[T.deviceName, info.deviceName], [T.model, info.model], [T.serialNo, info.serialNumber],
      [T.firmwareVersion, info.firmwareVersion + " " + info.firmwareReleasedDate]];
    configFrame(main, "/config/info", "<h2>" + esc(T.deviceInfo) + '</h2><form class="el-form info-form">' +
      rows.map(function (r) {
        return '<div class="el-form-item"><label class="el-form-item__label">' + esc(r[0]) +
          '</label><div class="el-form-item__content">' + esc(r[1]) + "</div></div>";
      }).join("") + "</form>");
  }

  function renderUsers(main) {
    var pane = configFrame(main, "/config/user",
      '<div class="el-tabs el-tabs--top"><div class="el-tabs__header"><div class="el-tabs__nav" role="tablist">' +
      '<div class="el-tabs__item is-active" id="tab-user" role="tab" aria-selected="true" tabindex="0">' + esc(T.userManagement) + "</div>" +
      '<div class="el-tabs__item" id="tab-online" role="tab" aria-selected="false" tabindex="-1">' + esc(T.onlineUsers) + "</div></div></div>" +
      '<div class="el-tabs__content"><div class="el-tab-pane" role="tabpanel">' +
      '<div class="el-table"><table class="el-table__body" role="table"><thead><tr><th>' + esc(T.no) + "</th><th>" + esc(T.userName) +
      "</th><th>" + esc(T.level) + "</th>" + (P.emailColumn ? "<th>" + esc(T.reservedEmail) + "</th>" : "") +
      "<th>" + esc(T.operation) + "</th></tr></thead><tbody></tbody></table></div></div>" +
      '<div class="el-tab-pane" role="tabpanel" hidden><p>admin</p></div></div></div>' +
      P.userDialog(dialog, formItem, checkbox, alertBox, button));
    qa(pane, ".el-tabs__item").forEach(function (tab, i) {
      on(tab, "click", function () {
        qa(pane, ".el-tabs__item").forEach(function (t, j) {
          t.classList.toggle("is-active", i === j);
          t.setAttribute("aria-selected", String(i === j));
        });
        qa(pane, ".el-tab-pane").forEach(function (p, j) { p.hidden = i !== j; });
      });
    });
    var box = q(pane, ".el-dialog__wrapper");
    var emailSupported = false;
    function load() {
      return Promise.all([Hik.users(), Hik.securityCapabilities(),
        Hik.getReservedEmail().catch(function () { return ""; })]).then(function (got) {
        emailSupported = got[1].email;
        var tbody = q(pane, "tbody");
        tbody.innerHTML = got[0].map(function (u, i) {
          var cells = [String(i + 1), u.userName, u.userLevel];
          if (P.emailColumn) cells.push(u.userName === Hik.USER ? got[2] : "");
          var action = P.userAction(u, emailSupported);
          return '<tr class="el-table__row">' + cells.map(function (c) { return "<td>" + esc(c) + "</td>"; }).join("") +
            "<td>" + (action ? '<a class="el-link el-link--primary user-action" href="javascript:void(0)" title="' +
              esc(action) + '"><span class="el-link--inner">' + esc(action) + "</span></a>" : "") + "</td></tr>";
        }).join("");
        qa(tbody, ".user-action").forEach(function (a) {
          on(a, "click", function () { openDialog(got[2]); });
        });
      }, function (err) { toast(err.message, "error"); });
    }
    function openDialog(current) {
      inputs(box).forEach(function (i) { if (!i.disabled) i.value = ""; });
      say(q(box, ".el-alert--error"), "");
      P.prepareUserDialog(box, current, emailSupported, q);
      box.hidden = false;
    }
    qa(box, ".el-dialog__footer .el-button--default").forEach(function (b) {
      on(b, "click", function () { box.hidden = true; });
    });
    var ok = q(box, ".el-dialog__footer .el-button--primary");
    on(ok, "click", function () {
      var values = P.readUserDialog(box, q);
      var error = q(box, ".el-alert--error");
      say(error, "");
      if (!values.password) return say(error, T.enterAdminPassword);
      if (values.email === null) { box.hidden = true; return; }
      if (!Hik.emailLooksValid(values.email)) return say(error, T.invalidEmail);
      busy(ok, true);
      Hik.setReservedEmail(values.password, values.email).then(function () {
        busy(ok, false);
        box.hidden = true;
        toast(T.saved, "success");
        load();
      }, function (err) { busy(ok, false); say(error, err.message); });
    });
    load();
  }

  global.HikPortal = { route: route, go: go, say: say, toast: toast };
  global.addEventListener("hashchange", route);
  route();
})(window);
