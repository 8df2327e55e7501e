/* The TwiML state machine of the simulator, a mirror of hotline/simulator/call_engine.py
 * (and of the document parsing in twiml.py).
 *
 * It plays a TwiML document the way Twilio does and turns the caller's input into the
 * request Twilio would make next; the page (simulator.js) makes the requests. Keep the two
 * in step: tests/browser/test_simulator.py runs both on the same documents and compares.
 */
(function () {
  "use strict";

  var API_VERSION = "2010-04-01";
  var DEFAULT_GATHER_TIMEOUT = 5;
  var DEFAULT_RECORD_TIMEOUT = 5;
  var DEFAULT_RECORD_MAX_LENGTH = 3600;
  var RECORD_FINISH_KEYS = "1234567890*#";
  var SAY_CHARS_PER_SECOND = 15;
  var SPEAK_CHARS_PER_SECOND = 12;
  var SPEECH_CONFIDENCE = "0.9";

  function toVerb(element) {
    var attrs = {};
    for (var i = 0; i < element.attributes.length; i++) {
      attrs[element.attributes[i].name] = element.attributes[i].value;
    }
    var text = "";
    var children = [];
    for (var node = element.firstChild; node; node = node.nextSibling) {
      if (node.nodeType === 1) children.push(toVerb(node));
      else if ((node.nodeType === 3 || node.nodeType === 4) && !children.length) text += node.nodeValue;
    }
    return { name: element.tagName, attrs: attrs, text: text.trim(), children: children };
  }

  function parseTwiml(document) {
    var xml = new DOMParser().parseFromString(document, "application/xml");
    var root = xml.documentElement;
    if (!root || xml.getElementsByTagName("parsererror").length || root.tagName !== "Response") {
      throw new Error("not TwiML");
    }
    var verbs = [];
    for (var el = root.firstElementChild; el; el = el.nextElementSibling) verbs.push(toVerb(el));
    return verbs;
  }

  function attr(verb, name, fallback) {
    return Object.prototype.hasOwnProperty.call(verb.attrs, name) ? verb.attrs[name] : (fallback || "");
  }

  function number(verb, name, fallback) {
    var value = parseInt(attr(verb, name, ""), 10);
    return isNaN(value) ? fallback : value;
  }

  function resolveUrl(documentUrl, reference) {
    reference = (reference || "").trim();
    return reference ? new URL(reference, documentUrl).href : documentUrl;
  }

  function methodOf(verb, attribute) {
    return attr(verb, attribute || "method").trim().toUpperCase() === "GET" ? "GET" : "POST";
  }

  function newSid(prefix) {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return prefix + Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  function recordingUrl(accountSid, sid) {
    return "https://api.twilio.com/" + API_VERSION + "/Accounts/" + accountSid + "/Recordings/" + sid;
  }

  function secondsToSay(text, perSecond) {
    return Math.max(1, Math.ceil(text.length / (perSecond || SAY_CHARS_PER_SECOND)));
  }

  function step(fields) {
    return Object.assign({ events: [], requests: [], waiting: null, ended: false }, fields || {});
  }

  function CallEngine(voiceUrl, statusUrl, accountSid) {
    this.voiceUrl = voiceUrl;
    this.statusUrl = statusUrl;
    this.accountSid = accountSid;
    this.elapsed = 0;
    this.documentUrl = "";
    this.verbs = [];
    this.position = 0;
    this.waiting = null;
    this.digits = "";
    this.background = [];
    this.ended = false;
  }

  CallEngine.prototype = {
    start: function () {
      return step({ requests: [this.request(this.voiceUrl, "POST", {}, "ringing")] });
    },
    load: function (url, document) {
      var verbs;
      try { verbs = parseTwiml(document); } catch (e) { return this.applicationError(); }
      this.documentUrl = url; this.verbs = verbs; this.position = 0;
      return this.run(step());
    },
    applicationError: function () {
      return this.end(step({ events: [{ kind: "error", text: "" }] }));
    },
    hangUp: function (recordedSeconds) {
      if (this.ended) return step({ ended: true });
      var s = step();
      var verb = this.waiting;
      if (verb && verb.name === "Record" && recordedSeconds > 0) {
        this.elapsed += recordedSeconds;
        s.requests = s.requests.concat(this.recordingRequests(verb, recordedSeconds, "hangup"));
      }
      return this.end(s);
    },
    press: function (key) {
      var verb = this.waiting;
      if (!verb || verb.name !== "Gather" || this.inputs(verb).indexOf("dtmf") < 0) return step({ waiting: verb });
      this.elapsed += 1;
      var finish = attr(verb, "finishOnKey", "#");
      if (finish && key === finish) return this.gatherDone(verb, this.digits || key, key);
      this.digits += key;
      var wanted = number(verb, "numDigits", 0);
      if (wanted > 0 && this.digits.length >= wanted) return this.gatherDone(verb, this.digits, "");
      return step({ waiting: verb });
    },
    speak: function (text) {
      var verb = this.waiting;
      if (!verb || verb.name !== "Gather" || this.inputs(verb).indexOf("speech") < 0) return step({ waiting: verb });
      text = (text || "").trim();
      if (!text) return this.timeout();
      this.elapsed += secondsToSay(text, SPEAK_CHARS_PER_SECOND);
      return this.action(verb, { SpeechResult: text, Confidence: SPEECH_CONFIDENCE });
    },
    timeout: function () {
      var verb = this.waiting;
      if (!verb) return step();
      if (verb.name === "Gather") {
        this.elapsed += number(verb, "timeout", DEFAULT_GATHER_TIMEOUT);
        if (this.digits) return this.gatherDone(verb, this.digits, "");
        if (attr(verb, "actionOnEmptyResult").toLowerCase() === "true") return this.action(verb, {});
      } else if (verb.name === "Record") {
        this.elapsed += number(verb, "timeout", DEFAULT_RECORD_TIMEOUT);
      } else if (verb.name === "Dial") {
        return this.dialResult("no-answer", 0);
      }
      this.waiting = null;
      return this.run(step());
    },
    record: function (seconds, key) {
      var verb = this.waiting;
      if (!verb || verb.name !== "Record") return step({ waiting: verb });
      if (seconds <= 0) return this.timeout();
      seconds = Math.min(seconds, number(verb, "maxLength", DEFAULT_RECORD_MAX_LENGTH) || 3600);
      this.elapsed += seconds;
      this.waiting = null;
      return step({ requests: this.recordingRequests(verb, seconds, key || "#") });
    },
    recordFinishKeys: function () {
      return this.waiting && this.waiting.name === "Record" ? attr(this.waiting, "finishOnKey", RECORD_FINISH_KEYS) : "";
    },
    dialResult: function (status, talkedSeconds) {
      var verb = this.waiting;
      if (!verb || verb.name !== "Dial") return step({ waiting: verb });
      this.waiting = null;
      var answered = status === "completed";
      this.elapsed += answered ? talkedSeconds : number(verb, "timeout", 30);
      if (!attr(verb, "action")) return this.run(step());
      var params = { DialCallStatus: status, DialCallDuration: String(talkedSeconds) };
      if (answered) params.DialCallSid = newSid("CA");
      return this.action(verb, params);
    },
    run: function (s) {
      while (this.position < this.verbs.length) {
        var verb = this.verbs[this.position];
        this.position += 1;
        var name = verb.name;
        if (name === "Say" || name === "Play" || name === "Pause") {
          this.hear(verb, s);
        } else if (name === "Gather") {
          for (var i = 0; i < verb.children.length; i++) this.hear(verb.children[i], s);
          this.waiting = verb; this.digits = ""; s.waiting = verb;
          return s;
        } else if (name === "Record") {
          if (attr(verb, "playBeep", "true").toLowerCase() !== "false") s.events.push({ kind: "beep", text: "" });
          this.waiting = verb; s.waiting = verb;
          return s;
        } else if (name === "Dial") {
          var dialled = verb.text || verb.children.map(function (c) { return c.text; }).join(" ");
          s.events.push({ kind: "dial", text: dialled });
          this.waiting = verb; s.waiting = verb;
          return s;
        } else if (name === "Redirect") {
          s.requests.push(this.request(resolveUrl(this.documentUrl, verb.text), methodOf(verb), {}));
          return s;
        } else if (name === "Start") {
          for (var j = 0; j < verb.children.length; j++) {
            if (verb.children[j].name === "Recording") this.background.push([verb.children[j], this.elapsed]);
          }
        } else if (name === "Hangup") {
          return this.end(s, "completed");
        } else if (name === "Reject") {
          return this.end(s, "busy");
        } else {
          s.events.push({ kind: "unsupported", text: name });
        }
      }
      return this.end(s, "completed");
    },
    hear: function (verb, s) {
      if (verb.name === "Say") {
        var times = Math.max(1, number(verb, "loop", 1));
        for (var i = 0; i < times; i++) {
          s.events.push({ kind: "say", text: verb.text, language: attr(verb, "language") });
          this.elapsed += secondsToSay(verb.text);
        }
      } else if (verb.name === "Play") {
        s.events.push({ kind: "play", text: verb.text });
        this.elapsed += 1;
      } else if (verb.name === "Pause") {
        this.elapsed += number(verb, "length", 1);
      }
    },
    end: function (s, status) {
      this.ended = true; this.waiting = null;
      s.events.push({ kind: "hangup", text: "" });
      for (var i = 0; i < this.background.length; i++) {
        var verb = this.background[i][0];
        var events = attr(verb, "recordingStatusCallbackEvent", "completed").split(/\s+/);
        var url = attr(verb, "recordingStatusCallback");
        if (url && events.indexOf("completed") >= 0) {
          var params = this.recordingParams(newSid("RE"), Math.max(0, this.elapsed - this.background[i][1]));
          params.RecordingSource = "StartCallRecordingTwiML";
          s.requests.push({ url: resolveUrl(this.documentUrl, url), method: methodOf(verb, "recordingStatusCallbackMethod"), kind: "recording", params: params, follow: false });
        }
      }
      this.background = [];
      if (this.statusUrl) {
        s.requests.push({ url: this.statusUrl, method: "POST", kind: "status", params: { CallStatus: status || "completed", CallDuration: String(this.elapsed) }, follow: false });
      }
      s.ended = true;
      return s;
    },
    inputs: function (verb) {
      return (attr(verb, "input") || "dtmf").split(/\s+/);
    },
    gatherDone: function (verb, digits, finishedOn) {
      return this.action(verb, { Digits: digits, FinishedOnKey: finishedOn });
    },
    action: function (verb, params) {
      this.waiting = null; this.digits = "";
      return step({ requests: [this.request(resolveUrl(this.documentUrl, attr(verb, "action")), methodOf(verb), params)] });
    },
    request: function (url, method, params, status) {
      var all = Object.assign({}, params, { CallStatus: status || "in-progress" });
      return { url: url, method: method, kind: "call", params: all, follow: true };
    },
    recordingParams: function (sid, seconds) {
      return {
        RecordingSid: sid,
        RecordingUrl: recordingUrl(this.accountSid, sid),
        RecordingStatus: "completed",
        RecordingDuration: String(seconds),
        RecordingChannels: "1"
      };
    },
    recordingRequests: function (verb, seconds, key) {
      var sid = newSid("RE");
      var recording = this.recordingParams(sid, seconds);
      var actionParams = { RecordingUrl: recording.RecordingUrl, RecordingSid: sid, RecordingDuration: String(seconds), Digits: key };
      var url = resolveUrl(this.documentUrl, attr(verb, "action"));
      var requests;
      if (key === "hangup") {
        actionParams.CallStatus = "completed";
        requests = [{ url: url, method: methodOf(verb), kind: "call", params: actionParams, follow: false }];
      } else {
        requests = [this.request(url, methodOf(verb), actionParams)];
      }
      var callback = attr(verb, "recordingStatusCallback");
      if (callback && attr(verb, "recordingStatusCallbackEvent", "completed").split(/\s+/).indexOf("completed") >= 0) {
        recording.RecordingSource = "RecordVerb";
        requests.push({ url: resolveUrl(this.documentUrl, callback), method: methodOf(verb, "recordingStatusCallbackMethod"), kind: "recording", params: recording, follow: false });
      }
      return requests;
    }
  };

  window.HotlineTwiml = {
    CallEngine: CallEngine,
    parseTwiml: parseTwiml,
    resolveUrl: resolveUrl,
    newSid: newSid,
    secondsToSay: secondsToSay,
    number: number,
    DEFAULT_GATHER_TIMEOUT: DEFAULT_GATHER_TIMEOUT,
    DEFAULT_RECORD_TIMEOUT: DEFAULT_RECORD_TIMEOUT,
    DEFAULT_RECORD_MAX_LENGTH: DEFAULT_RECORD_MAX_LENGTH
  };
})();
