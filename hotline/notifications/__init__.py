"""Outbound messages: the outbox, SMS and email senders, templates and the daily digest."""
