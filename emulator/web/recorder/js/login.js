/* Recorder login: session login, lockout feedback, cookie check, notices from other pages. */
(function () {
  "use strict";
  var $ = Hik.$;
  $("headerModel").textContent = Hik.device().model;
  Hik.requireActivated("activate.html").then(function (ok) {
    if (!ok) return;
    Hik.show("loginForm", true);
    var notice = sessionStorage.getItem("hik.notice");
    if (notice) { Hik.say("loginNotice", notice, "ok"); sessionStorage.removeItem("hik.notice"); }
    $("loginPassword").focus();
  });
  $("loginForm").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if ($("loginUser").value.trim() !== Hik.USER) return Hik.say("loginError", "Incorrect user name or password.");
    if (!$("loginPassword").value) return Hik.say("loginError", "Please enter the password.");
    $("loginBtn").disabled = true;
    Hik.login($("loginPassword").value).then(function (r) {
      $("loginBtn").disabled = false;
      if (r.ok) { location.replace("main.html"); return; }
      $("loginError").setAttribute("data-attempts-left", r.attemptsLeft === null ? "" : String(r.attemptsLeft));
      $("loginError").setAttribute("data-locked", String(r.locked));
      Hik.say("loginError", r.message);
    }, function (err) { $("loginBtn").disabled = false; Hik.say("loginError", err.message); });
  });
})();
