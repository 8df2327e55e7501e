"""TwiML documents and the requests Twilio makes around them, for the simulator.

Pure (no Flask): `parse` reads a document into `Verb`s, and `TwilioRequest` is a webhook or
callback Twilio would send. How a call plays the verbs is `hotline.simulator.call_engine`;
the simulator's HTTP client and views need only this module to send the requests.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import urljoin
from xml.etree import ElementTree as ET

API_VERSION = "2010-04-01"
# Kinds of request: "call" (a TwiML webhook), "recording" and "status" (callbacks whose
# reply Twilio ignores).
CALL, RECORDING, STATUS = "call", "recording", "status"


class TwimlError(ValueError):
    """The document is not TwiML (not XML, or not a <Response>)."""


@dataclass(frozen=True)
class Verb:
    """One TwiML element: its name, attributes, text and nested elements."""

    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: tuple[Verb, ...] = ()

    def attr(self, name: str, default: str = "") -> str:
        """Return attribute NAME, or DEFAULT when absent."""
        return self.attrs.get(name, default)

    def number(self, name: str, default: int) -> int:
        """Return attribute NAME as a whole number (DEFAULT when absent or malformed)."""
        try:
            return int(float(self.attrs[name]))
        except (KeyError, ValueError):
            return default


@dataclass(frozen=True)
class TwilioRequest:
    """A request Twilio would make, before the call's own parameters are added.

    Attributes:
        url: the absolute URL.
        method: POST or GET.
        kind: "call", "recording" or "status" (which parameters Twilio sends with it).
        params: the parameters of this step (Digits, SpeechResult, RecordingUrl...).
        follow: whether the TwiML of the reply is played next.
    """

    url: str
    method: str
    kind: str
    params: dict[str, str]
    follow: bool = False


def parse(document: str | bytes) -> list[Verb]:
    """Return the verbs of a TwiML document, in order.

    Raises:
        TwimlError: the document is not XML or its root is not <Response>.
    """
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise TwimlError(f"not XML: {exc}") from None
    if root.tag != "Response":
        raise TwimlError(f"the root element is <{root.tag}>, not <Response>")
    return [_verb(element) for element in root]


def _verb(element: ET.Element) -> Verb:
    return Verb(
        name=element.tag,
        attrs=dict(element.attrib),
        text=(element.text or "").strip(),
        children=tuple(_verb(child) for child in element),
    )


def message_texts(document: str | bytes) -> list[str]:
    """Return the text of each <Message> of a messaging TwiML document."""
    texts = []
    for verb in parse(document):
        if verb.name == "Message":
            body = next((c.text for c in verb.children if c.name == "Body"), None)
            texts.append(body if body is not None else verb.text)
    return texts


def resolve_url(document_url: str, reference: str) -> str:
    """Resolve an `action` or `<Redirect>` URL as Twilio does: against the document's URL."""
    return urljoin(document_url, reference.strip()) if reference.strip() else document_url


def method_of(verb: Verb, attribute: str = "method") -> str:
    """Return the HTTP method named by VERB's ATTRIBUTE: GET or POST (the default)."""
    return "GET" if verb.attr(attribute).strip().upper() == "GET" else "POST"


def new_sid(prefix: str) -> str:
    """Return a random Twilio-style SID ("CA" + 32 hex digits for a call)."""
    return prefix + secrets.token_hex(16)


def recording_url(account_sid: str, recording_sid: str) -> str:
    """Return the URL Twilio gives for a recording."""
    return f"https://api.twilio.com/{API_VERSION}/Accounts/{account_sid}/Recordings/{recording_sid}"
