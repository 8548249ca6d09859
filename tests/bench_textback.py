"""Missed call -> SMS latency: `python -m tests.bench_textback [--calls 100] [--pause 0]`.

Fires signed dial-status webhooks (no-answer) from distinct callers, one after another, at an
in-process server with its worker, a real Redis and the loopback stand-ins, and prints the time from
sending the webhook to the SMS request reaching the Twilio stand-in. With --pause, each call comes
after that many seconds of quiet (12: longer than the worker's blocking read), to see what the
first job after an idle spell costs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from bot import local_redis
from bot.app import create_app
from tests.conftest import BUSINESS_NUMBER, PUBLIC_URL, make_settings
from tests.signing import twilio_signature
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until


async def bench(calls: int, redis_url: str, pause: float = 0.0) -> dict[str, float]:
    prefix = f"tbbench-{uuid.uuid4().hex[:8]}"
    async with SlackStandIn() as slack, TwilioStandIn() as twilio:
        settings = make_settings(redis_url, prefix, slack, twilio, slack_posts_per_second=1000)
        client: TestClient[Any, Any] = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        token = settings.twilio_auth_token.get_secret_value()
        latencies: list[float] = []
        ack: list[float] = []
        try:
            for index in range(calls):
                caller = f"+120255501{index:02d}"  # +1 202 555 0100..0199: valid, distinct
                params = {
                    "CallSid": f"CA{uuid.uuid4().hex}",
                    "From": caller,
                    "To": BUSINESS_NUMBER,
                    "Direction": "inbound",
                    "DialCallStatus": "no-answer",
                }
                url = PUBLIC_URL + "/twilio/voice/dial-status"
                if pause:
                    await asyncio.sleep(pause)  # the quiet spell measured, not a wait
                headers = {"X-Twilio-Signature": twilio_signature(token, url, params)}
                started = time.monotonic()
                response = await client.post(
                    "/twilio/voice/dial-status", data=params, headers=headers
                )
                ack.append(time.monotonic() - started)
                assert response.status == 200, await response.text()
                sent = await wait_until(lambda c=caller: twilio.messages_to(c), timeout=10)
                latencies.append(sent[0]["at"] - started)
        finally:
            await client.close()
            redis = Redis.from_url(redis_url, decode_responses=True)
            keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
    ordered = sorted(latencies)
    return {
        "calls": calls,
        "ack_median_ms": statistics.median(ack) * 1000,
        "ack_worst_ms": max(ack) * 1000,
        "sms_median_ms": statistics.median(ordered) * 1000,
        "sms_p90_ms": ordered[int(len(ordered) * 0.9) - 1] * 1000,
        "sms_worst_ms": ordered[-1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=100, choices=range(1, 101), metavar="1..100")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds of quiet before each")
    args = parser.parse_args()
    process = None
    if local_redis.answers("127.0.0.1", 6379):
        redis_url = "redis://127.0.0.1:6379/13"
    else:
        port = local_redis.free_port()
        process = local_redis.start(port, None, persist=False)
        redis_url = f"redis://127.0.0.1:{port}/0"
    try:
        result = asyncio.run(bench(args.calls, redis_url, args.pause))
    finally:
        if process is not None:
            process.terminate()
    print(f"missed calls: {result['calls']} (distinct callers, one at a time)")
    ack_median, ack_worst = result["ack_median_ms"], result["ack_worst_ms"]
    print(f"webhook answered:       median {ack_median:.1f} ms, worst {ack_worst:.1f} ms")
    print(
        f"dial-status -> SMS req: median {result['sms_median_ms']:.1f} ms, "
        f"p90 {result['sms_p90_ms']:.1f} ms, worst {result['sms_worst_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
