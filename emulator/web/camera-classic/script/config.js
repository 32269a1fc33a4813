/* Classic camera Configuration: System Settings and User Management → Account Security Settings. */
(function () {
  "use strict";
  var $ = Hik.$;
  function open(user) {
    $("treeSystemSettings").classList.toggle("sel", !user);
    $("treeUserManage").classList.toggle("sel", user);
    Hik.show("systemSettings", !user);
    Hik.show("userManage", user);
    if (user) loadUsers();
  }
  function loadUsers() {
    Hik.users().then(function (list) {
      var tbody = $("userList").querySelector("tbody");
      tbody.innerHTML = "";
      list.forEach(function (u, i) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-user", u.userName);
        if (i === 0) tr.className = "sel";
        [String(i + 1), u.userName, u.userLevel].forEach(function (t) {
          var td = document.createElement("td"); td.textContent = t; tr.appendChild(td);
        });
        tbody.appendChild(tr);
      });
    }, function (err) { Hik.say("userTips", err.message); });
  }
  function asTab(email) {
    $("asTabEmail").classList.toggle("sel", email); $("asTabQuestion").classList.toggle("sel", !email);
    Hik.show("asPaneEmail", email); Hik.show("asPaneQuestion", !email);
  }
  $("asTabEmail").addEventListener("click", function (ev) { ev.preventDefault(); asTab(true); });
  $("asTabQuestion").addEventListener("click", function (ev) { ev.preventDefault(); asTab(false); });
  $("treeSystemSettings").addEventListener("click", function (ev) { ev.preventDefault(); open(false); });
  $("treeUserManage").addEventListener("click", function (ev) { ev.preventDefault(); open(true); });
  $("btnAccountSecurity").addEventListener("click", function () {
    $("asAdminPassword").value = ""; $("asEmail").value = ""; Hik.say("asTips", "");
    Hik.getReservedEmail().then(function (cur) {
      $("asCurrent").textContent = cur ? "Current: " + cur : "No reserved e-mail is set.";
    }, function () { $("asCurrent").textContent = ""; });
    asTab(true);
    Hik.show("accountSecurity", true);
  });
  $("asCancel").addEventListener("click", function () { Hik.show("accountSecurity", false); });
  $("accountSecurityForm").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var pw = $("asAdminPassword").value, email = $("asEmail").value.trim();
    if (!pw) return Hik.say("asTips", "Please enter the admin password.");
    if (!Hik.emailLooksValid(email)) return Hik.say("asTips", "Invalid e-mail address (up to 32 characters).");
    $("asOk").disabled = true;
    Hik.setReservedEmail(pw, email).then(function () {
      $("asOk").disabled = false;
      Hik.show("accountSecurity", false);
      Hik.say("userTips", "Saved.", "ok");
    }, function (err) { $("asOk").disabled = false; Hik.say("asTips", err.message); });
  });
  CamFrame.ready.then(function (info) {
    if (!info) return;
    $("sysModel").textContent = info.model;
    $("sysSerial").textContent = info.serialNumber;
    $("sysFirmware").textContent = info.firmwareVersion + " " + info.firmwareReleasedDate;
    open(location.hash === "#user");
    Hik.securityCapabilities().then(function (caps) { Hik.show("btnAccountSecurity", caps.email); });
  });
})();
