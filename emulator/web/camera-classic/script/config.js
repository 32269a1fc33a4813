/*
 * config.asp: the Configuration tree; System → User Management lists the users and opens
 * Account Security Settings (#qaDialog2 with tabs #tabsQA), where the reserved e-mail is
 * changed with the admin password. `#user` in the URL opens User Management.
 */
(function () {
  "use strict";
  var t = App.t, h = App.h;
  var content, tree = {};

  var TREE = [
    ["local", null],
    ["system", [["systemSettings", systemSettings], ["maintenance", null], ["security", null],
      ["userManage", userManagement]]],
    ["network", null], ["video", null], ["image", null], ["event", null], ["storage", null]
  ];

  function buildTree() {
    var ul = h("ul", { class: "tree" });
    TREE.forEach(function (node) {
      var li = h("li", { class: "node" }, h("span", { text: t(node[0]) }));
      if (node[1]) {
        var sub = h("ul");
        node[1].forEach(function (leaf) {
          var a = h("a", { href: "javascript:;", text: t(leaf[0]), on: { click: function () { open(leaf[0]); } } });
          tree[leaf[0]] = { link: a, render: leaf[1] };
          sub.appendChild(h("li", {}, a));
        });
        li.appendChild(sub);
      }
      ul.appendChild(li);
    });
    return ul;
  }

  function open(key) {
    Object.keys(tree).forEach(function (k) { tree[k].link.className = k === key ? "sel" : ""; });
    content.innerHTML = "";
    content.appendChild(h("h3", { class: "page-title", text: t(key) }));
    if (tree[key].render) tree[key].render(content);
    else content.appendChild(h("p", { class: "note", text: t("notEmulated") }));
  }

  var info = {};

  function systemSettings(el) {
    var table = h("table", { class: "grid" });
    [["model", info.model], ["serialNo", info.serialNumber],
      ["firmwareVersion", info.firmwareVersion + " " + info.firmwareReleasedDate]].forEach(function (r) {
      table.appendChild(h("tr", {}, h("th", { text: t(r[0]) }), h("td", { text: r[1] })));
    });
    el.appendChild(table);
  }

  function userManagement(el) {
    var notice = h("div", { class: "notice", hidden: true });
    var toolbar = h("div", { class: "toolbar" },
      h("button", { type: "button", class: "btn", disabled: true, text: t("add") }),
      h("button", { type: "button", class: "btn", disabled: true, text: t("modify") }),
      h("button", { type: "button", class: "btn", disabled: true, text: t("delete") }));
    var table = h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, h("th", { text: t("no") }), h("th", { text: t("userName") }),
        h("th", { text: t("level") }))));
    var tbody = h("tbody");
    table.appendChild(tbody);
    el.appendChild(toolbar);
    el.appendChild(notice);
    el.appendChild(table);
    ISAPI.securityEmailSupported().then(function (email) {
      if (!email) return;
      toolbar.appendChild(h("button", { type: "button", class: "btn btn-primary", text: t("accountSecurity"),
        on: { click: function () { accountSecurity(notice); } } }));
    });
    ISAPI.users().then(function (list) {
      list.forEach(function (u, i) {
        tbody.appendChild(h("tr", { class: i === 0 ? "sel" : null }, h("td", { text: String(i + 1) }),
          h("td", { text: u.userName }), h("td", { text: u.userLevel })));
      });
    }, function (err) { notice.textContent = App.errorText(err); notice.hidden = false; });
  }

  function row(label, control) {
    return h("div", { class: "form-row" }, h("span", { class: "label", text: label }), control);
  }

  /* Account Security Settings: the reserved e-mail, saved with the admin password. */
  function accountSecurity(notice) {
    notice.hidden = true;
    var adminPassword = h("input", { type: "password", maxlength: "16", autocomplete: "off" });
    var email = h("input", { type: "text", maxlength: "32", autocomplete: "off" });
    var current = h("div", { class: "pwd-tip" });
    var tip = h("label", { class: "error", hidden: true });
    ISAPI.reservedEmail().then(function (addr) {
      current.textContent = addr ? t("currentEmail", [addr]) : t("noEmail");
    }, function () { current.textContent = ""; });
    var tabs = [
      { key: "reservedEmail", pane: h("div", { class: "pane", role: "tabpanel" },
        row(t("adminPassword"), adminPassword), row(t("emailAddress"), email), current) },
      { key: "securityQuestion", pane: h("div", { class: "pane", role: "tabpanel", hidden: true },
        h("p", { class: "note", text: t("questionTip") })) }
    ];
    var list = h("ul", { role: "tablist" });
    tabs.forEach(function (tab, i) {
      tab.tab = h("li", { role: "tab", class: i === 0 ? "sel" : null, "aria-selected": String(i === 0),
        tabindex: "0", text: t(tab.key), on: { click: function () { select(i); } } });
      list.appendChild(tab.tab);
    });
    function select(n) {
      tabs.forEach(function (tab, i) {
        tab.tab.className = i === n ? "sel" : "";
        tab.tab.setAttribute("aria-selected", String(i === n));
        tab.pane.hidden = i !== n;
      });
    }
    function say(text) { tip.textContent = text || ""; tip.hidden = !text; }
    var busy = false;
    App.popup({ title: t("accountSecurity"), width: 650,
      content: h("div", { id: "qaDialog2" }, h("div", { id: "tabsQA", class: "tabs" }, list, tabs[0].pane,
        tabs[1].pane), h("div", { class: "tip" }, tip)),
      buttons: [{ key: "ok", primary: true, click: function (dlg) {
        if (busy) return false;
        var pw = adminPassword.value, address = email.value.trim();
        if (!pw) { say(t("adminPassword") + t("nullTips")); return false; }
        if (!App.emailValid(address)) { say(t("emailError")); return false; }
        busy = true;
        say("");
        ISAPI.setReservedEmail(pw, address).then(function () {
          dlg.close();
          notice.textContent = t("saveSucceed");
          notice.hidden = false;
        }, function (err) { busy = false; say(App.errorText(err)); });
        return false;
      } }, { key: "cancel" }] });
  }

  App.loggedInPage("config", function (main, deviceInfo) {
    info = deviceInfo;
    document.title = info.model;
    content = h("div", { class: "content" });
    main.appendChild(h("div", { class: "config" }, buildTree(), content));
    open(location.hash === "#user" ? "userManage" : "systemSettings");
  });
})();
