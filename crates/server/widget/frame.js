/* Outpost web chat: the panel a visitor talks in (inside the frame the site's script added).
   Customer and agent text is only ever set as text, never as markup. The visitor's token stays
   in this frame's storage: it names them alone, so they see only their own conversation.
   Messages written while offline wait here and are sent once when the connection is back. */
(function () {
  "use strict";
  var channel = document.body.getAttribute("data-channel");
  var business = document.body.getAttribute("data-name");
  var TEXTS = {
    en: {
      open: "Chat with us", close: "Close the chat", message: "Your message", send: "Send", attach: "Attach files",
      intro: "Tell us who you are (optional), then write your question.", name: "Your name", email: "Your email",
      away: "Nobody is available right now: leave your message and we'll answer here.", online: "We usually answer in a few minutes",
      offline: "Reconnecting…", typing: "{name} is typing…", you: "You", waiting: "Waiting to send", sent: "Sent",
      delivered: "Delivered", read: "Read", unread: "{n} new", failed: "Not sent: {why}", tooBig: "{name} is too large (100 MB at most).",
    },
    pt: {
      open: "Converse conosco", close: "Fechar a conversa", message: "Sua mensagem", send: "Enviar", attach: "Anexar arquivos",
      intro: "Diga quem você é (opcional) e escreva sua pergunta.", name: "Seu nome", email: "Seu e-mail",
      away: "Ninguém está disponível agora: deixe sua mensagem e responderemos aqui.", online: "Costumamos responder em poucos minutos",
      offline: "Reconectando…", typing: "{name} está digitando…", you: "Você", waiting: "Aguardando envio", sent: "Enviada",
      delivered: "Entregue", read: "Lida", unread: "{n} nova(s)", failed: "Não enviada: {why}", tooBig: "{name} é grande demais (no máximo 100 MB).",
    },
    es: {
      open: "Chatee con nosotros", close: "Cerrar el chat", message: "Su mensaje", send: "Enviar", attach: "Adjuntar archivos",
      intro: "Díganos quién es (opcional) y escriba su pregunta.", name: "Su nombre", email: "Su correo",
      away: "No hay nadie disponible ahora: deje su mensaje y le responderemos aquí.", online: "Solemos responder en pocos minutos",
      offline: "Reconectando…", typing: "{name} está escribiendo…", you: "Usted", waiting: "Esperando para enviar", sent: "Enviado",
      delivered: "Entregado", read: "Leído", unread: "{n} nuevo(s)", failed: "No enviado: {why}", tooBig: "{name} es demasiado grande (100 MB como máximo).",
    },
  };
  var asked = (new URLSearchParams(location.hash.slice(1)).get("lang") || navigator.language || "en").toLowerCase();
  var T = TEXTS[asked.slice(0, 2)] || TEXTS.en;
  function say(key, values) {
    return T[key].replace(/\{(\w+)\}/g, function (_, k) { return values && values[k] !== undefined ? String(values[k]) : ""; });
  }
  document.documentElement.lang = asked.slice(0, 2) === "pt" ? "pt-BR" : asked.slice(0, 2) === "es" ? "es" : "en";
  var $ = function (id) { return document.getElementById(id); };
  var launcher = $("launcher"), panel = $("panel"), log = $("log"), text = $("text"), files = $("files");
  $("launcher-label").textContent = T.open;
  $("close-label").textContent = T.close;
  $("text-label").textContent = T.message;
  $("attach-label").textContent = T.attach;
  $("send").textContent = T.send;
  $("intro-text").textContent = T.intro;
  $("name-label").textContent = T.name;
  $("email-label").textContent = T.email;
  $("away").textContent = T.away;
  $("title").textContent = business;
  text.placeholder = T.message;

  var KEY = "outpost-widget:" + channel, QUEUE = "outpost-widget-queue:" + channel;
  var store = {
    get: function (k) { try { return JSON.parse(localStorage.getItem(k) || "null"); } catch (e) { return null; } },
    set: function (k, v) { try { localStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* private mode: this visit only */ } },
  };
  var me = store.get(KEY); // { token, visitor }
  var queue = store.get(QUEUE) || []; // [{ client_id, text, files: [{file, name}] }]
  var shown = {}; // id -> element
  var socket = null, open = false, backoff = 1000, unread = 0, typingTimer = 0, lastTyping = 0;

  function uuid() {
    return crypto.randomUUID ? crypto.randomUUID() : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16);
    });
  }
  function tell(kind, data) { if (socket && socket.readyState === 1) socket.send(JSON.stringify(Object.assign({ type: kind }, data || {}))); }
  function resize() { parent.postMessage({ outpost: "size", open: open }, "*"); }
  function setOpen(next) {
    open = next;
    panel.hidden = !open;
    launcher.hidden = open;
    launcher.setAttribute("aria-expanded", String(open));
    resize();
    if (open) {
      unread = 0;
      badge();
      $("intro").hidden = !!me;
      text.focus();
      seen();
      if (!me) return;
    } else {
      launcher.focus();
    }
  }
  function badge() {
    var b = $("badge");
    b.hidden = unread === 0;
    b.textContent = unread ? String(unread) : "";
    $("launcher-label").textContent = unread ? T.open + " (" + say("unread", { n: unread }) + ")" : T.open;
  }
  function when(at) {
    return new Date(at).toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
  }
  function statusText(m) {
    return m.from === "us" ? "" : m.waiting ? T.waiting : T[m.status === "received" ? "sent" : m.status] || T.sent;
  }
  /** A message on screen, made or updated: text as text, files as links carrying the token. */
  function render(m) {
    var li = shown[m.id];
    if (!li) {
      li = document.createElement("li");
      shown[m.id] = li;
      log.appendChild(li);
    }
    li.className = m.from === "us" ? "us" : "visitor";
    li.textContent = "";
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = m.from === "us" ? m.agent || business : T.you;
    li.appendChild(who);
    if (m.text) {
      var p = document.createElement("p");
      p.textContent = m.text;
      p.dir = "auto";
      li.appendChild(p);
    }
    (m.files || []).forEach(function (f) {
      var a = document.createElement("a");
      a.textContent = f.name;
      if (f.file && me) a.href = "/v1/widget/" + channel + "/files/" + f.file + "?token=" + encodeURIComponent(me.token);
      a.download = f.name;
      a.rel = "noopener";
      li.appendChild(a);
    });
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = when(m.at) + (statusText(m) ? " · " + statusText(m) : "");
    li.appendChild(meta);
    log.scrollTop = log.scrollHeight;
  }
  /** The business's messages on screen while the panel is open and the page visible: read. */
  function seen() {
    if (!open || document.visibilityState !== "visible") return;
    var ids = Object.keys(shown).filter(function (id) { return shown[id].className === "us" && !shown[id].dataset.seen; });
    ids.forEach(function (id) { shown[id].dataset.seen = "1"; });
    if (ids.length) tell("seen", { ids: ids });
  }
  function heard(m) {
    var fresh = !shown[m.id];
    render(m);
    if (m.from === "us" && fresh) {
      // The widget has it: delivered (said once; a status change comes back as the same id).
      tell("received", { ids: [m.id] });
      if (!open) { unread += 1; badge(); }
    }
    if (m.from === "us") seen();
  }
  function problem(message) {
    var p = $("problem");
    p.hidden = !message;
    p.textContent = message || "";
  }
  function connect() {
    if (!me) return;
    var url = location.origin.replace(/^http/, "ws") + "/v1/widget/" + channel + "/stream?token=" + encodeURIComponent(me.token);
    socket = new WebSocket(url);
    socket.onopen = function () {
      backoff = 1000;
      $("state").textContent = T.online;
      // What was written offline goes now, once each (the server knows a send by its id).
      queue.forEach(function (q) { tell("send", q); });
    };
    socket.onmessage = function (e) {
      var f;
      try { f = JSON.parse(e.data); } catch (err) { return; }
      if (f.type === "hello") {
        f.messages.forEach(heard);
        $("away").hidden = f.available;
      } else if (f.type === "message") {
        heard(f);
      } else if (f.type === "available") {
        $("away").hidden = f.available;
      } else if (f.type === "typing") {
        var t = $("typing");
        t.textContent = say("typing", { name: f.name || business });
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { t.textContent = ""; }, 4000);
      } else if (f.type === "sent") {
        queue = queue.filter(function (q) { return q.client_id !== f.client_id; });
        store.set(QUEUE, queue);
        var pending = shown["local:" + f.client_id];
        if (pending) { pending.remove(); delete shown["local:" + f.client_id]; }
      } else if (f.type === "refused") {
        queue = queue.filter(function (q) { return q.client_id !== f.client_id; });
        store.set(QUEUE, queue);
        problem(say("failed", { why: f.message }));
      }
    };
    socket.onclose = function (e) {
      socket = null;
      if (e.code === 1008 || e.code === 4401) { me = null; store.set(KEY, null); return; }
      $("state").textContent = T.offline;
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }
  function start() {
    if (me) return Promise.resolve();
    return fetch("/v1/widget/" + channel + "/visitors", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: $("name").value, email: $("email").value }),
    }).then(function (r) {
      if (!r.ok) return r.json().then(function (b) { throw new Error(b.message || r.status); });
      return r.json();
    }).then(function (v) {
      me = { token: v.token, visitor: v.visitor };
      store.set(KEY, me);
      $("intro").hidden = true;
      connect();
    });
  }
  function upload(file) {
    if (file.size > 100 * 1024 * 1024) return Promise.reject(new Error(say("tooBig", { name: file.name })));
    var id = uuid();
    return fetch("/v1/widget/" + channel + "/files/" + id, {
      method: "PUT",
      headers: { "content-type": file.type || "application/octet-stream", "x-outpost-visitor-token": me.token },
      body: file,
    }).then(function (r) {
      if (!r.ok) return r.json().then(function (b) { throw new Error(b.message || r.status); });
      return { file: id, name: file.name };
    });
  }
  function send() {
    var body = text.value.trim();
    var picked = Array.prototype.slice.call(files.files || []);
    if (!body && picked.length === 0) return;
    problem(null);
    start().then(function () {
      return Promise.all(picked.map(upload));
    }).then(function (sentFiles) {
      var q = { client_id: uuid(), text: body, files: sentFiles };
      queue.push(q);
      store.set(QUEUE, queue);
      render({ id: "local:" + q.client_id, from: "visitor", text: body, at: Date.now(), waiting: true, files: sentFiles.map(function (f) { return { name: f.name }; }) });
      tell("send", q);
      text.value = "";
      files.value = "";
    }).catch(function (e) { problem(say("failed", { why: e.message })); });
  }
  launcher.addEventListener("click", function () { setOpen(true); });
  $("close").addEventListener("click", function () { setOpen(false); });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && open) setOpen(false); });
  document.addEventListener("visibilitychange", seen);
  $("composer").addEventListener("submit", function (e) { e.preventDefault(); send(); });
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  text.addEventListener("input", function () {
    if (Date.now() - lastTyping > 3000) { lastTyping = Date.now(); tell("typing"); }
  });
  // Shown while offline: what waits to be sent.
  queue.forEach(function (q) {
    render({ id: "local:" + q.client_id, from: "visitor", text: q.text, at: Date.now(), waiting: true, files: q.files });
  });
  resize();
  if (me) connect();
  else {
    // Not written yet: whether anyone is there to answer, said before they write.
    fetch("/v1/widget/" + channel + "/available").then(function (r) { return r.json(); }).then(function (a) {
      $("away").hidden = !!a.available;
      $("state").textContent = T.online;
    }, function () { /* said once connected */ });
  }
})();
