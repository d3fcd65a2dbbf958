"""validate_card_block_form and action_verify_last4 on rasa-sdk: the same
logic as the Go server's actions/validate.go, verify.go and caller.go, on
the same demo bank in memory. Only the benchmark peer: it is not deployed.

Messages are domain responses with template variables, slot events are
the same, in the same order; verification records and failure counters are
kept per conversation key exactly as the Go server derives it (the hashed
call id, else the sender id plus the session's start).
"""

import hashlib
import re
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet

from . import spoken
from .bank import Bank, utcnow
from .normalise import normalise_block_type, normalise_kind, normalise_reason

BANK = Bank()

VERIFY_MAX_ATTEMPTS = 3
VERIFY_CUSTOMER_MAX_FAILURES = 5
VERIFY_WINDOW = timedelta(hours=24)
VERIFICATION_TTL = timedelta(minutes=15)
MAX_UNUSABLE_ANSWERS = 3

FORM_SLOTS = ["block_reason", "national_id", "card_last4", "block_type", "card_kind"]

WITHHELD = {"+266696687", "+7378742833", "+86282452253", "+8656696", "+2562533"}
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
MADRID = ZoneInfo("Europe/Madrid")
MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
          "septiembre", "octubre", "noviembre", "diciembre"]


def slot_text(v):
    """A slot or candidate value as text, with the Go server's tolerance:
    null-ish strings, bools, objects give None; numbers their decimal text."""
    if isinstance(v, str):
        return None if v in ("", "None", "null") else v
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return None
        if v == int(v):
            return str(int(v))
        r = repr(v)
        return r if "e" not in r else format(Decimal(r), "f")
    return None


def metadata_string(m, key):
    v = m.get(key) if isinstance(m, dict) else None
    return v if isinstance(v, str) else ""


def conversation_key(kind, material):
    return "conv-" + hashlib.sha256(f"{kind}\x00{material}".encode()).hexdigest()[:32]


def latest_session_start(tracker):
    for e in reversed(tracker.events):
        if isinstance(e, dict) and e.get("event") == "session_started":
            ts = e.get("timestamp")
            return float(ts) if isinstance(ts, (int, float)) and not isinstance(ts, bool) else 0.0
    return 0.0


def identify_caller(tracker):
    """(number or "", conversation key): caller.go's identifyCaller."""
    session = tracker.get_slot("session_started_metadata")
    latest = (tracker.latest_message or {}).get("metadata")
    offered = ""
    for n in (metadata_string(session, "user_phone"), metadata_string(latest, "user_phone"),
              slot_text(tracker.get_slot("caller_number")) or ""):
        n = n.strip()
        if n:
            offered = n
            break
    if not offered and E164.match(tracker.sender_id or ""):
        offered = tracker.sender_id
    number = offered if E164.match(offered) and offered not in WITHHELD else ""
    call_id = ""
    for i in (metadata_string(session, "call_id"), metadata_string(latest, "call_id"),
              slot_text(tracker.get_slot("call_id")) or ""):
        i = i.strip()
        if i:
            call_id = i
            break
    if call_id:
        return number, conversation_key("call", call_id)
    return number, conversation_key("sender", f"{tracker.sender_id}@{latest_session_start(tracker):.6f}")


def slot_value_usable(slot, v):
    if slot == "card_last4":
        return spoken.last4(v)[1] is None
    if slot == "national_id":
        return spoken.national_id(v)[1] is None
    if slot == "block_reason":
        return normalise_reason(v) != ""
    if slot == "card_kind":
        return normalise_kind(v) != ""
    if slot == "block_type":
        return normalise_block_type(v) != ""
    return True


