// dipkg query page: YASGUI over this server's /sparql (POST, form-encoded query=).
// Without JavaScript the plain form below the editor does the same job.
(function () {
  "use strict";
  var root = document.getElementById("yasgui");
  if (!root || typeof Yasgui === "undefined") { return; }
  var endpoint = root.getAttribute("data-endpoint");
  var textarea = document.getElementById("query-text");
  var examples = JSON.parse(document.getElementById("examples-data").textContent || "[]");
  var yasgui = new Yasgui(root, {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    persistenceId: null,
    populateFromUrl: false,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    yasr: { defaultPlugin: "table" }
  });
  var plain = document.getElementById("plain-form");
  if (plain) { plain.hidden = true; }
  function tab() { return yasgui.getTab(); }
  // a readable table by default: prefixed IRIs, plain literals ("simple view")
  function compactTable(t) {
    var yasr = t && t.getYasr && t.getYasr();
    if (yasr && yasr.plugins && yasr.plugins.table) { yasr.plugins.table.persistentConfig.compact = true; }
  }
  compactTable(tab());
  yasgui.on("queryBefore", function (instance, t) { compactTable(t); });
  function setQuery(text, run) {
    var t = tab();
    t.setQuery(text);
    if (textarea) { textarea.value = text; }
    updateDownloads(text);
    if (run) { t.query(); }
  }
  function updateDownloads(text) {
    var links = document.querySelectorAll("#download-links a[data-format]");
    for (var i = 0; i < links.length; i++) {
      var fmt = links[i].getAttribute("data-format");
      links[i].href = endpoint + "?query=" + encodeURIComponent(text) + "&format=" + encodeURIComponent(fmt);
    }
  }
  if (textarea && textarea.value) { setQuery(textarea.value, false); }
  yasgui.on("query", function (instance, t) { updateDownloads(t.getQuery()); });
  // IRIs of this dataset open here (the base IRI maps to this server's root)
  var base = root.getAttribute("data-base"), site = root.getAttribute("data-root");
  yasgui.on("queryResponse", function () {
    setTimeout(function () {
      var links = root.querySelectorAll(".yasr a.iri");
      for (var i = 0; i < links.length; i++) {
        var href = links[i].getAttribute("href") || "";
        if (base && href.indexOf(base) === 0) {
          links[i].setAttribute("href", site + "/" + href.substring(base.length));
          links[i].removeAttribute("target");
        }
      }
    }, 0);
  });
  var buttons = document.querySelectorAll(".example-button");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener("click", function (event) {
      event.preventDefault();
      var ex = examples[Number(this.getAttribute("data-example"))];
      if (ex) { setQuery(ex.query, true); root.scrollIntoView({ block: "start" }); }
    });
  }
})();
