"""SNMP polling and trap handling.

Only :mod:`monitord.snmp.session` and :mod:`monitord.snmp.listener` import pysnmp; the other
modules (OIDs, the evaluation of what was polled, trap interpretation) are plain Python, so a
configuration without SNMP never loads pysnmp and the decisions are tested without an agent.
"""
