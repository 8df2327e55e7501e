"""A call played the way Twilio plays TwiML: the verbs of a document, and the next request.

Pure (no Flask): the CLI, the tests and the JSON API use it, and `static/js/simulator-twiml.js`
mirrors it line for line, so the page and the scripts behave alike. The documents and the
requests themselves are `hotline.simulator.twiml`. The behaviours follow Twilio's TwiML
reference:

- `<Gather>`: nested `<Say>`/`<Play>`/`<Pause>` are heard first (keys may be pressed during
  them). Keys end when `numDigits` are in, or on `finishOnKey` (default `#`, not sent, and
  sent alone when pressed first); after `timeout` seconds without a key, the digits so far
  go to `action`, and with none the call falls through to the next verb (unless
  `actionOnEmptyResult="true"`). Speech posts `SpeechResult` and `Confidence`.
- `action` and `<Redirect>` URLs are resolved against the current document's URL (the
  default `action`); the method defaults to POST. Verbs after `<Redirect>` never run.
- `<Record>`: posts `RecordingUrl`/`RecordingSid`/`RecordingDuration`/`Digits` (the key
  that ended it, or `hangup`) to `action`, and the `recordingStatusCallback`; an empty
  recording calls neither and the call goes on with the next verb.
- `<Start><Recording>`: records the whole call; its status callback comes when it ends.
- `<Hangup>` or the end of the document ends the call; then the call status callback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hotline.simulator.twiml import (
    CALL,
    RECORDING,
    STATUS,
    TwilioRequest,
    TwimlError,
    Verb,
    method_of,
    new_sid,
    parse,
    recording_url,
    resolve_url,
)

DEFAULT_GATHER_TIMEOUT = 5
DEFAULT_RECORD_TIMEOUT = 5
DEFAULT_DIAL_TIMEOUT = 30
DEFAULT_RECORD_MAX_LENGTH = 3600
RECORD_FINISH_KEYS = "1234567890*#"
# A simulated clock: how long a text takes to say (text-to-speech), a key press, speech.
SAY_CHARS_PER_SECOND = 15
SPEAK_CHARS_PER_SECOND = 12
SPEECH_CONFIDENCE = "0.9"


@dataclass(frozen=True)
class Event:
    """Something the caller hears or sees: a <Say> text, a beep, the dialling, the end."""

    kind: str  # say | play | beep | dial | hangup | error | unsupported
    text: str = ""
    language: str = ""


@dataclass
class Step:
    """What running the document did: what was heard, what to request, what it waits for."""

    events: list[Event] = field(default_factory=list)
    requests: list[TwilioRequest] = field(default_factory=list)
    waiting: Verb | None = None
    ended: bool = False


def seconds_to_say(text: str, per_second: int = SAY_CHARS_PER_SECOND) -> int:
    """Return how long saying TEXT takes on the simulated clock."""
    return max(1, math.ceil(len(text) / per_second))


class CallEngine:
    """One inbound call: runs TwiML documents and turns the caller's input into requests.

    Every method returns a `Step`; the caller makes its requests in order and, for the one
    marked `follow`, hands the reply to `load`.
    """

    def __init__(self, voice_url: str, status_url: str = "", *, account_sid: str) -> None:
        self.voice_url = voice_url
        self.status_url = status_url
        self.account_sid = account_sid
        self.elapsed = 0  # seconds on the simulated clock
        self.document_url = ""
        self.verbs: list[Verb] = []
        self.position = 0
        self.waiting: Verb | None = None
        self.digits = ""
        self.background: list[tuple[Verb, int]] = []  # <Start><Recording> and its start
        self.ended = False

    # --- the call's life ----------------------------------------------------------------

    def start(self) -> Step:
        """The phone rings: Twilio asks the voice URL for its first document."""
        return Step(requests=[self._request(self.voice_url, "POST", {}, status="ringing")])

    def load(self, url: str, document: str | bytes) -> Step:
        """Play the document that URL answered, up to the first verb that needs the caller."""
        try:
            verbs = parse(document)
        except TwimlError:
            return self.application_error()
        self.document_url, self.verbs, self.position = url, verbs, 0
        return self._run(Step())

    def application_error(self) -> Step:
        """The webhook failed or answered something else than TwiML: Twilio gives up."""
        step = Step(events=[Event("error")])
        return self._end(step)

    def hang_up(self, recorded_seconds: int = 0) -> Step:
        """The caller hangs up (during a <Record>: after RECORDED_SECONDS of speech)."""
        if self.ended:
            return Step(ended=True)
        step = Step()
        verb = self.waiting
        if verb is not None and verb.name == "Record" and recorded_seconds > 0:
            # Twilio still posts the recording to `action`, but nobody hears the reply.
            self.elapsed += recorded_seconds
            step.requests += self._recording_requests(verb, recorded_seconds, "hangup")
        return self._end(step)

    # --- the caller's input -------------------------------------------------------------

    def press(self, key: str) -> Step:
        """The caller presses KEY (0-9, * or #)."""
        verb = self.waiting
        if verb is None or verb.name != "Gather" or "dtmf" not in self._inputs(verb):
            return Step(waiting=verb)  # keys outside a <Gather> go nowhere
        self.elapsed += 1
        finish = verb.attr("finishOnKey", "#")
        if finish and key == finish:
            return self._gather_done(verb, self.digits or key, finished_on=key)
        self.digits += key
        if len(self.digits) >= verb.number("numDigits", 0) > 0:
            return self._gather_done(verb, self.digits)
        return Step(waiting=verb)

    def speak(self, text: str) -> Step:
        """The caller says TEXT (the transcript speech recognition would give)."""
        verb = self.waiting
        if verb is None or verb.name != "Gather" or "speech" not in self._inputs(verb):
            return Step(waiting=verb)
        text = text.strip()
        if not text:
            return self.timeout()
        self.elapsed += seconds_to_say(text, SPEAK_CHARS_PER_SECOND)
        params = {"SpeechResult": text, "Confidence": SPEECH_CONFIDENCE}
        return self._action(verb, params)

    def timeout(self) -> Step:
        """Nothing more comes from the caller before the waiting verb's timeout."""
        verb = self.waiting
        if verb is None:
            return Step()
        if verb.name == "Gather":
            self.elapsed += verb.number("timeout", DEFAULT_GATHER_TIMEOUT)
            if self.digits:
                return self._gather_done(verb, self.digits)
            if verb.attr("actionOnEmptyResult").lower() == "true":
                return self._action(verb, {})
        elif verb.name == "Record":
            # Silence: an empty recording calls no action; the document goes on.
            self.elapsed += verb.number("timeout", DEFAULT_RECORD_TIMEOUT)
        elif verb.name == "Dial":
            return self.dial_result("no-answer")
        self.waiting = None
        return self._run(Step())

    def record(self, seconds: int, key: str = "#") -> Step:
        """The caller speaks for SECONDS, then ends the <Record> with KEY."""
        verb = self.waiting
        if verb is None or verb.name != "Record":
            return Step(waiting=verb)
        if seconds <= 0:
            return self.timeout()
        seconds = min(seconds, verb.number("maxLength", DEFAULT_RECORD_MAX_LENGTH) or 3600)
        self.elapsed += seconds
        self.waiting = None
        return Step(requests=self._recording_requests(verb, seconds, key))

    def dial_result(self, status: str, talked_seconds: int = 0) -> Step:
        """The dialled number answered (completed), or was busy, or did not answer."""
        verb = self.waiting
        if verb is None or verb.name != "Dial":
            return Step(waiting=verb)
        self.waiting = None
        answered = status == "completed"
        self.elapsed += talked_seconds if answered else verb.number("timeout", DEFAULT_DIAL_TIMEOUT)
        if not verb.attr("action"):
            return self._run(Step())  # no action: the document goes on after <Dial>
        params = {"DialCallStatus": status, "DialCallDuration": str(talked_seconds)}
        if answered:
            params["DialCallSid"] = new_sid("CA")
        return self._action(verb, params)

    # --- running verbs ------------------------------------------------------------------

    def _run(self, step: Step) -> Step:
        while self.position < len(self.verbs):
            verb = self.verbs[self.position]
            self.position += 1
            name = verb.name
            if name in ("Say", "Play", "Pause"):
                self._hear(verb, step)
            elif name == "Gather":
                for child in verb.children:
                    self._hear(child, step)
                self.waiting, self.digits = verb, ""
                step.waiting = verb
                return step
            elif name == "Record":
                if verb.attr("playBeep", "true").lower() != "false":
                    step.events.append(Event("beep"))
                self.waiting = step.waiting = verb
                return step
            elif name == "Dial":
                number = verb.text or " ".join(c.text for c in verb.children)
                step.events.append(Event("dial", number))
                self.waiting = step.waiting = verb
                return step
            elif name == "Redirect":
                url = resolve_url(self.document_url, verb.text)
                step.requests.append(self._request(url, method_of(verb), {}))
                return step
            elif name == "Start":
                for child in verb.children:
                    if child.name == "Recording":
                        self.background.append((child, self.elapsed))
            elif name == "Hangup":
                return self._end(step)
            elif name == "Reject":
                return self._end(step, status="busy")
            else:
                step.events.append(Event("unsupported", name))
        return self._end(step)  # nothing left to do: Twilio hangs up

    def _hear(self, verb: Verb, step: Step) -> None:
        if verb.name == "Say":
            times = max(1, verb.number("loop", 1))
            for _ in range(times):
                step.events.append(Event("say", verb.text, verb.attr("language")))
                self.elapsed += seconds_to_say(verb.text)
        elif verb.name == "Play":
            step.events.append(Event("play", verb.text))
            self.elapsed += 1
        elif verb.name == "Pause":
            self.elapsed += verb.number("length", 1)

    def _end(self, step: Step, status: str = "completed") -> Step:
        self.ended, self.waiting = True, None
        step.events.append(Event("hangup"))
        for verb, started in self.background:
            if "completed" in verb.attr("recordingStatusCallbackEvent", "completed").split():
                url = verb.attr("recordingStatusCallback")
                if url:
                    seconds = max(0, self.elapsed - started)
                    params = self._recording_params(new_sid("RE"), seconds)
                    params["RecordingSource"] = "StartCallRecordingTwiML"
                    method = method_of(verb, "recordingStatusCallbackMethod")
                    step.requests.append(
                        TwilioRequest(
                            resolve_url(self.document_url, url), method, RECORDING, params
                        )
                    )
        self.background = []
        if self.status_url:
            params = {"CallStatus": status, "CallDuration": str(self.elapsed)}
            step.requests.append(TwilioRequest(self.status_url, "POST", STATUS, params))
        step.ended = True
        return step

    # --- requests -----------------------------------------------------------------------

    @staticmethod
    def _inputs(verb: Verb) -> list[str]:
        return (verb.attr("input") or "dtmf").split()

    def _gather_done(self, verb: Verb, digits: str, finished_on: str = "") -> Step:
        return self._action(verb, {"Digits": digits, "FinishedOnKey": finished_on})

    def _action(self, verb: Verb, params: dict[str, str]) -> Step:
        """Post PARAMS to VERB's action (default: this document) and follow the reply."""
        self.waiting, self.digits = None, ""
        url = resolve_url(self.document_url, verb.attr("action"))
        return Step(requests=[self._request(url, method_of(verb), params)])

    @staticmethod
    def _request(
        url: str, method: str, params: dict[str, str], status: str = "in-progress"
    ) -> TwilioRequest:
        """A webhook whose TwiML reply is played next."""
        return TwilioRequest(url, method, CALL, {**params, "CallStatus": status}, follow=True)

    def _recording_params(self, sid: str, seconds: int) -> dict[str, str]:
        return {
            "RecordingSid": sid,
            "RecordingUrl": recording_url(self.account_sid, sid),
            "RecordingStatus": "completed",
            "RecordingDuration": str(seconds),
            "RecordingChannels": "1",
        }

    def _recording_requests(self, verb: Verb, seconds: int, key: str) -> list[TwilioRequest]:
        sid = new_sid("RE")
        recording = self._recording_params(sid, seconds)
        action_params = {
            "RecordingUrl": recording["RecordingUrl"],
            "RecordingSid": sid,
            "RecordingDuration": str(seconds),
            "Digits": key,
        }
        url = resolve_url(self.document_url, verb.attr("action"))
        if key == "hangup":
            action_params["CallStatus"] = "completed"
            requests = [TwilioRequest(url, method_of(verb), CALL, action_params)]
        else:
            requests = [self._request(url, method_of(verb), action_params)]
        callback = verb.attr("recordingStatusCallback")
        events = verb.attr("recordingStatusCallbackEvent", "completed").split()
        if callback and "completed" in events:
            recording["RecordingSource"] = "RecordVerb"
            method = method_of(verb, "recordingStatusCallbackMethod")
            url = resolve_url(self.document_url, callback)
            requests.append(TwilioRequest(url, method, RECORDING, recording))
        return requests
