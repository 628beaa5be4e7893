"""A process that queues notifications and delivers them, for the kill-and-restart test.

    python -m tests.support.outbox_child DB URL COUNT

Queues COUNT webhook notifications (ids n0, n1, …) for receiver "hook" at URL in the outbox
of the database DB, prints "queued", then delivers until killed.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timezone

from monitord.clock import SystemClock
from monitord.notify.base import SenderEnv
from monitord.notify.config import WebhookReceiver
from monitord.notify.outbox import Outbox, migrate
from monitord.notify.webhook import WebhookSender
from monitord.store import Store
from tests.support.alerts import event, notification


async def main(db: str, url: str, count: int) -> None:
    store = await Store.open(db)
    await migrate(store)
    now = datetime.now(timezone.utc)
    notes = [notification("hook", event(f"check-{i}", at=now), nid=f"n{i}")
             for i in range(count)]
    sender = WebhookSender(WebhookReceiver(name="hook", url=url, timeout=60.0), SenderEnv())
    outbox = Outbox(store, {"hook": sender}, SystemClock())
    await outbox.submit(notes)
    print("queued", flush=True)
    await outbox.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
