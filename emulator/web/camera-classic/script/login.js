/* Classic camera login page: activation modal, reset-method dialog, login with lockout tips. */
(function () {
  "use strict";
  var $ = Hik.$;
  var newPassword = "";
  $("deviceModel").textContent = Hik.device().model + "  " + Hik.device().firmware;

  function tab(email) {
    $("tabEmail").classList.toggle("sel", email);
    $("tabQuestion").classList.toggle("sel", !email);
    Hik.show("paneEmail", email);
    Hik.show("paneQuestion", !email);
  }
  $("tabEmail").addEventListener("click", function (ev) { ev.preventDefault(); tab(true); });
  $("tabQuestion").addEventListener("click", function (ev) { ev.preventDefault(); tab(false); });

  Hik.bindStrength($("activePassword"), $("activeStrength"));
  Hik.activated().then(function (active) {
    if (active) {
      Hik.show("loginBox", true);
      var notice = sessionStorage.getItem("hik.notice");
      if (notice) { Hik.say("loginNotice", notice, "ok"); sessionStorage.removeItem("hik.notice"); }
    } else {
      Hik.show("active", true);
    }
  }, function (err) { Hik.show("loginBox", true); Hik.say("loginTips", err.message); });

  $("activeForm").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var pw = $("activePassword").value;
    if (!pw) return Hik.say("activeTips", "Please enter the password.");
    if (!Hik.confirmMatches(pw, $("activeConfirm").value)) return Hik.say("activeTips", "The passwords do not match.");
    Hik.say("activeTips", "");
    $("activeOk").disabled = true;
    Hik.activate(pw).then(function () {
      newPassword = pw;
      // The camera logs in with the new password so the reset method can be saved at once.
      return Hik.login(pw);
    }).then(function (r) {
      $("activeOk").disabled = false;
      Hik.show("active", false);
      if (!r.ok) { Hik.show("loginBox", true); Hik.say("loginTips", r.message); return null; }
      return Hik.securityCapabilities().then(function (caps) {
        // Firmware below the reserved-email line has no reset method the web can set.
        if (!caps.email) { newPassword = ""; location.replace("preview.html"); return; }
        Hik.show("resetMethod", true);
      });
    }, function (err) { $("activeOk").disabled = false; Hik.say("activeTips", err.message); });
  });

  $("resetMethodForm").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var email = $("securityEmail").value.trim();
    // The dialog refuses to close until one reset method is set.
    if (!email) return Hik.say("resetMethodTips", "Set at least one password reset method.");
    if (!Hik.emailLooksValid(email)) return Hik.say("resetMethodTips", "Invalid e-mail address (up to 32 characters).");
    $("resetMethodOk").disabled = true;
    Hik.setReservedEmail(newPassword, email).then(function () {
      newPassword = "";
      location.replace("preview.html");
    }, function (err) { $("resetMethodOk").disabled = false; Hik.say("resetMethodTips", err.message); });
  });

  $("loginBox").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if ($("username").value.trim() !== Hik.USER) return Hik.say("loginTips", "Incorrect user name or password.");
    if (!$("password").value) return Hik.say("loginTips", "Please enter the password.");
    $("btnLogin").disabled = true;
    Hik.login($("password").value).then(function (r) {
      $("btnLogin").disabled = false;
      if (r.ok) { location.replace("preview.html"); return; }
      $("loginTips").setAttribute("data-attempts-left", r.attemptsLeft === null ? "" : String(r.attemptsLeft));
      $("loginTips").setAttribute("data-locked", String(r.locked));
      Hik.say("loginTips", r.message);
    }, function (err) { $("btnLogin").disabled = false; Hik.say("loginTips", err.message); });
  });
})();
