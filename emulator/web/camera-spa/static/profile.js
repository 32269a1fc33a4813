/*
 * What the IP camera web 5.x (from V5.7.0) shows in the shared single-page shell
 * (common/portal.js): its wording, menus, no e-mail at activation but the Account Security
 * Settings dialog after it, and a plain Logout in the header.
 */
(function (global) {
  "use strict";
  var T = {
    login: "Login", userName: "User Name", password: "Password", forgotPassword: "Forget Password",
    loginError: "Incorrect user name or password.", enterPassword: "Please enter the password.",
    activation: "Activation", newPassword: "Password", confirmPassword: "Confirm",
    passwordRange: "Valid password range [8-16]. You can use a combination of numbers, lowercase, uppercase and special character for your password with at least two kinds of them contained.",
    reservedEmail: "Reserved E-mail", emailAddress: "E-mail Address",
    reservedEmailTip: "", ok: "OK", cancel: "Cancel", next: "Next",
    passNotMatch: "The passwords do not match.", invalidEmail: "Invalid e-mail address (up to 32 characters).",
    activated: "Activated successfully. Log in with the new password.", activatedNoEmail: "",
    accountSecurity: "Account Security Settings",
    selectMethod: "Select at least one password reset method. You will need it if you forget the admin password.",
    securityQuestion: "Security Question",
    questionNote: "Security questions are set with the SADP tool on the local network.",
    setOneMethod: "Set at least one password reset method.",
    forgotTitle: "Forget Password", stepMethod: "Verification Mode", stepPrivacy: "Privacy Policy",
    stepVerify: "Verify", stepPassword: "Reset Password",
    selectMode: "Select a verification mode.",
    methods: { email: "E-mail Verification", question: "Security Question Verification", guid: "GUID File Verification" },
    noMethod: "No password reset mode is available. Contact your dealer.",
    privacyHtml: "<p><b>Privacy Policy</b></p><p>E-mail verification puts the device serial number and your encrypted reserved e-mail address in a QR code. Scanning it with the mobile app sends them to the vendor's server, which e-mails a verification code to the reserved address. The data is used only for this password reset.</p>",
    privacyAgree: "I have read and agree to the Privacy Policy",
    qrCode: "QR Code", qrHelp: "Scan the QR code with the mobile app to receive a verification code at the reserved e-mail, or export it and mail the picture to the recovery address.",
    exportQr: "Export", refresh: "Refresh", verificationCode: "Verification Code",
    enterCode: "Please enter the verification code.",
    resetDone: "The password has been reset. Log in with the new password.",
    noVideo: "No video (emulated device)", deviceInfo: "Basic Information", deviceName: "Device Name",
    model: "Model", serialNo: "Serial No.", firmwareVersion: "Firmware Version",
    userManagement: "User Management", onlineUsers: "Online Users", no: "No.", level: "Level", operation: "Operation",
    adminPassword: "Admin Password", enterAdminPassword: "Please enter the admin password.",
    saved: "Saved successfully.", logout: "Logout",
    liveView: "Live View", playback: "Playback", configuration: "Configuration", system: "System",
    network: "Network", menuInfo: "System Settings", menuUser: "User Management",
    strengthRisky: "Risky password.", strengthWeak: "Weak", strengthMedium: "Medium", strengthStrong: "Strong"
  };
  var esc = function (s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;"); };
  global.HIK_PROFILE = {
    product: "IP Camera",
    texts: T,
    reservedEmailAtActivation: false,
    exportName: "reset-qr.png",
    consoleHint: "This mode is available with the SADP tool or the local console only.",
    topMenus: [{ key: "preview", route: "/preview", text: T.liveView },
      { key: "playback", route: "/playback", text: T.playback },
      { key: "config", route: "/config/user", text: T.configuration }],
    configMenus: [{ text: T.system, items: [{ route: "/config/info", text: T.menuInfo },
      { route: "/config/user", text: T.menuUser }] }, { text: T.network, items: [] }],
    userMenu: function () {
      return '<span class="header-user">admin</span><a class="el-link logout" href="javascript:void(0)" role="button">' +
        '<span class="el-link--inner">' + esc(T.logout) + "</span></a>";
    },
    emailColumn: false,
    userAction: function (user, emailSupported) { return emailSupported ? T.accountSecurity : ""; },
    userDialog: function (dialog, formItem, checkbox, alertBox, button) {
      return dialog(T.accountSecurity, '<form class="el-form">' +
        formItem(T.adminPassword, 'type="password" placeholder="' + esc(T.adminPassword) + '" maxlength="16"') +
        formItem(T.reservedEmail, 'type="text" placeholder="' + esc(T.emailAddress) + '" maxlength="32"') +
        '<div class="el-form-item__tip current-email"></div>' + alertBox("error") + "</form>",
        button(T.cancel, false) + button(T.ok, true));
    },
    prepareUserDialog: function (box, current, emailSupported, q) {
      q(box, ".current-email").textContent = current ? "Current reserved e-mail: " + current : "No reserved e-mail is set.";
    },
    readUserDialog: function (box) {
      var inputs = box.querySelectorAll("input.el-input__inner");
      return { password: inputs[0].value, email: inputs[1].value.trim() };
    }
  };
})(window);
