"""Everything a running gateway holds open, built once at start-up and closed at shutdown."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from sqlalchemy import Engine

from gateway.channels.intake import Intake
from gateway.channels.sms import SmsService
from gateway.channels.ussd import UssdService
from gateway.channels.villagers import VillagerSms
from gateway.infra.clock import Clock, RedisClock
from gateway.infra.crypto import PhoneCipher
from gateway.infra.limits import RateLimiter
from gateway.infra.metrics import Metrics
from gateway.infra.redisconn import RedisHandle, open_redis
from gateway.infra.settings import Settings, previous_secret_keys, secret_key
from gateway.record import db
from gateway.record.directory import SqlPlaces
from gateway.record.routing_directory import SqlDirectory
from gateway.referrals.loop import Referrals
from gateway.referrals.outbox import Outbox
from gateway.referrals.transport import Transport, make_transport
from menus.catalog import Catalog, load_catalog
from menus.dlt import load_dlt
from menus.engine import REQUIRED_KEYS
from routing.concerns import KEYS
from routing.lifecycle import STATUSES
from routing.rules import load_rules

log = logging.getLogger("cpgw")
SMS_KEYS = (
    "sms.alert", "sms.alert_urgent", "sms.reminder", "sms.ack_ok", "sms.done_ok", "sms.esc_ok", "sms.status",
    "sms.already_ack", "sms.already_done", "sms.which", "sms.none_open", "sms.not_found", "sms.bad_ref",
    "sms.help", "sms.follow_up", "sms.report_usage", "sms.unknown_village", "sms.duplicate", "sms.limited",
    "sms.stopped", "sms.done_not_yours", "sms.esc_wait",
    "sms.missed_call",  # issue 19: the answer to a missed call
    "sms.closure_proposed", "sms.duty_ok", "sms.duty_not_yours", "sms.duty_unknown", "sms.duty_usage", "sms.duty_due",
    "sms.duty_escalated", "sms.reopened", "sms.sent_back", "sms.assigned",
)


def menu_catalog(settings: Settings | None = None) -> Catalog:
    """The menu texts, checked against every key the engine, the concerns and the SMS use; with
    `settings`, the deployment's texts directory (`CPGW_TEXTS_DIR`) laid over the shipped files."""
    required = [
        *REQUIRED_KEYS, *SMS_KEYS, *(f"concern.{key}" for key in KEYS), *(f"status.{s}" for s in STATUSES),
    ]
    catalog = load_catalog(required=required, overlay=settings.resolved_texts_dir if settings else None)
    unregistered = [key for key, value in load_dlt(known=frozenset(catalog.languages["en"].texts)).items() if not value]
    if unregistered:
        log.warning("SMS templates without a DLT template id (menus/dlt.yaml)", extra={"templates": unregistered})
    return catalog


@dataclass
class Services:
    settings: Settings
    engine: Engine
    redis_handle: RedisHandle
    redis: redis.Redis
    metrics: Metrics
    clock: Clock
    cipher: PhoneCipher
    outbox: Outbox
    referrals: Referrals
    ussd: UssdService
    sms: SmsService
    limiter: RateLimiter  # per phone, per contact and case, per address (gateway.infra.limits)
    checkpointer: db.Checkpointer | None = None  # the web app's, on SQLite

    async def aclose(self) -> None:
        """Close the event loop's Redis client (on the loop that used it), then everything else."""
        await self.ussd.redis.aclose()
        self.close()

    def close(self) -> None:
        """Every client before the embedded Redis is asked to stop: it refuses while any is connected."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.redis_handle.close()
        self.engine.dispose()


def open_services(
    settings: Settings, *, migrate: bool = True, clock: Clock | None = None, transport: Transport | None = None,
    background_checkpoints: bool = False, checkpointer: bool = True,
) -> Services:
    """Everything the gateway holds open. `background_checkpoints`: the web app's (`db.Checkpointer`);
    with `checkpointer=False`, commits still never checkpoint but the Checkpointer runs in another
    process (serve's effects process leaves it to the web process beside it)."""
    engine = db.make_engine(settings.resolved_database_url, background_checkpoints=background_checkpoints)
    if migrate:
        db.upgrade(engine)
    handle = open_redis(settings)
    client = handle.sync()
    metrics = Metrics()
    cipher = PhoneCipher(secret_key(settings), previous_secret_keys(settings))
    clock = clock or RedisClock(client)
    catalog = menu_catalog(settings)
    if not settings.webhook_token:
        log.warning("CPGW_WEBHOOK_TOKEN is not set: webhooks accept any caller")
    outbox = Outbox(
        redis=client, engine=engine, transport=transport or make_transport(settings), clock=clock, cipher=cipher,
        metrics=metrics, rate_per_second=settings.sms_rate_per_second,
    )
    referrals = Referrals(
        engine=engine, redis=client, clock=clock, catalog=catalog, outbox=outbox, metrics=metrics,
        directory=SqlDirectory(engine), rules=load_rules(settings.routing_rules),
    )
    outbox.on_final_failure = referrals.step_failed
    places = SqlPlaces(engine)
    limiter = RateLimiter(client, clock.now)
    intake = Intake(engine=engine, redis=client, cipher=cipher, referrals=referrals, metrics=metrics)
    ussd = UssdService(
        settings=settings, redis=handle.asyncio(), engine=engine, catalog=catalog, places=places,
        concerns=KEYS, cipher=cipher, metrics=metrics, intake=intake, limiter=limiter,
    )
    villagers = VillagerSms(
        settings=settings, engine=engine, redis=client, catalog=catalog, places=places, cipher=cipher, intake=intake,
        outbox=outbox, limiter=limiter,
    )
    sms = SmsService(engine=engine, catalog=catalog, referrals=referrals, metrics=metrics, villagers=villagers,
                     limiter=limiter, cipher=cipher)
    return Services(
        settings=settings, engine=engine, redis_handle=handle, redis=client, metrics=metrics, clock=clock,
        cipher=cipher, outbox=outbox, referrals=referrals, ussd=ussd, sms=sms, limiter=limiter,
        checkpointer=db.Checkpointer(engine).start()
        if background_checkpoints and checkpointer and engine.dialect.name == "sqlite" else None,
    )
