"""What changed: a compact fingerprint of a result, and the differences in plain words.

A fingerprint keeps what a person compares between "yesterday it worked" and "now it does
not": the address, the certificate (fingerprint and issuer), the HTTP status code and redirect
target, the body size and the duration in coarse bands (so noise is not a change), the NS set
and the serial, the DNS answer. Checks report the raw facts on their result
(``Outcome.facts``); sizes and durations come from the metrics. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from monitord.model import Result

Fingerprint = dict[str, str]

# (upper bound, label), the last band open-ended
_SIZE_BANDS = ((0, "empty"), (1024, "under 1 KiB"), (16 * 1024, "1–16 KiB"),
               (256 * 1024, "16–256 KiB"), (4 * 1024 * 1024, "256 KiB–4 MiB"))
_TIME_BANDS = ((0.1, "under 100 ms"), (0.5, "100–500 ms"), (2.0, "0.5–2 s"), (10.0, "2–10 s"))
_KEPT = ("address", "cert_sha256", "cert_issuer", "redirect", "answer", "ns", "serial")


def size_band(size: float) -> str:
    for bound, label in _SIZE_BANDS:
        if size <= bound:
            return label
    return "over 4 MiB"


def duration_band(seconds: float) -> str:
    for bound, label in _TIME_BANDS:
        if seconds < bound:
            return label
    return "over 10 s"


def fingerprint(result: Result) -> Fingerprint:
    """The comparable facts of one result (empty values left out)."""
    facts = {k: result.facts[k] for k in _KEPT if result.facts.get(k)}
    metrics = result.metrics
    if "status_code" in metrics:
        facts["status_code"] = str(int(metrics["status_code"]))
    if "body_bytes" in metrics:
        facts["body_size"] = size_band(metrics["body_bytes"])
    total = metrics.get("time_total_ms")
    facts["duration"] = duration_band(total / 1000 if total is not None else result.duration)
    return facts


def changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """The differences, one plain sentence each, in a fixed order.

    Only facts known on both sides are compared: a failing run that never connected says
    nothing about the certificate (evidence fills such gaps, see :func:`merge`).
    """
    out: list[str] = []

    def known(key: str) -> bool:
        return bool(before.get(key)) and bool(after.get(key))

    if known("address"):
        old, new = _set(before["address"]), _set(after["address"])
        if not old & new:
            out.append(f"address: {', '.join(sorted(old))} → {', '.join(sorted(new))}")
    if known("cert_issuer") and before["cert_issuer"] != after["cert_issuer"]:
        out.append(f"certificate: issuer changed ({_cn(before['cert_issuer'])} → "
                   f"{_cn(after['cert_issuer'])})")
    elif known("cert_sha256") and before["cert_sha256"] != after["cert_sha256"]:
        out.append(f"certificate: replaced (fingerprint {before['cert_sha256'][:12]}… → "
                   f"{after['cert_sha256'][:12]}…, same issuer)")
    if known("status_code") and before["status_code"] != after["status_code"]:
        out.append(f"status: {before['status_code']} → {after['status_code']}")
    old_redirect, new_redirect = before.get("redirect", ""), after.get("redirect", "")
    answered = "status_code" in before and "status_code" in after  # both saw HTTP answers
    if old_redirect != new_redirect and answered:
        if new_redirect:
            was = f" (was {old_redirect})" if old_redirect else ""
            out.append(f"redirect: now to {new_redirect}{was}")
        else:
            out.append(f"redirect: no longer to {old_redirect}")
    for key, word in (("answer", "answer"), ("ns", "NS set"), ("serial", "serial"),
                      ("body_size", "body size"), ("duration", "duration")):
        if known(key) and before[key] != after[key]:
            out.append(f"{word}: {before[key]} → {after[key]}")
    return out


def merge(result_facts: Mapping[str, str], evidence_facts: Mapping[str, str]) -> Fingerprint:
    """The "now" side: the failing result's own facts, gaps filled from the evidence."""
    return {**evidence_facts, **result_facts}


def _set(text: str) -> set[str]:
    return {part.strip() for part in text.split(",") if part.strip()}


def _cn(name: str) -> str:
    return name[3:] if name.startswith("CN=") else name
