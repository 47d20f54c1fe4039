"""One request model: every kind's steps and profile in one registry, one vocabulary for all."""

from __future__ import annotations

from models import after_sales_machine, cancellation_states
from models.after_sales_machine import AfterSaleKind
from models.request_kinds import AFTER_SALE_DEADLINES, PROFILES, profile_of
from models.requests import Initiator, RequestKind
from storage.cancellations import REQUESTS
from tests.unit.test_cancellation_rules import pending

AFTER_SALE_PROFILES = {k: profile_of(k) for k in AfterSaleKind}


def test_every_kind_has_a_profile_whose_table_holds_only_steps_of_its_kind() -> None:
    assert set(PROFILES) == set(RequestKind)
    assert PROFILES[RequestKind.CANCELLATION].table is cancellation_states.TRANSITIONS
    for kind, profile in AFTER_SALE_PROFILES.items():
        assert profile is profile_of(kind) is PROFILES[RequestKind(kind.value)]
        assert all(not t.kinds or kind in t.kinds for t in profile.table)
    shared = {t for p in AFTER_SALE_PROFILES.values() for t in p.table}
    assert shared == set(after_sales_machine.TRANSITIONS)


def test_each_platform_deadline_is_named_once_for_the_worker() -> None:
    windows = [rule.window for p in PROFILES.values() for rule in p.platform_deadlines.values()]
    assert None not in windows
    assert len(set(windows)) == len(set(AFTER_SALE_DEADLINES)) + 1  # + the cancellations' C6


def test_only_a_replacement_or_a_return_needs_a_delivered_order() -> None:
    needs = {k for k, p in AFTER_SALE_PROFILES.items() if p.needs_delivery}
    assert needs == {AfterSaleKind.RETURN_AND_REFUND, AfterSaleKind.REPLACEMENT}


def test_a_cancellation_stored_as_system_initiated_reads_as_the_platform() -> None:
    c, _ = pending()
    doc = REQUESTS.to_doc(c)
    doc["initiator"] = "SYSTEM"  # the spelling cancellations were stored with before
    assert REQUESTS.from_doc(doc).initiator is Initiator.PLATFORM
    assert Initiator("PLATFORM") is Initiator.PLATFORM
