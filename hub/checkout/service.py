"""Self-checkout in a running hub: the plugin ``hub.checkout.service:plugin``.

    bus: DeviceEvent(kind="kiosk")  ──▶ one queue and worker per kiosk (events in order)
      scan / scan_image (decoded in a process pool) ──▶ barcodes.interpret ──▶ catalog
      weight / help / staff / member                ──▶ KioskSession (session.py) ──▶ effects
      pay / cancel / einvoice                       ──▶ Cashier (paying.py)
    effects ──▶ commands to the kiosk (in order, stale baskets skipped), alerts raised/resolved
    AlertChanged(resolved) of a kiosk's assist / age alert (staff on the API) ──▶ unlock

Other code reaches it with :func:`service` (the store API: refunds, e-invoices).
Baskets are priced with the config's promotions plus those HQ published through cloud
sync (:mod:`hub.checkout.published`, reloaded by :meth:`CheckoutService.load_published`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from devices.kiosk import codec as kc
from devices.kiosk.config import KioskConfig
from hub.barcodes import ImageDecoder, ImageError, interpret
from hub.catalog import Catalog, Item
from hub.checkout.bagging import BagScale, Expectation, WeightBook, WeightStats
from hub.checkout.config import CheckoutConfig, load
from hub.checkout.ledger import Completed, Draft, read_completed, sale_of_payment
from hub.checkout.paying import Cashier
from hub.checkout.payment import (
    Payment,
    PaymentConflict,
    PaymentError,
    PaymentProvider,
    make_provider,
)
from hub.checkout.published import merge, read_published
from hub.checkout.sales import sale_lines
from hub.checkout.screens import basket_args, payment_args, receipt_args
from hub.checkout.sender import KioskSender
from hub.checkout.session import (
    AGE,
    ASSIST,
    Effect,
    EndBasket,
    KioskSession,
    Raise,
    Reprice,
    Resolve,
    Send,
)
from hub.checkout.stock import StockLocks
from hub.events import AlertChanged, BusEvent, DeviceEvent
from hub.inventory import attach as attach_inventory
from hub.paid import PaidRegistry
from hub.pricing import PricedBasket, Promotion, price_basket

if TYPE_CHECKING:
    from hub.hub import Hub

log = logging.getLogger("storehub.checkout")

Job = Callable[[], Awaitable[None]]


class DecodedScan(BaseModel):
    """Journaled as the kiosk's ``decoded`` event: which decoder read a camera frame."""

    ts: float
    code: str
    symbology: str
    decoder: str
    ms: float


