/* preview.asp: the first page after login (live view; no video on an emulated camera). */
(function () {
  "use strict";
  App.loggedInPage("preview", function (main, info) {
    document.title = info.model;
    main.appendChild(App.h("div", { class: "player" }, App.h("span", { text: App.t("noVideo") })));
  });
})();
