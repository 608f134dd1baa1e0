"""The bounded, expiring map behind prepared reads and kept read decisions (threshold.kept)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from threshold.kept import Kept, kept_on


def test_the_least_recently_used_goes_first_when_full() -> None:
    kept: Kept[str] = Kept(2)
    kept.put("a", "A")
    kept.put("b", "B")
    assert kept.get("a") == "A"  # a is now the most recent
    kept.put("c", "C")
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == ("A", None, "C")
    assert len(kept) == 2


def test_an_entry_whose_moment_has_come_is_forgotten() -> None:
    kept: Kept[int] = Kept(10)
    now = datetime.now(UTC)
    kept.put("ended", 1, now - timedelta(seconds=1))
    kept.put("later", 2, now + timedelta(hours=1))
    kept.put("always", 3)
    assert (kept.get("ended"), kept.get("later"), kept.get("always")) == (None, 2, 3)
    assert len(kept) == 2


def test_an_owner_keeps_one_per_name() -> None:
    class Owner:
        pass

    owner = Owner()
    first = kept_on(owner, "_things", lambda: Kept[int](4))
    first.put("k", 7)
    assert kept_on(owner, "_things", lambda: Kept[int](4)) is first
    assert kept_on(owner, "_others", lambda: Kept[int](4)) is not first


def test_get_or_make_makes_once_per_key_and_keeps_it() -> None:
    kept: Kept[str] = Kept(4)
    made: list[str] = []

    def make(key: str) -> str:
        made.append(key)
        return key.upper()

    assert [kept.get_or_make(k, lambda k=k: make(k)) for k in ("a", "b", "a", "a", "b")] == ["A", "B", "A", "A", "B"]
    assert made == ["a", "b"]
    assert kept.get("a") == "A"
