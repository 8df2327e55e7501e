"""Tests of the intake metrics: the Prometheus counter of tickets created per channel."""

from __future__ import annotations

from prometheus_client import REGISTRY

from hotline.tickets.services import InboundRecord, Report, create_ticket
from tests.intake.conftest import twilio_post


def _created(channel: str) -> float:
    return REGISTRY.get_sample_value("hotline_intake_total", {"channel": channel}) or 0.0


def test_intake_counter_counts_created_tickets_not_replays(client):
    """Test that hotline_intake_total grows by one per new ticket, per channel, not per replay."""
    sms, web = _created("sms"), _created("web")
    params = {"MessageSid": "SM" + "9" * 32, "From": "+84912345678", "Body": "Cống tắc, nước tràn"}
    for _ in range(2):
        assert twilio_post(client, "/twilio/sms", params).status_code == 200
    assert _created("sms") == sms + 1
    create_ticket(Report("web", "Ổ gà lớn giữa đường"), inbound=InboundRecord("web", "f1"))
    create_ticket(Report("web", "Ổ gà lớn giữa đường"), inbound=InboundRecord("web", "f1"))
    assert _created("web") == web + 1


def test_intake_counter_is_exposed_on_metrics(client):
    """Test that /metrics shows the per-channel intake counter after a ticket is created."""
    create_ticket(Report("api", "Đèn tín hiệu giao thông không hoạt động"))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'hotline_intake_total{channel="api"}' in text
