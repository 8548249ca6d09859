"""Everything a handler or the worker needs, built once per app and passed down."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient
from twilio.rest import Client as TwilioClient

from bot.lines import Lines
from bot.metrics import Metrics
from bot.settings import Settings
from storage.leads import LeadStore
from storage.outbox import Outbox
from storage.store import Store


@dataclass
class Services:
    settings: Settings
    redis: Redis
    store: Store
    leads: LeadStore
    outbox: Outbox
    lines: Lines
    metrics: Metrics
    slack: AsyncWebClient
    twilio: TwilioClient
    http: aiohttp.ClientSession  # for fetching MMS media from Twilio
    clock: Callable[[], float] = field(default=time.time)
