/* Recorder activation window: password, confirm, live strength, optional reserved e-mail. */
(function () {
  "use strict";
  var $ = Hik.$;
  $("headerModel").textContent = Hik.device().model;
  Hik.activated().then(function (active) { if (active) location.replace("login.html"); });
  // Firmware without the reserved-email reset (HC app channel) has no such checkbox.
  Hik.externCapabilities().then(function (caps) {
    Hik.show("reservedEmailCheckRow", caps.hcApp);
    $("activateForm").setAttribute("data-ready", "true");
  });
  Hik.bindStrength($("newPassword"), $("strengthBar"));
  $("reservedEmailEnable").addEventListener("change", function () {
    Hik.show("reservedEmailRow", this.checked);
  });
  $("activateForm").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var pw = $("newPassword").value, confirm = $("confirmPassword").value;
    var email = $("reservedEmailEnable").checked ? $("reservedEmail").value.trim() : "";
    if (!pw) return Hik.say("activateError", "Please enter the password.");
    if (!Hik.confirmMatches(pw, confirm)) return Hik.say("activateError", "The passwords do not match.");
    if ($("reservedEmailEnable").checked && !Hik.emailLooksValid(email)) {
      return Hik.say("activateError", "Please enter a valid e-mail address (up to 32 characters).");
    }
    Hik.say("activateError", "");
    $("activateOk").disabled = true;
    // As the real NVR GUI: activate, then reserve the address with the new password.
    var done = "Activated successfully. Log in with the new password.";
    Hik.activate(pw).then(function () {
      if (!email) return done;
      return Hik.setReservedEmail(pw, email).then(function () { return done; }, function (err) {
        return "Activated successfully, but the reserved e-mail was not saved: " + err.message;
      });
    }).then(function (notice) {
      sessionStorage.setItem("hik.notice", notice);
      location.replace("login.html");
    }, function (err) {
      $("activateOk").disabled = false;
      Hik.say("activateError", err.message);
    });
  });
})();
