"""Everything a running gateway holds open, built once at start-up and closed at shutdown."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from sqlalchemy import Engine

from gateway import db
from gateway.crypto import PhoneCipher
from gateway.directory import SqlPlaces
from gateway.metrics import Metrics
from gateway.redisconn import RedisHandle, open_redis
from gateway.settings import Settings, secret_key
from gateway.ussd import UssdService
from menus.catalog import Catalog, load_catalog
from menus.engine import REQUIRED_KEYS, STATUSES
from routing.concerns import KEYS

log = logging.getLogger("cpgw")


def menu_catalog() -> Catalog:
    """The menu texts, checked against every key the engine and the concern list use."""
    required = [*REQUIRED_KEYS, *(f"concern.{key}" for key in KEYS), *(f"status.{s}" for s in STATUSES)]
    return load_catalog(required=required)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    redis_handle: RedisHandle
    redis: redis.Redis
    metrics: Metrics
    ussd: UssdService

    def close(self) -> None:
        self.redis_handle.close()
        self.engine.dispose()


def open_services(settings: Settings, *, migrate: bool = True) -> Services:
    engine = db.make_engine(settings.resolved_database_url)
    if migrate:
        db.upgrade(engine)
    handle = open_redis(settings)
    client = handle.sync()
    metrics = Metrics()
    secret = secret_key(settings)
    if not settings.webhook_token:
        log.warning("CPGW_WEBHOOK_TOKEN is not set: webhooks accept any caller")
    ussd = UssdService(
        settings=settings, redis=client, engine=engine, catalog=menu_catalog(), places=SqlPlaces(engine),
        concerns=KEYS, cipher=PhoneCipher(secret), secret=secret, metrics=metrics,
    )
    return Services(settings=settings, engine=engine, redis_handle=handle, redis=client, metrics=metrics, ussd=ussd)
