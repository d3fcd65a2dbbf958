"""The demo bank in memory, as the Go server's cardstore.Memory holds it:
customers by phone and national id, cards by customer, verification records
and failure counters keyed by conversation (the hashed call id)."""

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone

_HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PATH = os.path.join(_HERE, "..", "..", "..", "cardstore", "demobank.json")


@dataclass
class Customer:
    id: int
    phone: str
    national_id: str


@dataclass
class Card:
    id: int
    customer_id: int
    last4: str
    kind: str
    status: str
    block_reference: str = ""
    blocked_at: datetime = None


class Bank:
    def __init__(self, path=None):
        with open(path or os.environ.get("SCTBNK_DEMOBANK", DEFAULT_PATH), encoding="utf-8") as f:
            data = json.load(f)
        self.by_phone = {}
        self.by_national_id = {}
        self.cards_by_customer = {}
        self.verifications = {}  # conversation key -> (customer id, card id, verified at, expires at)
        self.conv_failures = {}  # conversation key -> count
        self.cust_failures = {}  # customer id -> [datetime]
        for c in data["customers"]:
            cu = Customer(c["id"], c["phone_e164"], c.get("national_id", ""))
            self.by_phone[cu.phone] = cu
            if cu.national_id:
                self.by_national_id[cu.national_id] = cu
            cards = []
            for k in sorted(c["cards"], key=lambda k: k["id"]):
                card = Card(k["id"], cu.id, k["last4"], k["kind"], k["status"])
                if k.get("block"):
                    card.block_reference = k["block"]["reference"]
                    card.blocked_at = datetime.fromisoformat(k["block"]["blocked_at"])
                cards.append(card)
            self.cards_by_customer[cu.id] = cards

    def customer_by_phone(self, phone):
        return self.by_phone.get(phone)

    def customer_by_national_id(self, nid):
        return self.by_national_id.get(nid.upper()) if nid else None

    def cards_ending_in(self, customer_id, last4):
        return [c for c in self.cards_by_customer.get(customer_id, []) if c.last4 == last4]

    def _counts(self, conv_key, customer_id, since):
        conv = self.conv_failures.get(conv_key, 0)
        cust = 0
        if customer_id:
            cust = sum(1 for at in self.cust_failures.get(customer_id, []) if at >= since)
        return conv, cust

    def failure_counts(self, conv_key, customer_id, since):
        return self._counts(conv_key, customer_id, since)

    def record_failure(self, conv_key, customer_id, at, since):
        self.conv_failures[conv_key] = self.conv_failures.get(conv_key, 0) + 1
        if customer_id:
            self.cust_failures.setdefault(customer_id, []).append(at)
        return self._counts(conv_key, customer_id, since)

    def save_verification(self, conv_key, customer_id, card_id, now, ttl):
        self.verifications[conv_key] = (customer_id, card_id, now, now + ttl)


def utcnow():
    return datetime.now(timezone.utc)
