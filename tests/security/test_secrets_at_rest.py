"""API keys, passwords and rating tokens are never stored in clear: the raw rows are read back."""

from __future__ import annotations

from sqlalchemy import text

from hotline.extensions import db
from hotline.models import ApiKey, User
from hotline.notifications.links import new_rating_token
from hotline.users import create_user
from tests.web.staff_helpers import make_ticket


def every_stored_value() -> str:
    """Every value of every row of every table, as one string (what a stolen dump shows)."""
    values = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(text(f'SELECT * FROM "{table.name}"')):
            values.extend(str(v) for v in row)
    return "\n".join(values)


def test_api_keys_are_stored_as_sha256_only(runner):
    """Test that neither a generated key nor one made by the CLI is in the database: only its
    SHA-256 and a short prefix to recognise it by."""
    row, raw = ApiKey.generate("ung-dung")
    db.session.add(row)
    db.session.commit()
    result = runner.invoke(args=["hotline", "create-api-key", "ung-dung-2"])
    cli_raw = result.output.strip().splitlines()[-1]
    dump = every_stored_value()
    for key in (raw, cli_raw):
        assert len(key) >= 40
        assert key not in dump
        assert key[10:] not in dump  # beyond the prefix, nothing of the key
        assert ApiKey.hash_key(key) in dump


def test_passwords_are_stored_as_salted_slow_hashes(app):
    """Test that passwords (create_user, which the CLI and demo use) are stored only as
    salted hashes of a slow scheme (two equal passwords give two different hashes)."""
    password = "mot-mat-khau-rat-bi-mat"
    one = create_user(email="a@test.1022.vn", name="A", role="supervisor", password=password)
    two = create_user(email="b@test.1022.vn", name="B", role="supervisor", password=password)
    dump = every_stored_value()
    assert password not in dump
    hashes = [db.session.get(User, u.id).password_hash for u in (one, two)]
    assert hashes[0] != hashes[1]
    assert all(h.startswith(("scrypt:", "pbkdf2:")) for h in hashes)


def test_rating_tokens_are_stored_hashed():
    """Test that the one-time rating token sent by SMS is stored only as its hash."""
    ticket = make_ticket("closed")
    token, token_hash = new_rating_token()
    ticket.rating_token_hash = token_hash
    db.session.commit()
    dump = every_stored_value()
    assert token not in dump and token_hash in dump


def test_provider_secrets_are_not_in_the_database(app, client):
    """Test that the Twilio token, the gateway secret and the app's secret key are nowhere in
    the database after a ticket was taken through the signed channels."""
    from tests.intake.conftest import gateway_post, twilio_post

    twilio_post(
        client, "/twilio/sms", {"MessageSid": "SM1", "From": "0912345678", "Body": "Mất điện"}
    )
    gateway_post(client, {"message_id": "g1", "from": "0912345678", "text": "Mất nước"})
    dump = every_stored_value()
    for secret in ("TWILIO_AUTH_TOKEN", "SMS_GATEWAY_SECRET", "SECRET_KEY"):
        assert app.config[secret] not in dump
