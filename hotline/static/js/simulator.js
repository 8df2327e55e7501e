/* The phone and SMS simulator (/simulator): the page.
 *
 * The TwiML state machine is in simulator-twiml.js (a mirror of call_engine.py). Here the
 * server is asked to add the call's parameters, sign and post each request to the real
 * webhook; the TwiML it returns is played on the phone on the screen.
 */
(function () {
  "use strict";

  var twiml = window.HotlineTwiml;
  var CallEngine = twiml.CallEngine;
  var newSid = twiml.newSid;
  var secondsToSay = twiml.secondsToSay;
  var number = twiml.number;
  var DEFAULT_GATHER_TIMEOUT = twiml.DEFAULT_GATHER_TIMEOUT;
  var DEFAULT_RECORD_TIMEOUT = twiml.DEFAULT_RECORD_TIMEOUT;
  var DEFAULT_RECORD_MAX_LENGTH = twiml.DEFAULT_RECORD_MAX_LENGTH;

  var root = document.getElementById("simulator");
  if (!root) return;
  var texts = JSON.parse(root.dataset.texts || "{}");
  var $ = function (id) { return document.getElementById(id); };
  var ui = {
    from: $("sim-from"), status: $("sim-call-status"), transcript: $("sim-transcript"),
    prompt: $("sim-prompt"), ticket: $("sim-ticket"), speech: $("sim-speech"),
    speechText: $("sim-speech-text"), record: $("sim-record"), dial: $("sim-dial"),
    keypad: $("sim-keypad"), call: $("sim-call"), hangup: $("sim-hangup"),
    timeout: $("sim-timeout"), autoTimeout: $("sim-auto-timeout"), tts: $("sim-tts"),
    ttsNote: $("sim-tts-note"), log: $("sim-log"), thread: $("sim-thread"),
    smsForm: $("sim-sms"), smsBody: $("sim-sms-body"), inbox: $("sim-inbox")
  };
  var state = { engine: null, sid: "", from: "", busy: false, timer: null, deadline: 0, recordStarted: 0, ticker: null };

  function t(key) {
    var args = Array.prototype.slice.call(arguments, 1);
    return (texts[key] || key).replace(/\{(\d)\}/g, function (_, i) { return args[+i]; });
  }

  function add(list, className, text) {
    var item = document.createElement("li");
    item.className = className;
    item.textContent = text;
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
    return item;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(data.error || String(response.status));
        return data;
      });
    });
  }

  function logExchange(reply, follow) {
    var item = document.createElement("li");
    item.className = "sim-log-item";
    var head = document.createElement("div");
    head.className = "sim-log-head";
    head.textContent = reply.method + " " + reply.url + " → " + reply.status + (follow ? "" : " " + t("callback"));
    item.appendChild(head);
    var details = document.createElement("details");
    var summary = document.createElement("summary");
    summary.textContent = Object.keys(reply.params).length + " params";
    details.appendChild(summary);
    var table = document.createElement("pre");
    table.textContent = Object.keys(reply.params).map(function (k) { return k + "=" + reply.params[k]; }).join("\n");
    details.appendChild(table);
    item.appendChild(details);
    if (reply.body) {
      var body = document.createElement("pre");
      body.className = "sim-log-body";
      body.textContent = reply.body;
      item.appendChild(body);
    }
    ui.log.insertBefore(item, ui.log.firstChild);
  }

  function showTicket(ticket) {
    if (!ticket) return;
    ui.ticket.textContent = t("ticket") + " ";
    var code = document.createElement(ticket.url ? "a" : "strong");
    code.className = "ticket-code";
    code.textContent = ticket.code;
    if (ticket.url) code.href = ticket.url;
    ui.ticket.appendChild(code);
    ui.ticket.classList.remove("d-none");
  }

  // Speech synthesis: only with a Vietnamese voice; otherwise the text alone is shown.
  function vietnameseVoice() {
    if (!window.speechSynthesis) return null;
    var voices = window.speechSynthesis.getVoices();
    for (var i = 0; i < voices.length; i++) {
      if ((voices[i].lang || "").toLowerCase().indexOf("vi") === 0) return voices[i];
    }
    return null;
  }

  function updateVoiceNote() {
    var voice = vietnameseVoice();
    ui.tts.disabled = !voice;
    ui.ttsNote.textContent = voice ? voice.name : t("noVoice");
  }

  function speakAll(says) {
    var voice = vietnameseVoice();
    if (!voice || !ui.tts.checked || !says.length) return null;
    return new Promise(function (resolve) {
      says.forEach(function (text, i) {
        var utterance = new SpeechSynthesisUtterance(text);
        utterance.voice = voice; utterance.lang = voice.lang;
        if (i === says.length - 1) { utterance.onend = resolve; utterance.onerror = resolve; }
        window.speechSynthesis.speak(utterance);
      });
    });
  }

  function stopSpeaking() {
    if (window.speechSynthesis) window.speechSynthesis.cancel();
  }

  // --- timers: Twilio's timeouts, shown as a countdown --------------------------------
  function clearTimer() {
    clearTimeout(state.timer); clearInterval(state.ticker);
    state.timer = null; state.ticker = null;
    ui.prompt.dataset.countdown = "";
  }

  function startTimer(seconds) {
    clearTimer();
    if (!ui.autoTimeout.checked) return;
    state.deadline = Date.now() + seconds * 1000;
    state.timer = setTimeout(function () { act(function (e) { return e.timeout(); }, t("timeout")); }, seconds * 1000);
    state.ticker = setInterval(renderPrompt, 500);
    renderPrompt();
  }

  function renderPrompt() {
    var engine = state.engine;
    var verb = engine && engine.waiting;
    var lines = [];
    if (verb && verb.name === "Gather") {
      var inputs = (verb.attrs.input || "dtmf").split(/\s+/);
      if (inputs.indexOf("dtmf") >= 0) {
        lines.push(verb.attrs.numDigits ? t("waitKeysCount", verb.attrs.numDigits) : t("waitKeys"));
        var finish = Object.prototype.hasOwnProperty.call(verb.attrs, "finishOnKey") ? verb.attrs.finishOnKey : "#";
        if (finish) lines.push(t("finishWith", finish));
      }
      if (inputs.indexOf("speech") >= 0) lines.push(t("waitSpeech"));
    } else if (verb && verb.name === "Record") {
      lines.push(t("recording", Math.round((Date.now() - state.recordStarted) / 1000)));
    }
    if (state.timer) lines.push(t("secondsLeft", Math.max(0, Math.ceil((state.deadline - Date.now()) / 1000))));
    ui.prompt.textContent = lines.join(" ");
  }

  function setControls() {
    var engine = state.engine;
    var verb = engine && !state.busy ? engine.waiting : null;
    var live = engine && !engine.ended;
    var keysOn = verb && ((verb.name === "Gather" && engine.inputs(verb).indexOf("dtmf") >= 0) || verb.name === "Record");
    Array.prototype.forEach.call(ui.keypad.querySelectorAll("button"), function (b) { b.disabled = !keysOn; });
    ui.speech.classList.toggle("d-none", !(verb && verb.name === "Gather" && engine.inputs(verb).indexOf("speech") >= 0));
    ui.record.classList.toggle("d-none", !(verb && verb.name === "Record"));
    ui.dial.classList.toggle("d-none", !(verb && verb.name === "Dial"));
    ui.call.disabled = !!live;
    ui.hangup.disabled = !live;
    ui.timeout.disabled = !verb;
    ui.from.disabled = !!live;
    ui.status.textContent = !engine ? t("ready") : engine.ended ? t("ended") : state.busy && !engine.verbs.length ? t("ringing") : t("inCall");
    renderPrompt();
  }

  // Show what the caller hears, make the step's requests, play the TwiML that comes back.
  function perform(s) {
    var says = [];
    s.events.forEach(function (event) {
      if (event.kind === "say") { add(ui.transcript, "sim-say", event.text); says.push(event.text); }
      else if (event.kind === "beep") add(ui.transcript, "sim-note", t("beep"));
      else if (event.kind === "play") add(ui.transcript, "sim-note", t("play", event.text));
      else if (event.kind === "dial") add(ui.transcript, "sim-note", t("dialing", event.text));
      else if (event.kind === "error") add(ui.transcript, "sim-error", t("appError"));
      else if (event.kind === "unsupported") add(ui.transcript, "sim-error", t("unsupported", event.text));
      else if (event.kind === "hangup") add(ui.transcript, "sim-note", t("ended"));
    });
    var speaking = speakAll(says);
    var chain = Promise.resolve(null);
    var follow = null;
    state.busy = true;
    setControls();
    s.requests.forEach(function (request) {
      chain = chain.then(function () {
        return post(root.dataset.callApi, {
          call: { sid: state.sid, from: state.from },
          request: { url: request.url, method: request.method, kind: request.kind, params: request.params }
        }).then(function (data) {
          logExchange(data.reply, request.follow);
          showTicket(data.ticket);
          if (request.follow) follow = data.reply;
        });
      });
    });
    return chain.then(function () {
      state.busy = false;
      if (follow && !state.engine.ended) {
        var twiml = follow.status === 200 && /xml/.test(follow.content_type);
        return perform(twiml ? state.engine.load(follow.url, follow.body) : state.engine.applicationError());
      }
      setControls();
      if (s.waiting) waitFor(s.waiting, says, speaking);
    }).catch(function (error) {
      state.busy = false;
      add(ui.transcript, "sim-error", t("requestFailed", error.message));
      setControls();
    });
  }

  function waitFor(verb, says, speaking) {
    if (verb.name === "Record") {
      state.recordStarted = Date.now();
      clearTimer();
      state.ticker = setInterval(renderPrompt, 500);
      var limit = number(verb, "maxLength", DEFAULT_RECORD_MAX_LENGTH) || DEFAULT_RECORD_MAX_LENGTH;
      state.deadline = Date.now() + limit * 1000; // Twilio stops at maxLength
      state.timer = setTimeout(function () { finishRecording("#"); }, limit * 1000);
      return;
    }
    var wait = verb.name === "Dial" ? number(verb, "timeout", 30) : number(verb, "timeout", verb.name === "Gather" ? DEFAULT_GATHER_TIMEOUT : DEFAULT_RECORD_TIMEOUT);
    // Twilio's timeout starts once the prompts have been said.
    if (speaking) speaking.then(function () { if (state.engine && state.engine.waiting === verb) startTimer(wait); });
    else startTimer(wait + says.reduce(function (sum, text) { return sum + secondsToSay(text); }, 0));
  }

  function act(fn, note) {
    var engine = state.engine;
    if (!engine || engine.ended || state.busy) return;
    clearTimer();
    if (note) add(ui.transcript, "sim-you", note);
    perform(fn(engine));
  }

  function finishRecording(key) {
    var seconds = Math.max(1, Math.round((Date.now() - state.recordStarted) / 1000));
    act(function (e) { return e.record(seconds, key); });
  }

  function pressKey(key) {
    var engine = state.engine;
    if (!engine || engine.ended || state.busy || !engine.waiting) return;
    stopSpeaking(); // a key stops the prompt, as on a real call
    if (engine.waiting.name === "Record") {
      if (engine.recordFinishKeys().indexOf(key) >= 0) { add(ui.transcript, "sim-you", t("pressed", key)); finishRecording(key); }
      return;
    }
    var waiting = engine.waiting;
    if (waiting.name !== "Gather" || engine.inputs(waiting).indexOf("dtmf") < 0) return; // keys go nowhere
    add(ui.transcript, "sim-you", t("pressed", key));
    var s = engine.press(key);
    if (s.requests.length) { clearTimer(); perform(s); }
    else { var verb = engine.waiting; startTimer(number(verb, "timeout", DEFAULT_GATHER_TIMEOUT)); setControls(); }
  }

  ui.call.addEventListener("click", function () {
    clearTimer(); stopSpeaking();
    ui.transcript.textContent = ""; ui.ticket.textContent = ""; ui.ticket.classList.add("d-none");
    state.from = ui.from.value.trim();
    state.sid = newSid("CA");
    state.engine = new CallEngine(root.dataset.voiceUrl, root.dataset.statusUrl, root.dataset.accountSid);
    perform(state.engine.start());
  });
  ui.hangup.addEventListener("click", function () {
    var engine = state.engine;
    if (!engine || engine.ended) return;
    stopSpeaking(); clearTimer();
    var recording = engine.waiting && engine.waiting.name === "Record" ? Math.round((Date.now() - state.recordStarted) / 1000) : 0;
    state.busy = false;
    perform(engine.hangUp(recording));
  });
  ui.keypad.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-key]");
    if (button && !button.disabled) pressKey(button.dataset.key);
  });
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (/^[0-9*#]$/.test(event.key) && state.engine && !state.engine.ended) pressKey(event.key);
  });
  ui.speechText.addEventListener("input", clearTimer); // the caller has started to speak
  ui.speech.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = ui.speechText.value.trim();
    if (!text) return;
    ui.speechText.value = "";
    stopSpeaking();
    act(function (e) { return e.speak(text); }, t("said", text));
  });
  $("sim-record-stop").addEventListener("click", function () { finishRecording("#"); });
  $("sim-record-silent").addEventListener("click", function () { act(function (e) { return e.timeout(); }, t("timeout")); });
  ui.dial.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-dial]");
    if (button) act(function (e) { return e.dialResult(button.dataset.dial, button.dataset.dial === "completed" ? 60 : 0); });
  });
  ui.timeout.addEventListener("click", function () { act(function (e) { return e.timeout(); }, t("timeout")); });
  ui.autoTimeout.addEventListener("change", function () { if (!ui.autoTimeout.checked) { clearTimer(); renderPrompt(); } });

  // --- SMS ----------------------------------------------------------------------------
  function bubble(who, text, className) {
    var item = add(ui.thread, className, text);
    item.setAttribute("data-who", who);
  }

  ui.smsForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = ui.smsBody.value.trim();
    if (!body) return;
    var from = ui.from.value.trim();
    bubble(t("you"), body, "sim-sms-out");
    ui.smsBody.value = "";
    post(root.dataset.smsApi, { from: from, body: body }).then(function (data) {
      logExchange(data.reply, true);
      data.messages.forEach(function (text) { bubble(t("hotline"), text, "sim-sms-in"); });
      refreshInbox();
    }).catch(function (error) { bubble("", t("requestFailed", error.message), "sim-error"); });
  });

  function refreshInbox() {
    var from = ui.from.value.trim();
    if (!from || document.visibilityState === "hidden") return;
    fetch(root.dataset.inboxApi + "?from=" + encodeURIComponent(from), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        ui.inbox.textContent = "";
        if (!data.messages.length) { add(ui.inbox, "sim-note", t("inboxEmpty")); return; }
        data.messages.forEach(function (message) {
          var item = add(ui.inbox, "sim-inbox-item", message.text || message.template);
          var meta = document.createElement("div");
          meta.className = "sim-inbox-meta";
          meta.textContent = message.created_at + " · " + t("status_" + message.status);
          item.setAttribute("data-status", message.status);
          item.appendChild(meta);
        });
      })
      .catch(function () { /* the next poll tries again */ });
  }

  if (window.speechSynthesis) window.speechSynthesis.addEventListener("voiceschanged", updateVoiceNote);
  updateVoiceNote();
  ui.from.addEventListener("change", refreshInbox);
  refreshInbox();
  setInterval(refreshInbox, 4000);
  setControls();
})();
