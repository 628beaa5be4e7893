"""[smtp] and [[receiver]] parsing: values, defaults and errors with their paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitord.config.reader import ConfigInvalid
from monitord.configfile import load_config
from monitord.notify.config import RECEIVER_PARSERS, EmailReceiver, WebhookReceiver
from monitord.notify.registry import SENDER_KINDS

GOOD = """
[alerting]
default_receivers = ["ops-mail"]

[smtp]
host = "127.0.0.1"
port = 2525
tls = "implicit"
username = "monitord"
password_file = "/etc/monitord/smtp.password"
from = "monitord <monitord@example.net>"
ca_file = "/etc/monitord/ca.pem"
helo = "probe.example.net"

[[receiver]]
name = "ops-mail"
type = "email"
to = ["ops@example.net"]
cc = ["lead@example.net"]
subject_prefix = "[PROD]"
send_resolved = false

[[receiver]]
name = "oncall"
type = "webhook"
url = "https://oncall.example.net/hooks/monitord"
format = "pagerduty"
routing_key_file = "/etc/monitord/pd.key"
secret_env = "HOOK_SECRET"
headers = { X-Team = "ops" }
timeout = "5s"
max_body = 4096
"""



def errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigInvalid) as info:
        load_config(path)
    return [f"{e.path}: {e.message}" for e in info.value.errors]


def test_good_config(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD))
    assert config.smtp is not None
    assert (config.smtp.host, config.smtp.port, config.smtp.tls) == ("127.0.0.1", 2525, "implicit")
    assert config.smtp.sender_address == "monitord@example.net"
    assert config.smtp.domain == "example.net"
    assert config.smtp.password is not None
    assert config.smtp.password.file == "/etc/monitord/smtp.password"
    assert config.smtp.tls_verify is True
    mail, hook = config.receivers
    assert isinstance(mail, EmailReceiver)
    assert mail.to == ("ops@example.net",)
    assert mail.cc == ("lead@example.net",)
    assert mail.send_resolved is False
    assert isinstance(hook, WebhookReceiver)
    assert hook.format == "pagerduty"
    assert hook.routing_key is not None
    assert hook.routing_key.file == "/etc/monitord/pd.key"
    assert hook.secret is not None
    assert hook.secret.env == "HOOK_SECRET"
    assert hook.timeout == 5.0
    assert hook.max_body == 4096
    assert dict(hook.headers) == {"X-Team": "ops"}


def test_defaults(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, """
[alerting]
default_receivers = ["hook"]
[smtp]
host = "smtp.example.net"
from = "m@example.net"
[[receiver]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:9/x"
"""))
    assert config.smtp is not None
    assert (config.smtp.port, config.smtp.tls, config.smtp.timeout) == (587, "starttls", 30.0)
    (hook,) = config.receivers
    assert isinstance(hook, WebhookReceiver)
    assert (hook.format, hook.timeout, hook.tls_verify, hook.max_body) == (
        "json", 10.0, True, 65536)


@pytest.mark.parametrize(("text", "expected"), [
    ('[[receiver]]\nname = "m"\ntype = "email"\nto = ["a@example.net"]\n',
     'receiver "m": type: an email receiver needs an [smtp] section'),
    ('[[receiver]]\nname = "h"\ntype = "webhook"\nurl = "http://127.0.0.1/"\n'
     '[[receiver]]\nname = "h"\ntype = "webhook"\nurl = "http://127.0.0.1/"\n',
     'receiver "h": name: duplicate receiver name (first used by receiver[1])'),
    ('[[receiver]]\nname = "h"\ntype = "webhook"\nurl = "http://127.0.0.1/"\n'
     'format = "pagerduty"\n',
     'receiver "h": routing_key_file: required (or routing_key_env)'),
    ('[[receiver]]\nname = "h"\ntype = "webhook"\nurl = "ftp://127.0.0.1/"\n',
     'receiver "h": url: expected an http:// or https:// URL, got "ftp://127.0.0.1/"'),
    ('[[receiver]]\nname = "h"\ntype = "webhook"\nurl = "http://127.0.0.1/"\nformat = "xml"\n',
     'receiver "h": format: expected one of json, alertmanager, pagerduty, got "xml"'),
    ('[[receiver]]\nname = "h"\ntype = "webhook"\nurl = "http://127.0.0.1/"\n'
     'headers = { Idempotency-Key = "x" }\n',
     'receiver "h": headers: "Idempotency-Key" is set by monitord itself'),
    ('[[receiver]]\nname = "h"\ntype = "webhook"\nurl = "http://127.0.0.1/"\n'
     'bearer_token_file = "/t"\nheaders = { Authorization = "x" }\n',
     'receiver "h": headers: "Authorization" is set by monitord itself'),
    ('[[receiver]]\nname = "h"\ntype = "webhook"\nurl = "http://127.0.0.1/"\n'
     'bearer_token_file = "/t"\nusername = "u"\npassword_file = "/p"\n',
     'receiver "h": bearer_token_file: give bearer_token_* or username/password_*, not both'),
    ('[[receiver]]\nname = "h"\ntype = "webhook"\nurl = "http://127.0.0.1/"\nusername = "u"\n',
     'receiver "h": password_file: required (or password_env)'),
    ('[[receiver]]\nname = "h"\ntype = "webhook"\nurl = "http://127.0.0.1/"\nsecret = "s"\n',
     'receiver "h": secret: secrets are never written in the config: use secret_file '
     '(a path) or secret_env (an environment variable)'),
    ('[[receiver]]\nname = "h"\ntype = "webhook"\nurl = "http://127.0.0.1/"\ntimout = "5s"\n',
     'receiver "h": timout: unknown key (did you mean "timeout"?)'),
    ('[[receiver]]\nname = "h"\ntype = "pager"\n',
     'receiver "h": type: expected one of email, webhook, got "pager"'),
    ('[[receiver]]\nname = "h"\n', 'receiver "h": type: required (email or webhook)'),
    ('[[receiver]]\nname = "Ops Mail"\ntype = "webhook"\nurl = "http://127.0.0.1/"\n',
     'receiver "Ops Mail": name: expected a name made of a-z 0-9 . _ -, got "Ops Mail"'),
    ('[smtp]\nhost = "h"\nfrom = "m@example.net"\n[[receiver]]\nname = "m"\ntype = "email"\n',
     'receiver "m": to: required'),
    ('[smtp]\nhost = "h"\nfrom = "m@example.net"\n[[receiver]]\nname = "m"\ntype = "email"\n'
     'to = ["not-an-address"]\n',
     'receiver "m": to: expected addresses like "ops@example.net", got "not-an-address"'),
    ('[smtp]\nhost = "h"\nfrom = "nobody"\n',
     'smtp: from: expected an address like "monitord <monitord@example.net>", got "nobody"'),
    ('[smtp]\nhost = "h"\nfrom = "m@example.net"\ntls = "ssl"\n',
     'smtp: tls: expected one of starttls, implicit, none, got "ssl"'),
    ('[smtp]\nhost = "h"\nfrom = "m@example.net"\ntls = "none"\nusername = "u"\n'
     'password_file = "/p"\n',
     'smtp: tls: AUTH would send the password in clear: use "starttls" or "implicit"'),
    ('[smtp]\nhost = "h"\nfrom = "m@example.net"\nusername = "u"\n',
     'smtp: password_file: required (or password_env)'),
])
def test_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in errors(tmp_path, text)


def test_every_receiver_type_has_a_sender() -> None:
    assert set(RECEIVER_PARSERS) == set(SENDER_KINDS)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path