class ValidateCardBlockForm(FormValidationAction):
    """validate_card_block_form: rasa-sdk's form validation (the trailing slot
    candidates, one validate_<slot> per slot) plus the Go server's checks:
    injected slots re-checked, hand-off after repeated unusable answers, a
    non-lost card blocked permanently, and the next slot chosen in order."""

    def name(self):
        return "validate_card_block_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain):
        return FORM_SLOTS

    async def get_extraction_events(self, dispatcher, tracker, domain):
        return []  # no custom extraction, as in the Go server

    async def next_requested_slot(self, dispatcher, tracker, domain):
        return None  # chosen in run, after the checks that follow validation

    def validate_card_last4(self, value, dispatcher, tracker, domain):
        raw = slot_text(value)
        if raw is None:
            return {"card_last4": None}
        d, err = spoken.last4(raw)
        if err == spoken.CARD_NUMBER and not dispatcher.messages:
            # PCI: a full card number is refused and never echoed.
            dispatcher.utter_message(response="utter_card_number_refused")
        return {"card_last4": d}

    def validate_national_id(self, value, dispatcher, tracker, domain):
        raw = slot_text(value)
        return {"national_id": spoken.national_id(raw)[0] if raw is not None else None}

    def validate_block_reason(self, value, dispatcher, tracker, domain):
        return {"block_reason": normalise_reason(slot_text(value) or "") or None}

    def validate_card_kind(self, value, dispatcher, tracker, domain):
        return {"card_kind": normalise_kind(slot_text(value) or "") or None}

    def validate_block_type(self, value, dispatcher, tracker, domain):
        return {"block_type": normalise_block_type(slot_text(value) or "") or None}

    async def run(self, dispatcher, tracker, domain):
        candidates = [(n, v) for n, v in tracker.slots_to_validate().items() if n in FORM_SLOTS]
        events = await super().run(dispatcher, tracker, domain)  # validates; updates tracker.slots

        unusable = None
        for name, raw in candidates:
            if slot_text(raw) is not None and tracker.slots.get(name) is None:
                unusable = name
        candidated = {n for n, _ in candidates}
        current = {}
        for name in FORM_SLOTS:
            v = slot_text(tracker.slots.get(name))
            if v is None:
                continue
            if name not in candidated and not slot_value_usable(name, v):
                events.append(SlotSet(name, None))  # slots can be injected
                continue
            current[name] = v

        if unusable and self.unusable_streak(tracker, unusable) >= MAX_UNUSABLE_ANSWERS:
            dispatcher.messages.clear()
            dispatcher.utter_message(response="utter_handoff")
            return events + [SlotSet("requested_slot", None), ActiveLoop(None), FollowupAction("action_listen")]

        reason = current.get("block_reason")
        if reason and reason != "lost" and current.get("block_type") != "permanent":
            current["block_type"] = "permanent"  # only a lost card may turn up again
            events.append(SlotSet("block_type", "permanent"))

        events.append(SlotSet("requested_slot", self.next_slot(tracker, current)))
        return events

    @staticmethod
    def next_slot(tracker, current):
        if not current.get("block_reason"):
            return "block_reason"
        if not current.get("national_id"):
            number, _ = identify_caller(tracker)
            if not number or BANK.customer_by_phone(number) is None:
                return "national_id"
        if not current.get("card_last4"):
            return "card_last4"
        if current["block_reason"] == "lost" and not current.get("block_type"):
            return "block_type"
        return None

    @staticmethod
    def unusable_streak(tracker, slot):
        requested, streak = "", 0
        for e in tracker.events:
            if not isinstance(e, dict):
                continue
            kind = e.get("event")
            if kind == "slot":
                if e.get("name") == "requested_slot":
                    requested = slot_text(e.get("value")) or ""
            elif kind == "user":
                if requested != slot:
                    continue
                text = e.get("text") if isinstance(e.get("text"), str) else ""
                streak = 0 if slot_value_usable(slot, text) else streak + 1
            elif kind in ("session_started", "restart"):
                requested, streak = "", 0
        return streak or 1


def spoken_digits(s):
    return " ".join(s)


def spoken_kind(kind):
    return {"debit": "de débito", "credit": "de crédito"}.get(kind, "")


