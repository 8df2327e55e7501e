"""`flask --app wsgi hotline simulate sms|call`: the simulator for scripts and demos."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import with_appcontext

from hotline.simulator.call_engine import Event
from hotline.simulator.calls import CallScript, simulate_call, simulate_sms
from hotline.simulator.client import Reply, SimulatorError

# The parameters every request of a call carries; the others are what this step adds.
_CALL_BASE = frozenset(
    {
        "AccountSid",
        "ApiVersion",
        "CallSid",
        "Called",
        "Caller",
        "Direction",
        "From",
        "FromCountry",
        "To",
        "ToCountry",
        "CallbackSource",
        "Timestamp",
        "SmsMessageSid",
        "SmsSid",
        "SmsStatus",
        "NumSegments",
        "MessageSid",
    }
)


def _fail(error: SimulatorError) -> click.ClickException:
    if str(error) == "From":
        return click.ClickException("--from is not a phone number")
    if str(error) == "TWILIO_AUTH_TOKEN":
        return click.ClickException("TWILIO_AUTH_TOKEN is not set: cannot sign requests")
    return click.ClickException(f"the simulator refused the request ({error})")


def _echo_reply(reply: Reply, verbose: bool, show_twiml: bool) -> None:
    shown = {k: v for k, v in reply.params.items() if verbose or k not in _CALL_BASE}
    args = " ".join(f"{k}={v!r}" if " " in v else f"{k}={v}" for k, v in shown.items())
    click.echo(f"-> {reply.method} {reply.url}" + (f"  {args}" if args else ""))
    click.echo(f"<- {reply.status} {reply.content_type if reply.body else ''}".rstrip())
    if show_twiml and reply.body:
        click.echo(reply.body)


def _report(verbose: bool, show_twiml: bool):
    def report(kind: str, value: Any) -> None:
        if kind == "reply":
            _echo_reply(value, verbose, show_twiml)
        elif kind == "event":
            event: Event = value
            if event.kind == "say":
                click.echo(f"   Say: {event.text}")
            elif event.kind == "hangup":
                click.echo("   (the call ends)")
            elif event.kind == "error":
                click.echo("   (application error: the webhook did not answer TwiML)")
            else:
                click.echo(f"   {event.kind.title()}: {event.text}".rstrip(": "))
        elif kind == "input":
            what, text = value
            labels = {
                "key": f"   caller presses {text}",
                "speech": f"   caller says: {text}",
                "record": f"   caller leaves a {text}-second message, then presses #",
                "dial": f"   operator line: {text}",
                "timeout": "   caller waits (timeout)",
            }
            click.echo(labels.get(what, f"   {what}: {text}"))

    return report


@click.group("simulate")
def simulate_cli() -> None:
    """Call or text the hotline through the real Twilio webhooks, without a carrier."""


@simulate_cli.command("sms")
@click.option("--from", "caller", required=True, help="The sender, e.g. 0912345678.")
@click.option("--verbose", is_flag=True, help="Print every parameter posted.")
@click.argument("body")
@with_appcontext
def sms_command(caller: str, verbose: bool, body: str) -> None:
    """Send BODY by SMS to the hotline, as Twilio posts it, and print the reply."""
    try:
        result = simulate_sms(caller, body)
    except SimulatorError as error:
        raise _fail(error) from None
    _echo_reply(result.reply, verbose, show_twiml=False)
    for text in result.texts:
        click.echo(f"   Message: {text}")
    click.echo(f"ticket: {result.ticket.code}" if result.ticket else "no ticket created")


@simulate_cli.command("call")
@click.option("--from", "caller", required=True, help="The caller, e.g. 0912345678.")
@click.option(
    "--keys",
    default="",
    help="Keys for each keypad prompt, comma-separated: 1,3 (report, field 3).",
)
@click.option("--speech", default=None, help="What the caller says at the speech prompt.")
@click.option(
    "--record-seconds",
    default=0,
    show_default=True,
    help="Length of the message left at a recording prompt (0: silence).",
)
@click.option(
    "--dial",
    type=click.Choice(["completed", "busy", "no-answer"]),
    default="no-answer",
    show_default=True,
    help="What the operator's line does when the IVR dials it.",
)
@click.option("--verbose", is_flag=True, help="Print every parameter posted.")
@click.option("--twiml", "show_twiml", is_flag=True, help="Print each TwiML document.")
@with_appcontext
def call_command(
    caller: str,
    keys: str,
    speech: str | None,
    record_seconds: int,
    dial: str,
    verbose: bool,
    show_twiml: bool,
) -> None:
    """Call the hotline and answer its prompts from the options; print each step."""
    script = CallScript(
        keys=[k.strip() for k in keys.split(",") if k.strip()],
        speech=speech,
        record_seconds=record_seconds,
        dial=dial,
    )
    try:
        call = simulate_call(caller, script, report=_report(verbose, show_twiml))
    except SimulatorError as error:
        raise _fail(error) from None
    if call.ticket is None:
        click.echo("no ticket created")
        return
    category = call.ticket.category.code if call.ticket.category else "-"
    click.echo(f"ticket: {call.ticket.code} (channel {call.ticket.channel}, field {category})")
