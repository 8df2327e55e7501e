"""Whole simulated conversations, for the CLI and the tests: a scripted call, one SMS.

The page drives calls itself (simulator.js); these run the same state machine from Python
and post every request through `client`, so both exercise the real webhooks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hotline.models import Ticket
from hotline.simulator.call_engine import CallEngine, Event, Step
from hotline.simulator.client import (
    Reply,
    SimulatorError,
    account_sid,
    caller_number,
    post_to_webhook,
    send_call_request,
    sms_params,
    ticket_of,
    webhook_urls,
)
from hotline.simulator.twiml import TwimlError, Verb, message_texts, new_sid

MAX_REQUESTS_PER_CALL = 60  # a <Redirect> loop must not spin forever


@dataclass
class CallScript:
    """What a scripted caller does at each prompt (the CLI and the tests).

    Attributes:
        keys: one entry per keypad prompt, pressed key by key ("1", "3", "2612345678#").
        speech: what to say at the first speech prompt.
        record_seconds: how long to speak at the first <Record> (0: stay silent).
        dial: what the dialled operator does: completed, busy or no-answer.
    """

    keys: list[str] = field(default_factory=list)
    speech: str | None = None
    record_seconds: int = 0
    dial: str = "no-answer"

    def answer(self, engine: CallEngine, verb: Verb, on_input: Callable[[str, str], None]) -> Step:
        """Return the engine's step after the script answers the waiting VERB."""
        if verb.name == "Gather":
            inputs = (verb.attr("input") or "dtmf").split()
            if "speech" in inputs and self.speech:
                text, self.speech = self.speech, None
                on_input("speech", text)
                return engine.speak(text)
            if "dtmf" in inputs and self.keys:
                entry = self.keys.pop(0)
                for key in entry:
                    on_input("key", key)
                    step = engine.press(key)
                    if step.requests:
                        return step
                on_input("timeout", "")
                return engine.timeout()
        elif verb.name == "Record" and self.record_seconds > 0:
            seconds, self.record_seconds = self.record_seconds, 0
            on_input("record", str(seconds))
            return engine.record(seconds, "#")
        elif verb.name == "Dial":
            on_input("dial", self.dial)
            return engine.dial_result(self.dial, talked_seconds=60)
        on_input("timeout", "")
        return engine.timeout()


@dataclass
class SimulatedCall:
    """A whole scripted call: what was heard and posted, and the ticket it made."""

    call_sid: str
    caller: str
    events: list[Event] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    ticket: Ticket | None = None

    @property
    def said(self) -> list[str]:
        """Every <Say> text the caller heard, in order."""
        return [e.text for e in self.events if e.kind == "say"]


def simulate_call(
    caller: str,
    script: CallScript,
    *,
    report: Callable[[str, Any], None] | None = None,
) -> SimulatedCall:
    """Call the hotline from CALLER and answer each prompt as SCRIPT says.

    Args:
        caller: the caller's number, in any usual Vietnamese form.
        script: keys, speech, recording and operator behaviour.
        report: called with ("event", Event), ("input", (kind, value)) and
            ("reply", Reply) as the call goes.

    Returns:
        The call: what was said, the requests and replies, the ticket it made.
    """
    report = report or (lambda kind, value: None)
    phone = caller_number(caller)
    urls = webhook_urls()
    engine = CallEngine(urls["voice"], urls["status"], account_sid=account_sid())
    call = SimulatedCall(new_sid("CA"), phone)
    step: Step = engine.start()
    for _ in range(MAX_REQUESTS_PER_CALL):
        for event in step.events:
            call.events.append(event)
            report("event", event)
        follow: Reply | None = None
        for request in step.requests:
            reply = send_call_request(request, call.call_sid, phone)
            call.replies.append(reply)
            report("reply", reply)
            if request.follow:
                follow = reply
        if follow is not None:
            loaded = engine.load(follow.url, follow.body) if follow.is_twiml else None
            step = loaded or engine.application_error()
            continue
        if step.ended or step.waiting is None:
            break
        step = script.answer(engine, step.waiting, lambda k, v: report("input", (k, v)))
    else:
        step = engine.hang_up()
        for request in step.requests:
            call.replies.append(send_call_request(request, call.call_sid, phone))
    call.ticket = ticket_of("voice", call.call_sid)
    return call


@dataclass(frozen=True)
class SimulatedSms:
    """One SMS sent to the hotline: the webhook's reply and the ticket it made."""

    reply: Reply
    texts: list[str]
    ticket: Ticket | None


def simulate_sms(caller: str, body: str) -> SimulatedSms:
    """Text BODY to the hotline from CALLER through the SMS webhook, as Twilio does."""
    phone = caller_number(caller)
    if len(body) > 1600:  # Twilio's limit for one message
        raise SimulatorError("Body")
    params = sms_params(phone, body)
    reply = post_to_webhook(webhook_urls()["sms"], "POST", params)
    try:
        texts = message_texts(reply.body) if reply.is_twiml else []
    except TwimlError:
        texts = []
    return SimulatedSms(reply, texts, ticket_of("sms", params["MessageSid"]))
