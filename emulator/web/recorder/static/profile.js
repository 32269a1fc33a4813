/*
 * What the recorder (DVR/NVR web GUI 5.x) shows in the shared single-page shell
 * (common/portal.js): its wording, menus, the Reserved E-mail checkbox at activation and
 * its user menu (the user name opens a drop-down with Logout).
 */
(function (global) {
  "use strict";
  var T = {
    login: "Login", userName: "User Name", password: "Password", forgotPassword: "Forgot Password?",
    loginError: "Incorrect user name or password.", enterPassword: "Please enter the password.",
    activation: "Activation", newPassword: "Password", confirmPassword: "Confirm Password",
    passwordRange: "Valid password range [8-16]. You can use a combination of numbers, lowercase, uppercase and special character for your password with at least two kinds of them contained.",
    reservedEmail: "Reserved E-mail", emailAddress: "E-mail Address",
    reservedEmailTip: "The e-mail is used for receiving the verification code when you reset the password.",
    ok: "OK", cancel: "Cancel", next: "Next", passNotMatch: "The passwords do not match.",
    invalidEmail: "Please enter a valid e-mail address (up to 32 characters).",
    activated: "Activated successfully. Log in with the new password.",
    activatedNoEmail: "Activated successfully, but the reserved e-mail was not saved:",
    forgotTitle: "Forgot Password", stepMethod: "Verification Mode", stepPrivacy: "Privacy Statement",
    stepVerify: "Verify", stepPassword: "Reset Password",
    selectMode: "Select the password reset mode.",
    methods: { email: "Verify by Reserved Email", question: "Verify by Security Question", guid: "Verify by GUID File" },
    noMethod: "No password reset mode is available. Contact your dealer.",
    privacyHtml: "<p><b>Privacy Statement</b></p><p>To reset the password by reserved e-mail, the device's serial number and the reserved e-mail address (encrypted) are placed in the QR code. When you scan it with the mobile client, this information is sent to the vendor's server, which sends a verification code to the reserved e-mail address. It is used only for resetting the password.</p>",
    privacyAgree: "I have read and agree to the Privacy Statement",
    qrCode: "QR Code", qrHelp: "Scan the QR code with the mobile client (Me → Tools → Reset Device Password) to receive a verification code at the reserved e-mail, or export the QR code and send the picture to the recovery address.",
    exportQr: "Export", refresh: "Refresh", verificationCode: "Verification Code",
    enterCode: "Please enter the verification code.",
    resetDone: "The password has been reset. Log in with the new password.",
    noVideo: "No video (emulated device)", deviceInfo: "Device Information", deviceName: "Device Name",
    model: "Model", serialNo: "Serial No.", firmwareVersion: "Firmware Version",
    userManagement: "User", onlineUsers: "Online User", no: "No.", level: "Level", operation: "Operation",
    edit: "Edit", editUser: "Edit User", oldPassword: "Old Password",
    reservedEmailSettings: "Reserved E-mail Settings", enterAdminPassword: "Please enter the old password of admin.",
    saved: "Saved successfully.", logout: "Logout",
    liveView: "Live View", playback: "Playback", configuration: "Configuration", system: "System",
    network: "Network", menuInfo: "General", menuUser: "User",
    strengthRisky: "Risky password.", strengthWeak: "Weak", strengthMedium: "Medium", strengthStrong: "Strong"
  };
  var esc = function (s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;"); };
  global.HIK_PROFILE = {
    product: "Network Video Recorder",
    texts: T,
    reservedEmailAtActivation: true,
    exportName: "ResetPasswordQRCode.png",
    consoleHint: "This mode is available on the local console only. Use the recorder's local menu (monitor and mouse).",
    topMenus: [{ key: "preview", route: "/preview", text: T.liveView },
      { key: "playback", route: "/playback", text: T.playback },
      { key: "config", route: "/config/info", text: T.configuration }],
    configMenus: [{ text: T.system, items: [{ route: "/config/info", text: T.menuInfo }, { route: "/config/user", text: T.menuUser }] },
      { text: T.network, items: [] }],
    userMenu: function () {
      return '<div class="el-dropdown"><span class="el-dropdown-link" role="button" tabindex="0">admin<i class="el-icon-arrow-down el-icon--right"></i></span>' +
        '<ul class="el-dropdown-menu" role="menu" hidden><li class="el-dropdown-menu__item logout" role="menuitem" tabindex="-1">' +
        esc(T.logout) + "</li></ul></div>";
    },
    emailColumn: true,
    userAction: function () { return T.edit; },
    userDialog: function (dialog, formItem, checkbox, alertBox, button) {
      return dialog(T.editUser, '<form class="el-form">' + formItem(T.userName, 'type="text" value="admin" disabled') +
        formItem(T.oldPassword, 'type="password" placeholder="' + esc(T.oldPassword) + '" maxlength="16"') +
        '<div class="el-form-item reserved-email">' + checkbox(T.reservedEmailSettings) + "</div>" +
        '<div class="reserved-email-address">' + formItem(T.reservedEmail, 'type="text" maxlength="32"') +
        '<div class="el-form-item__tip">' + esc(T.reservedEmailTip) + "</div></div>" + alertBox("error") + "</form>",
        button(T.ok, true) + button(T.cancel, false));
    },
    prepareUserDialog: function (box, current, emailSupported, q) {
      // Firmware without the feature has no such controls at all.
      if (!emailSupported) {
        [".reserved-email", ".reserved-email-address"].forEach(function (s) { var e = q(box, s); if (e) e.remove(); });
        return;
      }
      var check = q(box, ".reserved-email input");
      check.checked = !!current;
      check.closest(".el-checkbox").classList.toggle("is-checked", check.checked);
      q(box, ".reserved-email-address").hidden = !check.checked;
      q(box, ".reserved-email-address input").value = current || "";
      if (!check.bound) {
        check.bound = true;
        check.addEventListener("change", function () {
          check.closest(".el-checkbox").classList.toggle("is-checked", check.checked);
          q(box, ".reserved-email-address").hidden = !check.checked;
        });
      }
    },
    readUserDialog: function (box, q) {
      var inputs = box.querySelectorAll("input.el-input__inner");
      var check = q(box, ".reserved-email input");
      return { password: inputs[1].value, email: check && check.checked ? inputs[2].value.trim() : null };
    }
  };
})(window);
