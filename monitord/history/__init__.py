"""Result history for the status page and the history API.

``chunks`` packs samples and 5-minute rollups into compact blobs (pure); ``tables`` is the
SQL at the store edge; ``recorder`` batches results off the hot path, answers queries and
prunes on a schedule; ``timeline`` reads an incident's story from the alerting tables.
"""
