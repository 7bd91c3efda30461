"""The arXiv poller: ``python -m service.ingest.poller --poller-id poller-1`` (its own process).

Each round fetches the newest papers of ``arxiv_query`` page by page until it meets papers it has
already seen (``pf:ingest:seen:arxiv``) or ``arxiv_max_pages``; every new paper becomes an
``arxiv_paper`` job on the backfill queue (idempotency key ``arxiv:<id>``), whose worker stores
the document. Between rounds it waits ``arxiv_poll_interval_s``. Each round is recorded as a run
of the ``arxiv_poll`` schedule (``service.scheduler``), so health and the release gate see when
the poll last ran and how it ended. However many pollers (and workers) run, the request cadence
is the shared one of ``service.ingest.throttle``. A 503/429 ends the round after every process
was told to back off.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.ingest import stats
from service.ingest.arxiv import ArxivClient, ArxivUnavailableError, make_throttle
from service.jobs import queue
from service.keyspace import keys as c
from service.outbound.client import EgressRefused, OutboundClient
from service.scheduler import state as schedule_state
from service.scheduler.schedules import ARXIV_POLL
from service.settings import Settings, get_settings

log = logging.getLogger("service.ingest.poller")


async def poll_round(client: ArxivClient, redis: Redis, settings: Settings) -> int:
    """One round; the number of new papers enqueued."""
    new_total = 0
    for page in range(settings.arxiv_max_pages):
        feed = await client.fetch(page * settings.arxiv_page_size)
        entries = feed["entries"]
        new = 0
        for entry in entries:
            if not await redis.sadd(c.ARXIV_SEEN_KEY, entry["id"]):
                continue
            try:
                await queue.enqueue(
                    redis,
                    settings,
                    kind="arxiv_paper",
                    queue="backfill",
                    payload=entry,
                    owner="poller",
                    idempotency=f"arxiv:{entry['id']}",
                )
            except queue.QueueFullError:
                await redis.srem(c.ARXIV_SEEN_KEY, entry["id"])  # try again next round
                log.warning("backfill queue full; the round ends early")
                return new_total + new
            new += 1
        new_total += new
        if new:
            await stats.count(redis, "arxiv_entries", new)
        caught_up = new < len(entries) or not entries
        if caught_up or (page + 1) * settings.arxiv_page_size >= feed["total"]:
            break
    return new_total


async def recorded_round(
    client: ArxivClient, redis: Redis, settings: Settings, poller_id: str
) -> None:
    """One round, recorded as a run of the ``arxiv_poll`` schedule (health, metrics, the gate).

    A round that arXiv ended with 503/429 (or the shared rate limit) is ``backed_off``: it did
    what arXiv's terms ask. Unreachable, a bad answer or an unparsable feed is ``failed``.
    """
    interval = settings.arxiv_poll_interval_s
    run = await schedule_state.begin(redis, ARXIV_POLL, interval, poller_id)
    outcome: schedule_state.Outcome = "failed"
    error, result = "", None
    try:
        found = await poll_round(client, redis, settings)
        outcome, result = "succeeded", {"new_papers": found}
        log.info("arXiv round done: %d new papers", found)
    except ArxivUnavailableError as exc:
        outcome, error = ("backed_off" if exc.backed_off else "failed"), str(exc)
        log.warning("arXiv round ended: %s", exc)
    except EgressRefused as exc:
        error = f"egress refused: {exc}"
        log.error("arXiv URL refused by the egress policy: %s", exc)
    except (OSError, TimeoutError, RedisError) as exc:  # Redis or network gone: retried
        error = f"{type(exc).__name__}: {exc}"
        log.warning("arXiv round failed: %s", error)
    await schedule_state.finish(
        redis, run, outcome, error=error, result=result, next_due_in_s=interval
    )


async def run(settings: Settings, stopping: asyncio.Event, poller_id: str = "poller-1") -> None:
    redis = Redis.from_url(
        settings.redis_url, decode_responses=True, socket_connect_timeout=2.0, socket_timeout=10.0
    )
    outbound = OutboundClient(settings, redis)
    client = ArxivClient(settings, redis, outbound, make_throttle(settings, redis))
    try:
        if settings.arxiv_url is None:
            log.info("arxiv_url is not set: the poller idles")
            await stopping.wait()
        while not stopping.is_set():
            try:
                await recorded_round(client, redis, settings, poller_id)
            except (OSError, TimeoutError, RedisError) as exc:  # the round could not be recorded
                log.warning("arXiv round not recorded: %s: %s", type(exc).__name__, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), max(0.05, settings.arxiv_poll_interval_s))
    finally:
        await outbound.aclose()
        await redis.aclose()


async def serve(settings: Settings, poller_id: str) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await run(settings, stopping, poller_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.ingest.poller", description=__doc__)
    parser.add_argument(
        "--poller-id",
        default="poller-1",
        metavar="ID",
        help="name of this poller in logs. Default: %(default)r",
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    from service.logs import configure_logging

    configure_logging(settings, args.poller_id)
    asyncio.run(serve(settings, args.poller_id))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
