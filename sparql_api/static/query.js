// dipkg query page: YASGUI over this server's /sparql (POST, form-encoded query=).
// Without JavaScript the plain form below the editor does the same job.
(function () {
  "use strict";
  var root = document.getElementById("yasgui");
  if (!root || typeof Yasgui === "undefined") { return; }
  var endpoint = root.getAttribute("data-endpoint");
  var textarea = document.getElementById("query-text");
  var examples = JSON.parse(document.getElementById("examples-data").textContent || "[]");
  var strings = JSON.parse((document.getElementById("ui-strings") || {}).textContent || "{}");
  // IRIs of this dataset open here (the base IRI maps to this server's root)
  var base = root.getAttribute("data-base"), site = root.getAttribute("data-root");

  function say(key, values) {
    var text = strings[key] || key;
    for (var name in values) { text = text.split("{" + name + "}").join(String(values[name])); }
    return text;
  }
  // The endpoint's JSON error ({error, status, message, line, column, details}) for a
  // person, in the page's language: the same rules as sparql_api.i18n.describe_error.
  function describeError(err) {
    var code = err.error || "", details = err.details || {};
    var out = { title: strings["err_" + code] ? say("err_" + code) : say("err_title"), text: "",
                where: err.line && err.column ? say("err_where", { line: err.line, column: err.column }) : "",
                original: err.message || "" };
    var withText = ["query-syntax", "query-evaluation", "bad-request", "not-acceptable", "http"];
    if (details.prefix) {
      var fix = "PREFIX " + details.prefix + ": <" + details.namespace + ">";
      out.text = say(details.namespace ? "err_prefix" : "err_prefix_unknown", { prefix: details.prefix, fix: fix });
    } else if (Object.prototype.toString.call(details.reasons) === "[object Array]" && details.reasons.length) {
      out.text = say("err_reasons", { reasons: details.reasons.join("; ") });
    } else if (details.formats && typeof details.formats === "object" && Object.keys(details.formats).length) {
      var names = Object.keys(details.formats).map(function (k) { var v = details.formats[k]; return v && v.length ? v[0] : k; });
      out.text = say("err_formats", { formats: names.join(", ") });
    } else if (Object.prototype.toString.call(details.expected) === "[object Array]") {
      var words = details.expected, shown = words.slice(0, 12).join(", ") + (words.length > 12 ? " …" : "");
      out.text = words.length ? say("err_expected", { expected: shown }) : say("err_unexpected");
    } else if (withText.indexOf(code) < 0 && strings["err_" + code]) {
      out.title = say("err_title"); out.text = say("err_" + code);
    } else {
      out.text = err.message || "";
    }
    return out;
  }
  function errorElement(err) {
    var info = describeError(err);
    var box = document.createElement("div"); box.className = "query-error"; box.setAttribute("role", "alert");
    var head = document.createElement("p"); head.className = "query-error-title";
    var strong = document.createElement("strong"); strong.textContent = info.title; head.appendChild(strong);
    if (info.where) {
      var where = document.createElement("span"); where.className = "query-error-where"; where.textContent = info.where;
      head.appendChild(document.createTextNode(" · ")); head.appendChild(where);
    }
    var body = document.createElement("p"); body.className = "query-error-text"; body.textContent = info.text;
    box.appendChild(head); box.appendChild(body);
    if (info.original && info.original !== info.text) {
      var more = document.createElement("details"), summary = document.createElement("summary"), code = document.createElement("code");
      summary.textContent = say("err_details"); code.textContent = info.original;
      more.appendChild(summary); more.appendChild(code); box.appendChild(more);
    }
    return box;
  }
  // YASR's hook for errors: YASGUI hands over {text: <the response body>}; ours is JSON
  function renderError(summary) {
    var err;
    try { err = JSON.parse(summary && summary.text); } catch (e) { return undefined; }
    if (!err || typeof err !== "object" || !err.error) { return undefined; }
    return errorElement(err);
  }
  // YASGUI's own labels in the page's language (sparql_api.i18n.YASGUI_ZH; empty in English)
  var labels = strings.yasgui || {}, exact = {}, patterns = [];
  Object.keys(labels).forEach(function (key) {
    if (key.indexOf("{") < 0) { exact[key] = labels[key]; return; }
    var names = [], source = key.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{(\w+)\}/g, function (m, name) {
      names.push(name); return "(.+?)";
    });
    patterns.push({ re: new RegExp("^" + source + "$"), names: names, to: labels[key] });
  });
  function translate(text) {
    var trimmed = text.trim();
    if (!trimmed) { return text; }
    if (exact.hasOwnProperty(trimmed)) { return text.replace(trimmed, exact[trimmed]); }
    for (var i = 0; i < patterns.length; i++) {
      var m = patterns[i].re.exec(trimmed);
      if (!m) { continue; }
      var out = patterns[i].to;
      for (var j = 0; j < patterns[i].names.length; j++) {
        var value = m[j + 1];
        out = out.split("{" + patterns[i].names[j] + "}").join(exact.hasOwnProperty(value) ? exact[value] : value);
      }
      return text.replace(trimmed, out);
    }
    return text;
  }
  function localize(node) {
    if (node.nodeType === 3) {
      var parent = node.parentElement;
      if (parent && !parent.closest(".CodeMirror, tbody, pre")) {
        var changed = translate(node.nodeValue);
        if (changed !== node.nodeValue) { node.nodeValue = changed; }
      }
      return;
    }
    if (node.nodeType !== 1) { return; }
    ["title", "placeholder", "aria-label"].forEach(function (name) {
      var value = node.getAttribute(name);
      if (value) { var changed = translate(value); if (changed !== value) { node.setAttribute(name, changed); } }
    });
    for (var child = node.firstChild; child; child = child.nextSibling) { localize(child); }
  }
  if (Object.keys(labels).length && typeof MutationObserver !== "undefined") {
    new MutationObserver(function (mutations) {
      mutations.forEach(function (m) {
        if (m.type === "characterData") { localize(m.target); }
        else if (m.type === "attributes") { localize(m.target); }
        else { for (var i = 0; i < m.addedNodes.length; i++) { localize(m.addedNodes[i]); } }
      });
    }).observe(root, { childList: true, subtree: true, characterData: true, attributes: true,
                       attributeFilter: ["title", "placeholder", "aria-label"] });
  }
  var yasgui = new Yasgui(root, {
    // new tabs are named from this ("查询 1"): the observer below only knows whole labels
    tabName: exact.hasOwnProperty("Query") ? exact["Query"] : "Query",
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    persistenceId: null,
    populateFromUrl: false,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    yasr: { defaultPlugin: "table" }
  });
  var plain = document.getElementById("plain-form");
  if (plain) { plain.hidden = true; }
  var served = document.getElementById("plain-results");
  if (served) { served.hidden = true; }
  function tab() { return yasgui.getTab(); }
  function localHref(href) {
    return base && href.indexOf(base) === 0 ? site + "/" + href.substring(base.length) : href;
  }
  // a readable table by default: prefixed IRIs, plain literals ("simple view"); and the
  // table's link hook: an IRI of this dataset links to its page here, in this window
  function compactTable(t) {
    var yasr = t && t.getYasr && t.getYasr();
    // YASR asks its config's error renderers (a tab sets YASGUI's CORS one) before its own dump
    if (yasr && yasr.config && (yasr.config.errorRenderers || []).indexOf(renderError) < 0) {
      yasr.config.errorRenderers = [renderError].concat(yasr.config.errorRenderers || []);
    }
    var table = yasr && yasr.plugins && yasr.plugins.table;
    if (!table) { return; }
    table.persistentConfig.compact = true;
    if (!table.dipkgLinks && typeof table.getUriLinkFromBinding === "function") {
      var original = table.getUriLinkFromBinding;
      table.getUriLinkFromBinding = function (binding, prefixes) {
        var html = original.call(this, binding, prefixes);
        var href = binding && binding.value;
        if (!href || localHref(href) === href) { return html; }
        var holder = document.createElement("span");
        holder.innerHTML = html;
        var a = holder.querySelector("a.iri");
        if (a) { a.setAttribute("href", localHref(href)); a.setAttribute("target", "_self"); a.removeAttribute("rel"); }
        return holder.innerHTML;
      };
      table.dipkgLinks = true;
    }
  }
  compactTable(tab());
  yasgui.on("queryBefore", function (instance, t) { compactTable(t); });
  yasgui.on("queryResponse", function (instance, t) { compactTable(t); });  // before YASR draws
  function setQuery(text, run) {
    var t = tab();
    t.setQuery(text);
    if (textarea) { textarea.value = text; }
    updateDownloads(text, t);
    if (run) { t.query(); }
  }
  // the download links of the query in the editor: what /sparql offers for its form
  // (sparql_api.negotiation.query_offers, written into the page), none for a form not told
  var offered = JSON.parse((document.getElementById("download-formats") || {}).textContent || "{}");
  var kinds = { SELECT: "table", ASK: "table", CONSTRUCT: "graph", DESCRIBE: "graph" };
  function updateDownloads(text, t) {
    var list = document.getElementById("download-links");
    if (!list) { return; }
    var yasqe = t && t.getYasqe && t.getYasqe();
    if (!yasqe || !yasqe.getQueryType) { return; }  // the form cannot be told: the server's links stay
    var form = String(yasqe.getQueryType() || "").toUpperCase();
    var formats = (kinds.hasOwnProperty(form) && offered[kinds[form]]) || [];
    list.textContent = "";
    formats.forEach(function (f) {
      var item = document.createElement("li"), link = document.createElement("a");
      link.href = endpoint + "?query=" + encodeURIComponent(text) + "&format=" + encodeURIComponent(f.format);
      link.setAttribute("data-format", f.format);
      link.textContent = f.label;
      item.appendChild(link);
      list.appendChild(item);
    });
    var none = document.getElementById("no-downloads");
    if (none) { none.hidden = formats.length > 0; }
  }
  // YASGUI leaves some controls without a name, and puts its "+" (new tab) button inside
  // the tab list, where only tabs may be: name them, and move the button just after the
  // list, the two in one row (.tabsBar; the button's wrapper stays in the list: YASGUI
  // inserts new tabs before it)
  var named = { ".yasqe textarea": "a11y_editor", "input.autocomplete": "a11y_endpoint",
                "select.tableSizer": "a11y_page_size" };
  function nameControls() {
    Object.keys(named).forEach(function (selector) {
      var els = root.querySelectorAll(selector);
      for (var i = 0; i < els.length; i++) {
        if (!els[i].getAttribute("aria-label")) { els[i].setAttribute("aria-label", say(named[selector])); }
      }
    });
    var add = root.querySelector(".tabsList .addTab"), list = add && add.closest(".tabsList");
    if (add && list) {
      var bar = document.createElement("div");
      bar.className = "tabsBar";
      list.parentNode.insertBefore(bar, list);
      bar.appendChild(list);
      bar.appendChild(add);
    }
  }
  nameControls();
  if (typeof MutationObserver !== "undefined") {
    new MutationObserver(nameControls).observe(root, { childList: true, subtree: true });
  }
  if (textarea && textarea.value) { setQuery(textarea.value, !!served); }
  localize(root);
  yasgui.on("query", function (instance, t) { updateDownloads(t.getQuery(), t); });
  var buttons = document.querySelectorAll(".example-button");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener("click", function (event) {
      event.preventDefault();
      var ex = examples[Number(this.getAttribute("data-example"))];
      if (ex) { setQuery(ex.query, true); root.scrollIntoView({ block: "start" }); }
    });
  }
})();
