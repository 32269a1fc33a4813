/* Recorder main page: Configuration with Device Information and User (admin → Edit). */
(function () {
  "use strict";
  var $ = Hik.$;
  var panels = { menuDeviceInfo: "panelDeviceInfo", menuUser: "panelUser", menuNetwork: "panelNetwork" };
  $("headerModel").textContent = Hik.device().model;

  function open(menuId) {
    Object.keys(panels).forEach(function (m) {
      $(m).classList.toggle("active", m === menuId);
      Hik.show(panels[m], m === menuId);
    });
    if (menuId === "menuUser") loadUsers();
  }

  function loadUsers() {
    Promise.all([Hik.users(), Hik.getReservedEmail().catch(function () { return ""; })]).then(function (r) {
      var tbody = $("userTable").querySelector("tbody");
      tbody.innerHTML = "";
      r[0].forEach(function (u, i) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-user", u.userName);
        [String(i + 1), u.userName, u.userLevel, u.userName === Hik.USER ? r[1] : ""].forEach(function (t) {
          var td = document.createElement("td"); td.textContent = t; tr.appendChild(td);
        });
        var td = document.createElement("td");
        var b = document.createElement("button");
        b.type = "button"; b.className = "btn secondary"; b.textContent = "Edit";
        b.id = "editUser_" + u.userName; b.setAttribute("data-i18n", "user.edit");
        b.addEventListener("click", function () { openEdit(r[1]); });
        td.appendChild(b); tr.appendChild(td); tbody.appendChild(tr);
      });
    }, function (err) { Hik.say("userNotice", err.message, "error"); });
  }

  var emailSupported = false;
  function openEdit(current) {
    Hik.show("editReservedEmailCheckRow", emailSupported);
    $("oldPassword").value = "";
    $("editReservedEmailEnable").checked = !!current;
    $("editReservedEmail").value = "";
    $("editReservedEmail").placeholder = current || "";
    Hik.show("editReservedEmailRow", !!current);
    Hik.say("userEditError", "");
    Hik.show("userEditDialog", true);
  }

  Object.keys(panels).forEach(function (m) {
    $(m).addEventListener("click", function (ev) { ev.preventDefault(); open(m); });
  });
  $("navConfig").addEventListener("click", function (ev) { ev.preventDefault(); open("menuDeviceInfo"); });
  $("editReservedEmailEnable").addEventListener("change", function () { Hik.show("editReservedEmailRow", this.checked); });
  $("userEditCancel").addEventListener("click", function () { Hik.show("userEditDialog", false); });
  $("userEditForm").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var old = $("oldPassword").value, email = $("editReservedEmail").value.trim();
    if (!old) return Hik.say("userEditError", "Please enter the old password of admin.");
    if (!$("editReservedEmailEnable").checked) { Hik.show("userEditDialog", false); return; }
    if (!Hik.emailLooksValid(email)) return Hik.say("userEditError", "Please enter a valid e-mail address (up to 32 characters).");
    $("userEditOk").disabled = true;
    Hik.setReservedEmail(old, email).then(function () {
      $("userEditOk").disabled = false;
      Hik.show("userEditDialog", false);
      Hik.say("userNotice", "Saved successfully.", "ok");
      loadUsers();
    }, function (err) { $("userEditOk").disabled = false; Hik.say("userEditError", err.message); });
  });
  $("logoutBtn").addEventListener("click", function () {
    Hik.logout().then(function () { location.replace("login.html"); });
  });

  Hik.requireActivated("activate.html").then(function (ok) {
    if (!ok) return null;
    return Hik.deviceInfo().then(function (info) {
      if (!info) { location.replace("login.html"); return; }
      $("infoModel").textContent = info.model;
      $("infoSerial").textContent = info.serialNumber;
      $("infoFirmware").textContent = info.firmwareVersion + " " + info.firmwareReleasedDate;
      Hik.show("mainLayout", true);
      Hik.securityCapabilities().then(function (caps) { emailSupported = caps.email; });
      open(location.hash === "#user" ? "menuUser" : "menuDeviceInfo");
    });
  });
})();
