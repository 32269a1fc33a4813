/* Header of the logged-in camera pages: activation and login checks, logout. */
(function () {
  "use strict";
  var $ = Hik.$;
  /* Resolves the DeviceInfo once the page may be shown; otherwise navigates away. */
  window.CamFrame = {
    ready: Hik.requireActivated("login.html").then(function (ok) {
      if (!ok) return null;
      return Hik.deviceInfo().then(function (info) {
        if (!info) { location.replace("login.html"); return null; }
        $("headerModel").textContent = info.model;
        Hik.show("frame", true);
        return info;
      });
    })
  };
  $("btnLogout").addEventListener("click", function () {
    Hik.logout().then(function () { location.replace("login.html"); });
  });
})();