def spoken_reference(ref):
    prefix, sep, rest = ref.partition("-")
    return spoken_digits(prefix) + ", " + spoken_digits(rest) if sep else spoken_digits(ref)


def spoken_date(t):
    if t is None:
        return "hace un tiempo"
    lt = t.astimezone(MADRID)
    hour_word = "la" if lt.hour == 1 else "las"
    return f"el {lt.day} de {MONTHS[lt.month - 1]} de {lt.year} a {hour_word} {lt.hour}:{lt.minute:02d}"


class ActionVerifyLast4(Action):
    """action_verify_last4: identifies the customer (phone, else DNI/NIE),
    matches the last four digits and stores a verification bound to the
    conversation; failures are counted per conversation and per customer."""

    def name(self):
        return "action_verify_last4"

    def run(self, dispatcher, tracker, domain):
        number, key = identify_caller(tracker)
        now = utcnow()
        since = now - VERIFY_WINDOW

        customer = BANK.customer_by_phone(number) if number else None
        if customer is None:
            nid, err = spoken.national_id(slot_text(tracker.get_slot("national_id")) or "")
            customer = BANK.customer_by_national_id(nid) if err is None else None
        cid = customer.id if customer else 0
        counts = BANK.failure_counts(key, cid, since)
        if self.locked(counts, cid):
            return self.locked_reply(dispatcher, counts)

        last4, err = spoken.last4(slot_text(tracker.get_slot("card_last4")) or "")
        cards = BANK.cards_ending_in(cid, last4) if cid and err is None else []
        kind = normalise_kind(slot_text(tracker.get_slot("card_kind")) or "")
        active = [c for c in cards if (not kind or c.kind == kind) and c.status == "active"]
        blocked = [c for c in cards if (not kind or c.kind == kind) and c.status == "blocked"]

        if len(active) == 1:
            card = active[0]
            BANK.save_verification(key, cid, card.id, now, VERIFICATION_TTL)
            dispatcher.utter_message(response="utter_confirm_block", card_spoken=spoken_digits(card.last4),
                                     card_kind_spoken=spoken_kind(card.kind))
            return [SlotSet("card_verified", True), SlotSet("card_kind", card.kind),
                    SlotSet("verification_attempts", float(counts[0]))]
        if len(active) > 1:
            # The digits matched two active cards: not a failure, ask which one.
            dispatcher.utter_message(response="utter_ask_card_kind", card_spoken=spoken_digits(last4))
            return [SlotSet("card_verified", False), SlotSet("card_kind", None)]
        if blocked:
            card = blocked[0]
            BANK.save_verification(key, cid, card.id, now, VERIFICATION_TTL)
            dispatcher.utter_message(response="utter_card_already_blocked", card_spoken=spoken_digits(card.last4),
                                     block_reference=card.block_reference,
                                     reference_spoken=spoken_reference(card.block_reference),
                                     blocked_since=spoken_date(card.blocked_at))
            return [SlotSet("card_verified", True), SlotSet("card_kind", card.kind), SlotSet("card_blocked", True),
                    SlotSet("block_reference", card.block_reference or None),
                    SlotSet("verification_attempts", float(counts[0]))]

        counts = BANK.record_failure(key, cid, now, since)
        if self.locked(counts, cid):
            return self.locked_reply(dispatcher, counts) + [SlotSet("card_last4", None)]
        dispatcher.utter_message(response="utter_verification_failed")
        return [SlotSet("verification_attempts", float(counts[0])), SlotSet("card_verified", False),
                SlotSet("card_last4", None)]

    @staticmethod
    def locked(counts, cid):
        return counts[0] >= VERIFY_MAX_ATTEMPTS or (cid != 0 and counts[1] >= VERIFY_CUSTOMER_MAX_FAILURES)

    @staticmethod
    def locked_reply(dispatcher, counts):
        dispatcher.utter_message(response="utter_verification_locked")
        return [SlotSet("verification_attempts", float(counts[0])), SlotSet("verification_locked", True),
                SlotSet("card_verified", False)]
