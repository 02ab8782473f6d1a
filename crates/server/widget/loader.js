/* Outpost web chat: the one script a business puts on its site. It adds the chat's frame (served
   by the Outpost server, so this page's styles and scripts cannot reach into it) and resizes it
   when the frame asks. No inline code or styles: it runs under a strict Content-Security-Policy. */
(function () {
  "use strict";
  var base = "__OUTPOST_BASE__";
  var channel = "__OUTPOST_CHANNEL__";
  var origin = new URL(base).origin;
  var mounted = (window.__outpostWidgets = window.__outpostWidgets || {});
  if (mounted[channel]) return;
  mounted[channel] = true;
  var script = document.currentScript;
  var lang = (script && script.getAttribute("data-lang")) || document.documentElement.lang || navigator.language || "en";
  var titles = { pt: "Converse conosco", es: "Chatee con nosotros", en: "Chat with us" };
  function mount() {
    var frame = document.createElement("iframe");
    frame.src = base + "/widget/" + channel + "/frame#lang=" + encodeURIComponent(lang);
    frame.title = titles[lang.slice(0, 2).toLowerCase()] || titles.en;
    frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-downloads allow-popups");
    frame.setAttribute("data-outpost-widget", channel);
    var s = frame.style;
    s.position = "fixed";
    s.right = "16px";
    s.bottom = "16px";
    s.width = "76px";
    s.height = "76px";
    s.maxWidth = "calc(100vw - 16px)";
    s.maxHeight = "calc(100vh - 16px)";
    s.border = "0";
    s.background = "transparent";
    s.colorScheme = "normal";
    s.zIndex = "2147483647";
    window.addEventListener("message", function (e) {
      if (e.origin !== origin || e.source !== frame.contentWindow || !e.data || e.data.outpost !== "size") return;
      s.width = e.data.open ? "380px" : "76px";
      s.height = e.data.open ? "580px" : "76px";
    });
    document.body.appendChild(frame);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
