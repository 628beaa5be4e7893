"""Evidence: the follow-up probes run once when a problem is confirmed, and "what changed".

The first minutes of an on-call's work are ``dig``, ``curl -v``, ``openssl s_client`` and
"what changed?". monitord does them in the seconds between confirming a problem and sending
it: each check kind names its follow-up probes (:mod:`.registry`), :mod:`.runner` runs them
concurrently under ``[alerting] evidence_timeout``, and :mod:`.facts` compares the first
failing result with the last OK one. :mod:`.desk` wires both into the daemon's alerting,
:mod:`.explain` into ``monitord probe --explain``.
"""