class CheckoutService:
    def __init__(
        self,
        hub: Hub,
        config: CheckoutConfig | None = None,
        *,
        provider: PaymentProvider | None = None,
    ) -> None:
        self.hub = hub
        self.config = config or _config_of(hub)
        cfg = self.config
        self.provider = provider or make_provider(cfg.payment, store=hub.store_id, clock=hub.clock)
        self.default_tax = Decimal(cfg.default_tax_rate)
        self.book = WeightBook(min_samples=cfg.learn_min_samples)
        self.catalog: Catalog | None = None
        self.paid: PaidRegistry | None = None
        self.stock = StockLocks(hub.journal, None, zone=cfg.stock_zone, clock=hub.clock)
        self.cashier = Cashier(
            hub.journal,
            self.provider,
            self.stock,
            None,
            self._on_final,
            spawn=hub.spawn,
            timeout_s=cfg.payment_timeout_s,
            poll_s=cfg.payment_poll_s,
            lock_s=cfg.abandon_after_s + cfg.payment_timeout_s,
            auto_einvoice=cfg.auto_einvoice,
            clock=hub.clock,
        )
        self.sessions: dict[str, KioskSession] = {}
        self.zones: dict[str, str | None] = {}
        self.tolerance: dict[str, float] = {}
        self.senders: dict[str, KioskSender] = {}
        self._queues: dict[str, asyncio.Queue[Job]] = {}
        for device in hub.registry:
            if isinstance(device.config, KioskConfig):
                kid = device.config.id
                scale = BagScale(place_timeout_s=cfg.place_timeout_s)
                self.sessions[kid] = KioskSession(kid, scale, abandon_after_s=cfg.abandon_after_s)
                self.zones[kid] = device.config.zone
                self.tolerance[kid] = device.config.weight_tolerance_g
                self.senders[kid] = KioskSender(kid, hub.command)
                self._queues[kid] = asyncio.Queue()
        #: The last priced basket of each kiosk.
        self.priced: dict[str, PricedBasket] = {}
        #: What baskets are priced with: the config's promotions and HQ's published ones.
        self.promotions: tuple[Promotion, ...] = self.config.promotions
        self._decoder: ImageDecoder | None = None
        self.ready = asyncio.Event()

    # -- life cycle --------------------------------------------------------------

    async def start(self) -> None:
        from rules.gate import service as gate_service  # the catalog and paid registry live there

        gates = gate_service(self.hub)
        try:
            async with asyncio.timeout(10):
                await gates.ready.wait()
        except TimeoutError:  # the gate plugin is not running in this hub: load them ourselves
            await gates.start()
        self.catalog, self.paid = gates.catalog, gates.paid
        self.cashier.paid = self.paid
        self.stock.inventory = await attach_inventory(self.hub)
        await self.stock.load()
        for gtin, n, mean, m2 in await self.hub.journal.call(
            lambda c: c.execute("SELECT gtin, n, mean, m2 FROM item_weights").fetchall()
        ):
            self.book.stats[gtin] = WeightStats(n, mean, m2)
        await self.load_published()
        await self.cashier.recover()
        self.ready.set()

    async def run(self) -> None:
        sub = self.hub.bus.subscribe("checkout", accept=self._accept)
        try:
            await self.start()
            async with asyncio.TaskGroup() as tg:
                for kid in self.sessions:
                    tg.create_task(self._work(kid), name=f"checkout:{kid}")
                    tg.create_task(self.senders[kid].run(), name=f"checkout:{kid}:send")
                tg.create_task(self._tick(), name="checkout:tick")
                async for event in sub:
                    self._dispatch(event)
        finally:
            sub.close()
            if self._decoder is not None:
                self._decoder.close()

    def _accept(self, event: BusEvent) -> bool:
        if isinstance(event, DeviceEvent):
            return event.kind == "kiosk" and event.name != "decoded"
        return (
            isinstance(event, AlertChanged)
            and event.change == "resolved"
            and event.alert.kind in (ASSIST, AGE)
            and event.alert.device in self.sessions
        )

    def _dispatch(self, event: BusEvent) -> None:
        if isinstance(event, DeviceEvent) and event.device in self._queues:
            self.enqueue(event.device, lambda: self._on_event(event))
        elif isinstance(event, AlertChanged) and event.alert.device in self._queues:
            kiosk, kind = str(event.alert.device), event.alert.kind
            self.enqueue(kiosk, lambda: self._on_resolved(kiosk, kind))

    def enqueue(self, kiosk: str, job: Job) -> None:
        self._queues[kiosk].put_nowait(job)

    async def _work(self, kiosk: str) -> None:
        queue = self._queues[kiosk]
        while True:
            job = await queue.get()
            try:
                await job()
            except Exception:  # one bad event must not stop the kiosk
                log.exception("kiosk %s: event not handled", kiosk)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for kid in self.sessions:
                self.enqueue(kid, functools.partial(self._tick_kiosk, kid))
            try:
                await self.stock.expire()
            except Exception:
                log.exception("stock locks not expired")

    async def _tick_kiosk(self, kiosk: str) -> None:
        await self._apply(kiosk, self.sessions[kiosk].tick(self.hub.clock()))

    # -- events --------------------------------------------------------------------

    async def _on_event(self, event: DeviceEvent) -> None:
        kiosk, p, now = event.device, event.payload, self.hub.clock()
        s = self.sessions[kiosk]
        if isinstance(p, kc.Scan):
            await self._scan(kiosk, p.code, p.symbology, tuple(p.epcs))
        elif isinstance(p, kc.ScanImage):
            await self._scan_image(kiosk, p)
        elif isinstance(p, kc.Weight):
            await self._apply(kiosk, s.weight(p.grams, now))
        elif isinstance(p, kc.Help):
            await self._apply(kiosk, s.help(now))
        elif isinstance(p, kc.Member):
            await self._apply(kiosk, s.set_member(p.member, now))
        elif isinstance(p, kc.Staff):
            log.info("kiosk %s: staff %s: %s", kiosk, p.staff, p.action)
            await self._apply(kiosk, s.staff(p.action, staff=p.staff, line=p.line, now=now))
        elif isinstance(p, kc.Pay):
            await self._pay(kiosk, s, p)
        elif isinstance(p, kc.Cancel):
            if s.phase == "paying" and s.payment is not None:
                await self.cashier.cancel(s.payment)
        elif isinstance(p, kc.EInvoice):
            await self._einvoice(kiosk, p.sale, p.buyer)

    async def _on_resolved(self, kiosk: str, kind: str) -> None:
        """Staff closed an alert elsewhere (store API, handheld): act as if at the kiosk."""
        s = self.sessions[kiosk]
        if kind == ASSIST and s.locked is not None:
            await self._apply(kiosk, s.clear("alert resolved"))
        elif kind == AGE and any(not ln.approved for ln in s.lines):
            await self._apply(kiosk, s.approve_age("alert resolved"))

    async def _scan(self, kiosk: str, code: str, symbology: str, epcs: tuple[str, ...]) -> None:
        cfg = self.config
        scanned = interpret(code, symbology, rules=cfg.variable_measure, currency=cfg.currency)
        if scanned.kind == "unknown" or scanned.gtin is None:
            self._message(kiosk, scanned.problem or "Unknown barcode.", "warning")
            return
        item = self.catalog.get(scanned.gtin) if self.catalog is not None else None
        if item is None:
            self._message(
                kiosk, f"Item {code} is not known here. Please ask staff for help.", "warning"
            )
            return
        tol, pct = self.tolerance[kiosk], cfg.weight_tolerance_pct
        expect: Expectation
        if scanned.grams is not None:
            expect = Expectation(float(scanned.grams), max(tol, scanned.grams * pct))
        elif scanned.price is not None or item.unit == "kg":
            expect = Expectation(None, tol)  # its weight is not known up front
        else:
            expect = self.book.expect(item.gtin, item.weight_g, tol, pct)
        effects = self.sessions[kiosk].scan(
            item,
            code=code,
            expect=expect,
            now=self.hub.clock(),
            grams=scanned.grams,
            price=scanned.price,
            epcs=epcs,
        )
        await self._apply(kiosk, effects)

    async def _scan_image(self, kiosk: str, frame: kc.ScanImage) -> None:
        if self._decoder is None:
            self._decoder = ImageDecoder(workers=self.config.decoder_workers)
        try:
            hit = await self._decoder.decode(frame.jpeg())
        except ImageError as exc:
            log.info("kiosk %s: %s", kiosk, exc)
            hit = None
        if hit is None:
            self._message(kiosk, "The barcode could not be read. Please scan it again.", "warning")
            return
        await self.hub.emit(
            kiosk,
            "decoded",
            DecodedScan(
                ts=frame.ts, code=hit.text, symbology=hit.symbology, decoder=hit.decoder, ms=hit.ms
            ),
        )
        await self._scan(kiosk, hit.text, hit.symbology, ())

    # -- effects -------------------------------------------------------------------

    async def _apply(self, kiosk: str, effects: list[Effect]) -> None:
        zone = self.zones.get(kiosk)
        for e in effects:  # in order: the kiosk sees the basket before the message about it
            if isinstance(e, Send):
                self.senders[kiosk].send(e.command, e.args)
            elif isinstance(e, Raise):
                await self.hub.alerts.raise_(
                    e.kind, e.severity, e.title, device=kiosk, zone=zone, data=e.data
                )
            elif isinstance(e, Resolve):
                await self.hub.alerts.resolve(key=f"{e.kind}:{kiosk}:{zone or ''}")
            elif isinstance(e, Reprice):
                self._send_basket(kiosk)
            elif isinstance(e, EndBasket):
                log.info("kiosk %s: basket %s ended: %s", kiosk, e.basket, e.reason)
                if e.payment is not None:
                    await self.cashier.cancel(e.payment)
                await self.stock.release(e.basket)

    def _message(self, kiosk: str, text: str, level: str = "info") -> None:
        self.senders[kiosk].send("message", {"text": text, "level": level})

    async def load_published(self) -> None:
        """(Re)read HQ's published promotions; the baskets being filled are re-priced and
        shown again (a basket being paid keeps its amount)."""
        currency = self.config.currency
        published = await self.hub.journal.call(lambda c: read_published(c, currency))
        self.promotions = merge(self.config.promotions, published)
        for kid, s in self.sessions.items():
            if s.phase == "shopping":
                self.enqueue(kid, functools.partial(self._reprice, kid))

    async def _reprice(self, kiosk: str) -> None:
        if self.sessions[kiosk].phase == "shopping":
            self._send_basket(kiosk)

    def price(self, kiosk: str) -> tuple[PricedBasket, list[int]]:
        """The kiosk's basket priced now, and the shown line number of each priced line."""
        s = self.sessions[kiosk]
        numbered = s.items(self.item, self.default_tax)
        priced = price_basket(
            [b for _, b in numbered],
            self.promotions,
            currency=self.config.currency,
            now=self.hub.clock(),
            member=s.member,
        )
        self.priced[kiosk] = priced
        return priced, [n for n, _ in numbered]

    def _send_basket(self, kiosk: str) -> None:
        self.senders[kiosk].send("basket", basket_args(*self.price(kiosk)))

    # -- paying --------------------------------------------------------------------

    async def _pay(self, kiosk: str, s: KioskSession, req: kc.Pay) -> None:
        asked = req.payment_id
        if asked is not None and asked in self.cashier.payments:
            await self._resend(kiosk, self.cashier.payments[asked])
            return
        if s.phase == "paying" and s.payment is not None:
            await self._resend(kiosk, self.cashier.payments[s.payment])
            return
        if req.member is not None:
            await self._apply(kiosk, s.set_member(req.member, self.hub.clock()))
        why = s.cannot_pay()
        if why is not None:
            self._message(kiosk, why, "warning")
            return
        priced, _ = self.price(kiosk)
        lines, promos = sale_lines(priced)
        draft = Draft(
            store=self.hub.store_id,
            device=kiosk,
            basket=s.basket,
            member=s.member,
            currency=priced.currency,
            lines=lines,
            promotions=promos,
        )
        pid = asked or s.payment_id()
        try:
            payment = await self.cashier.start(pid, draft)
        except PaymentConflict:
            self._message(
                kiosk, "This payment was started for another amount. Please retry.", "warning"
            )
            return
        except PaymentError as exc:
            log.warning("kiosk %s: payment %s not started: %s", kiosk, pid, exc)
            self._message(kiosk, "Payment is not available right now. Please ask staff.", "warning")
            return
        if payment.final:  # known from before (a retry after a restart)
            await self._resend(kiosk, payment)
            return
        s.paying(pid)
        self._send_payment(kiosk, payment)

    async def _resend(self, kiosk: str, payment: Payment) -> None:
        """A retried ``pay``: show the payment as it is, or the receipt if it is paid."""
        self._send_payment(kiosk, payment)
        if payment.status == "succeeded":
            sale_id = await self.hub.journal.call(lambda c: sale_of_payment(c, payment.id))
            if sale_id is not None:
                await self._send_receipt(kiosk, sale_id)

    def _send_payment(self, kiosk: str, p: Payment) -> None:
        self.senders[kiosk].send("payment", payment_args(p, self.cashier.expires.get(p.id)))

    async def _on_final(self, payment: Payment, draft: Draft, done: Completed | None) -> None:
        kiosk = draft.device
        if kiosk is None or kiosk not in self.sessions:
            return

        async def report() -> None:
            s = self.sessions[kiosk]
            self._send_payment(kiosk, payment)
            ours = s.phase != "idle" and s.basket == draft.basket
            if done is not None:
                self._receipt(kiosk, done)
                if ours:
                    await self._learn(s.paid())
                    self._send_basket(kiosk)
            elif ours and s.payment == payment.id:
                await self._apply(kiosk, s.payment_over(payment.status))

        self.enqueue(kiosk, report)

    def _receipt(self, kiosk: str, done: Completed) -> None:
        self.senders[kiosk].send("receipt", receipt_args(done))

    async def _send_receipt(self, kiosk: str, sale_id: str) -> None:
        done = await self.hub.journal.call(lambda c: read_completed(c, sale_id))
        if done is not None:
            self._receipt(kiosk, done)

    async def _einvoice(self, kiosk: str, sale_id: str, buyer: str | None) -> None:
        try:
            inv = await self.cashier.issue_einvoice(sale_id, buyer=buyer)
        except LookupError as exc:
            self._message(kiosk, f"No e-invoice: {exc}.", "warning")
            return
        self._message(kiosk, f"E-invoice {inv.id} issued for sale {sale_id}.")

    async def _learn(self, weights: list[tuple[str, float]]) -> None:
        if not weights:
            return
        rows = []
        for gtin, grams in weights:
            st = self.book.learn(gtin, grams)
            rows.append((gtin, st.n, st.mean, st.m2, self.hub.clock()))
        await self.hub.journal.call(
            lambda c: c.executemany(
                "INSERT INTO item_weights(gtin, n, mean, m2, updated) VALUES (?,?,?,?,?)"
                " ON CONFLICT(gtin) DO UPDATE SET n=excluded.n, mean=excluded.mean,"
                " m2=excluded.m2, updated=excluded.updated",
                rows,
            )
        )

    def item(self, gtin: str) -> Item | None:
        return self.catalog.get(gtin) if self.catalog is not None else None


def _config_of(hub: Hub) -> CheckoutConfig:
    from_store = getattr(hub.config.store, "checkout", None)
    if isinstance(from_store, CheckoutConfig):
        return from_store
    return load(getattr(hub.config, "source", None))


def service(hub: Hub) -> CheckoutService:
    """The hub's checkout service (created on first use)."""
    svc = hub.service(CheckoutService)
    if svc is None:
        svc = CheckoutService(hub)
        hub.provide(svc)
    return svc


def plugin_with(
    config: CheckoutConfig | None = None, *, provider: PaymentProvider | None = None
) -> Callable[[Hub], Coroutine[Any, Any, None]]:
    """A checkout plugin with its own config or payment provider (tests, other stores)."""

    async def checkout(hub: Hub) -> None:
        svc = CheckoutService(hub, config, provider=provider)
        hub.provide(svc)
        await svc.run()

    return checkout


async def plugin(hub: Hub) -> None:
    """Built-in plugin: every ``kiosk`` of the store."""
    await service(hub).run()
