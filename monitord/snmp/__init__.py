"""SNMP, all of it: the ``snmp`` check kind, polling, and the trap receiver.

- the check kind: its keys (:mod:`~monitord.snmp.spec`), the kind (:mod:`~monitord.snmp.kind`),
  the poller (:mod:`~monitord.snmp.check`) and the evaluation of what was polled
  (:mod:`~monitord.snmp.interfaces`, :mod:`~monitord.snmp.rate`,
  :mod:`~monitord.snmp.thresholds`, :mod:`~monitord.snmp.uptime`);
- traps: the ``[snmp_traps]`` section (:mod:`~monitord.snmp.trap_config`), the receiver
  (:mod:`~monitord.snmp.receiver`), its socket (:mod:`~monitord.snmp.listener`) and what a
  trap means (:mod:`~monitord.snmp.trapmap`).

Only :mod:`monitord.snmp.engine` (SNMPv3 polls) and :mod:`monitord.snmp.listener` import
pysnmp; SNMPv2c polls use our own codec (:mod:`~monitord.snmp.ber`, :mod:`~monitord.snmp.v2c`)
and the walk (:mod:`~monitord.snmp.session`) is shared by both. The other modules (OIDs, the
evaluation of what was polled, trap interpretation) are plain Python, so a configuration
without SNMP never loads pysnmp and the decisions are tested without an agent.
"""
