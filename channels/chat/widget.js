/*
 * Hotline chat widget. Embed with:
 *   <script src="https://hub.example/chat/widget.js" data-tenant="demo"
 *           data-queue="support" data-lang="fr" async></script>
 * Plain JavaScript, no build step. Every text a customer or an agent wrote
 * is put in the page with textContent or createTextNode, never parsed as
 * HTML. The protocol is described in channels/chat/PROTOCOL.md.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) {
    var all = document.getElementsByTagName("script");
    for (var i = 0; i < all.length; i++) {
      if (/\/chat\/widget\.js(\?|$)/.test(all[i].src || "")) { script = all[i]; }
    }
  }
  if (!script) { return; }
  var tenant = script.getAttribute("data-tenant") || "";
  var queue = script.getAttribute("data-queue") || "";
  var wsURL = script.src.replace(/^http/, "ws").replace(/\/widget\.js(\?.*)?$/, "/ws");

  var STRINGS = {
    fr: {
      title: "Discuter avec nous", open: "Bonjour ! Comment pouvons-nous vous aider ?",
      placeholder: "Votre message…", send: "Envoyer", close: "Fermer", you: "Vous", agent: "Conseiller",
      typing: "Le conseiller écrit…", closed: "Nous sommes fermés. Laissez un message, nous répondrons dès l'ouverture",
      nextOpen: "Réouverture : ", holiday: "Jour férié : ", name: "Nom (facultatif)", email: "E-mail (facultatif)",
      sending: "envoi…", sent: "envoyé", offline: "Connexion perdue, nouvelle tentative…",
      tooLong: "Message trop long.", slow: "Trop de messages, patientez un instant.", error: "Erreur : "
    },
    en: {
      title: "Chat with us", open: "Hello! How can we help you?",
      placeholder: "Your message…", send: "Send", close: "Close", you: "You", agent: "Agent",
      typing: "The agent is typing…", closed: "We are closed. Leave a message and we will answer when we open",
      nextOpen: "Opens again: ", holiday: "Holiday: ", name: "Name (optional)", email: "Email (optional)",
      sending: "sending…", sent: "sent", offline: "Connection lost, retrying…",
      tooLong: "Message too long.", slow: "Too many messages, please wait a moment.", error: "Error: "
    },
    ru: {
      title: "Напишите нам", open: "Здравствуйте! Чем мы можем помочь?",
      placeholder: "Ваше сообщение…", send: "Отправить", close: "Закрыть", you: "Вы", agent: "Оператор",
      typing: "Оператор печатает…", closed: "Сейчас мы закрыты. Оставьте сообщение, мы ответим, когда откроемся",
      nextOpen: "Откроемся: ", holiday: "Праздник: ", name: "Имя (необязательно)", email: "E-mail (необязательно)",
      sending: "отправка…", sent: "отправлено", offline: "Соединение потеряно, переподключение…",
      tooLong: "Слишком длинное сообщение.", slow: "Слишком много сообщений, подождите немного.", error: "Ошибка: "
    },
    de: {
      title: "Chatten Sie mit uns", open: "Hallo! Wie können wir helfen?",
      placeholder: "Ihre Nachricht…", send: "Senden", close: "Schließen", you: "Sie", agent: "Berater",
      typing: "Der Berater schreibt…", closed: "Wir haben geschlossen. Hinterlassen Sie eine Nachricht, wir antworten nach der Öffnung",
      nextOpen: "Wieder geöffnet: ", holiday: "Feiertag: ", name: "Name (optional)", email: "E-Mail (optional)",
      sending: "wird gesendet…", sent: "gesendet", offline: "Verbindung verloren, neuer Versuch…",
      tooLong: "Nachricht zu lang.", slow: "Zu viele Nachrichten, bitte kurz warten.", error: "Fehler: "
    }
  };
  function pickLang() {
    var cands = [script.getAttribute("data-lang") || "", navigator.language || "", "en"];
    for (var i = 0; i < cands.length; i++) {
      var l = cands[i].toLowerCase().slice(0, 2);
      if (STRINGS[l]) { return l; }
    }
    return "en";
  }
  var lang = pickLang();
  var T = STRINGS[lang];

  // Storage: the visitor token and the messages not yet acknowledged.
  var prefix = "hotline.chat." + tenant + ".";
  function load(k, d) {
    try { var v = window.localStorage.getItem(prefix + k); return v === null ? d : JSON.parse(v); } catch (e) { return d; }
  }
  function store(k, v) {
    try { window.localStorage.setItem(prefix + k, JSON.stringify(v)); } catch (e) { /* private mode */ }
  }
  var token = load("token", "");
  var outbox = load("outbox", []); // [{client_id, text}]
  var profile = load("profile", { name: "", email: "" });

  function newClientID() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var a = new Uint8Array(16);
    window.crypto.getRandomValues(a);
    var s = "";
    for (var i = 0; i < a.length; i++) { s += (a[i] + 256).toString(16).slice(1); }
    return s;
  }

  // ---- DOM: built with createElement and textContent only. ----
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  var css = el("style");
  css.textContent =
    ".hlc-bubble{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;" +
    "background:#2457c5;color:#fff;font-size:26px;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.3);z-index:2147483000}" +
    ".hlc-panel{position:fixed;right:20px;bottom:86px;width:330px;max-width:calc(100vw - 40px);height:460px;" +
    "max-height:calc(100vh - 110px);background:#fff;color:#222;border-radius:10px;box-shadow:0 4px 18px rgba(0,0,0,.3);" +
    "display:none;flex-direction:column;font:14px/1.4 system-ui,sans-serif;z-index:2147483000;overflow:hidden}" +
    ".hlc-panel.hlc-open{display:flex}.hlc-head{background:#2457c5;color:#fff;padding:10px 12px;display:flex;" +
    "justify-content:space-between;align-items:center}.hlc-head button{background:none;border:0;color:#fff;font-size:18px;cursor:pointer}" +
    ".hlc-notice{background:#fff4d6;padding:6px 10px;font-size:13px;display:none}.hlc-status{color:#a33;font-size:12px;padding:2px 10px;min-height:0}" +
    ".hlc-list{flex:1;overflow-y:auto;padding:8px 10px}.hlc-msg{margin:6px 0;max-width:85%;padding:6px 9px;border-radius:8px;" +
    "white-space:pre-wrap;word-wrap:break-word}.hlc-visitor{margin-left:auto;background:#e3ebfb}.hlc-agent{background:#f0f0f0}" +
    ".hlc-meta{display:block;font-size:11px;color:#666;margin-top:2px}.hlc-typing{font-size:12px;color:#666;padding:0 10px;min-height:16px}" +
    ".hlc-who{display:flex;gap:4px;padding:4px 10px}.hlc-who input{flex:1;min-width:0;font-size:12px;padding:3px}" +
    ".hlc-form{display:flex;border-top:1px solid #ddd}.hlc-form textarea{flex:1;border:0;resize:none;padding:8px;font:inherit;height:44px}" +
    ".hlc-form button{border:0;background:#2457c5;color:#fff;padding:0 12px;cursor:pointer}";
  var bubble = el("button", "hlc-bubble", "\uD83D\uDCAC");
  bubble.setAttribute("aria-label", T.title);
  var panel = el("div", "hlc-panel");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", T.title);
  var head = el("div", "hlc-head");
  head.appendChild(el("strong", "", T.title));
  var closeBtn = el("button", "", "\u00D7");
  closeBtn.setAttribute("aria-label", T.close);
  head.appendChild(closeBtn);
  var notice = el("div", "hlc-notice");
  var status = el("div", "hlc-status");
  var list = el("div", "hlc-list");
  list.setAttribute("aria-live", "polite");
  list.appendChild(el("div", "hlc-msg hlc-agent", T.open));
  var typingEl = el("div", "hlc-typing");
  var who = el("div", "hlc-who");
  var nameIn = el("input");
  nameIn.placeholder = T.name;
  nameIn.maxLength = 100;
  nameIn.value = profile.name || "";
  var emailIn = el("input");
  emailIn.type = "email";
  emailIn.placeholder = T.email;
  emailIn.maxLength = 254;
  emailIn.value = profile.email || "";
  who.appendChild(nameIn);
  who.appendChild(emailIn);
  var form = el("form", "hlc-form");
  var input = el("textarea");
  input.placeholder = T.placeholder;
  input.maxLength = 4000;
  var sendBtn = el("button", "", T.send);
  sendBtn.type = "submit";
  form.appendChild(input);
  form.appendChild(sendBtn);
  panel.appendChild(head);
  panel.appendChild(notice);
  panel.appendChild(status);
  panel.appendChild(list);
  panel.appendChild(typingEl);
  panel.appendChild(who);
  panel.appendChild(form);

  function mount() {
    document.head.appendChild(css);
    document.body.appendChild(bubble);
    document.body.appendChild(panel);
  }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
  bubble.addEventListener("click", function () {
    panel.classList.toggle("hlc-open");
    if (panel.classList.contains("hlc-open")) { input.focus(); connect(); }
  });
  closeBtn.addEventListener("click", function () { panel.classList.remove("hlc-open"); });

  // ---- Messages on screen, keyed by client id (own) and message id. ----
  var byClient = {}; // client_id -> {node, meta}
  var seen = {};     // message_id -> true
  var lastSeq = null;

  function fmtTime(iso) {
    var d = iso ? new Date(iso) : new Date();
    try { return d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" }); } catch (e) { return d.toTimeString().slice(0, 5); }
  }
  function addBubble(from, text, label, timeISO) {
    var node = el("div", "hlc-msg hlc-" + from);
    node.appendChild(document.createTextNode(text));
    var meta = el("span", "hlc-meta", label + " \u00B7 " + fmtTime(timeISO));
    node.appendChild(meta);
    list.appendChild(node);
    list.scrollTop = list.scrollHeight;
    return { node: node, meta: meta, label: label + " \u00B7 " + fmtTime(timeISO) };
  }
  function setState(item, state) {
    item.meta.textContent = item.label + " \u00B7 " + state;
  }
  function showOwnPending(m) {
    if (byClient[m.client_id]) { return; }
    var item = addBubble("visitor", m.text, T.you);
    setState(item, T.sending);
    byClient[m.client_id] = item;
  }
  for (var k = 0; k < outbox.length; k++) { showOwnPending(outbox[k]); }

  // ---- The socket, with reconnect and backoff. ----
  var ws = null, welcomed = false, attempt = 0, timer = null, stopped = false, started = false;

  function send(obj) {
    if (ws && ws.readyState === 1 && welcomed) { ws.send(JSON.stringify(obj)); return true; }
    return false;
  }
  function connect() {
    if (started) { return; }
    started = true;
    open();
  }
  function open() {
    timer = null;
    welcomed = false;
    try { ws = new WebSocket(wsURL); } catch (e) { retry(); return; }
    ws.onopen = function () {
      var hello = { type: "hello", tenant: tenant, queue: queue, lang: lang,
        name: nameIn.value.trim(), email: emailIn.value.trim() };
      if (token) { hello.token = token; }
      if (lastSeq !== null) { hello.last_seq = lastSeq; }
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      handle(f);
    };
    ws.onclose = function (ev) {
      welcomed = false;
      ws = null;
      if (stopped || ev.code === 1008) { return; } // refused by policy: retrying will not help
      status.textContent = T.offline;
      retry();
    };
  }
  function retry() {
    if (timer) { return; }
    var delay = Math.min(30000, 1000 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
    attempt++;
    timer = setTimeout(open, delay);
  }

  function flushOutbox() {
    for (var i = 0; i < outbox.length; i++) {
      send({ type: "message", client_id: outbox[i].client_id, text: outbox[i].text });
    }
  }
  function dropFromOutbox(cid) {
    for (var i = 0; i < outbox.length; i++) {
      if (outbox[i].client_id === cid) { outbox.splice(i, 1); store("outbox", outbox); return; }
    }
  }

  var typingTimer = null;
  function handle(f) {
    switch (f.type) {
      case "welcome":
        welcomed = true;
        attempt = 0;
        status.textContent = "";
        token = f.token;
        store("token", token);
        if (!f.open) {
          var s = T.closed;
          if (f.holiday) { s = T.holiday + f.holiday + ". " + s; }
          if (f.next_open) {
            var d = new Date(f.next_open);
            var when;
            try { when = d.toLocaleString(lang, { weekday: "long", hour: "2-digit", minute: "2-digit" }); } catch (e) { when = d.toString(); }
            s += ". " + T.nextOpen + when;
          }
          notice.textContent = s;
          notice.style.display = "block";
        } else {
          notice.style.display = "none";
        }
        flushOutbox();
        break;
      case "ack":
        // The socket a message was sent on gets no message frame for it:
        // the ack carries its seq.
        if (typeof f.seq === "number" && (lastSeq === null || f.seq > lastSeq)) { lastSeq = f.seq; }
        dropFromOutbox(f.client_id);
        if (byClient[f.client_id]) { setState(byClient[f.client_id], T.sent); }
        if (f.message_id) { seen[f.message_id] = true; }
        break;
      case "message":
        if (typeof f.seq === "number" && (lastSeq === null || f.seq > lastSeq)) { lastSeq = f.seq; }
        if (f.client_id && byClient[f.client_id]) {
          seen[f.message_id] = true;
          dropFromOutbox(f.client_id);
          setState(byClient[f.client_id], T.sent);
          return;
        }
        if (seen[f.message_id]) { return; }
        seen[f.message_id] = true;
        if (f.from === "agent") {
          typingEl.textContent = "";
          addBubble("agent", f.text, f.agent_name || T.agent, f.time);
        } else {
          var item = addBubble("visitor", f.text, T.you, f.time);
          setState(item, T.sent);
          if (f.client_id) { byClient[f.client_id] = item; }
        }
        break;
      case "typing":
        clearTimeout(typingTimer);
        typingEl.textContent = f.active ? T.typing : "";
        if (f.active) { typingTimer = setTimeout(function () { typingEl.textContent = ""; }, 6000); }
        break;
      case "error":
        if (f.code === "bad_token") { token = ""; store("token", ""); return; }
        if (f.code === "rate_limited" && f.client_id) {
          status.textContent = T.slow;
          setTimeout(flushOutbox, 5000);
          return;
        }
        if (f.code === "too_long") { status.textContent = T.tooLong; return; }
        if (f.code === "unavailable") { setTimeout(flushOutbox, 3000); }
        status.textContent = T.error + (f.message || f.code);
        break;
    }
  }

  // ---- Sending, and our own typing (throttled). ----
  var typingSent = 0, typingOff = null;
  input.addEventListener("input", function () {
    var now = Date.now();
    if (now - typingSent > 2000) { typingSent = now; send({ type: "typing", active: true }); }
    clearTimeout(typingOff);
    typingOff = setTimeout(function () { typingSent = 0; send({ type: "typing", active: false }); }, 3000);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); }
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
  function saveProfile() {
    profile = { name: nameIn.value.trim(), email: emailIn.value.trim() };
    store("profile", profile);
  }
  nameIn.addEventListener("change", saveProfile);
  emailIn.addEventListener("change", saveProfile);
  function submit() {
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    clearTimeout(typingOff);
    typingSent = 0;
    send({ type: "typing", active: false });
    var m = { client_id: newClientID(), text: text };
    outbox.push(m);
    store("outbox", outbox);
    showOwnPending(m);
    connect();
    saveProfile();
    send({ type: "message", client_id: m.client_id, text: m.text, name: profile.name, email: profile.email });
  }
  // A visitor with unsent messages from an earlier page reconnects at once.
  if (outbox.length > 0 || token) { connect(); }
})();
