"""The agent's own file (``monitord agent -c agent.toml``): ``[monitord]`` and ``[central]``.

``[monitord]`` is the daemon's section (``location``, ``state_dir``, ``resolvers``,
``log_format``, ``log_level``…); ``[central]`` says where results go. An agent has no
``[[check]]`` of its own: its checks are the central daemon's assignment for its location.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from monitord.config.durations import format_duration
from monitord.config.reader import ConfigInvalid, Problems, SecretRef, Table
from monitord.config.schema import MonitordSection, parse_monitord

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


@dataclass(frozen=True, slots=True)
class CentralSection:
    url: str
    token: SecretRef
    ca_file: str | None = None  # a private CA that signed the central daemon's certificate
    tls_verify: bool = True
    buffer_max: int = 100_000  # results kept while the central daemon is unreachable
    poll: float = 30.0  # how often the assignment is revalidated (ETag)
    timeout: float = 30.0  # per request


@dataclass(frozen=True, slots=True)
class AgentFileConfig:
    file: Path
    monitord: MonitordSection
    central: CentralSection


def load_agent_config(path: str | Path) -> AgentFileConfig:
    """Read and validate ``path``; raises ConfigInvalid listing every problem."""
    path = Path(path)
    problems = Problems(str(path))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.add("", f"cannot read the file: {exc.strerror or exc}")
        raise ConfigInvalid(problems.errors) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.add("", f"invalid TOML: {exc}")
        raise ConfigInvalid(problems.errors) from None
    root = Table(problems, "", raw)
    monitord = parse_monitord(root.table("monitord"), path.parent.resolve())
    if "location" not in raw.get("monitord", {}):
        problems.add("monitord", "location: required (the agent's vantage point)")
    central = _central(root.table("central"), problems)
    if "check" in raw or "domain" in raw:
        problems.add("check" if "check" in raw else "domain",
                     "an agent has no checks of its own: they come from the central daemon")
    root.finish(extra_known=["check", "domain"])
    if problems or central is None:
        raise ConfigInvalid(problems.errors)
    return AgentFileConfig(path, monitord, central)


def _central(table: Table | None, problems: Problems) -> CentralSection | None:
    if table is None:
        problems.add("central", "required: url and token_file (or token_env)")
        return None
    url = table.str("url")
    parts = urlsplit(url)
    if url and (parts.scheme not in ("http", "https") or not parts.hostname):
        table.error("url", f'expected an http:// or https:// URL, got "{url}"')
    token = table.secret("token")
    section = CentralSection(
        url=url.rstrip("/"), token=token or SecretRef(),
        ca_file=table.file_path("ca_file"),  # relative: from the agent file's directory
        tls_verify=table.bool("tls_verify", True),
        buffer_max=table.int("buffer_max", 100_000, minimum=100),
        poll=table.duration("poll", 30.0), timeout=table.duration("timeout", 30.0),
    )
    table.finish()
    return section if token is not None else None


def unreadable_files(config: AgentFileConfig) -> list[str]:
    """What the agent cannot start without, one message each (never a secret's value): its
    token and its private CA, read once at start so a typo is exit 2, not a silent agent."""
    from monitord.config.secrets import unreadable_secrets

    problems = [f"{config.file}: {problem}" for problem in unreadable_secrets(config)]
    ca_file = config.central.ca_file
    if ca_file is not None:
        import ssl

        try:
            ssl.create_default_context(cafile=ca_file)
        except ssl.SSLError as exc:
            problems.append(f"{config.file}: central.ca_file: {ca_file} holds no usable "
                            f"certificate: {exc.reason or exc}")
        except OSError as exc:
            problems.append(f"{config.file}: central.ca_file: cannot read {ca_file}: "
                            f"{exc.strerror or exc}")
    return problems


def summary_lines(config: AgentFileConfig) -> list[str]:
    """One line per section, for ``check-config`` on an agent file."""
    m, c = config.monitord, config.central
    tls = ("" if not c.url.startswith("https:") else
           f", CA {c.ca_file}" if c.ca_file else ", system CAs" if c.tls_verify else
           ", certificate NOT verified")
    return [
        f"agent: location {m.location}, state in {m.state_dir}",
        f"central: {c.url} (token from {c.token.describe()}{tls}), poll every "
        f"{format_duration(c.poll)}, buffer up to {c.buffer_max} results",
    ]
