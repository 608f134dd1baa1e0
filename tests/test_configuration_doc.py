"""docs/configuration.md names every setting: a field added to the settings without its line there fails."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from threshold.settings import Settings

DOC = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text(encoding="utf-8")


def _names(model: type[BaseModel], prefix: str) -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        value = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            out += _names(type(value), f"{prefix}{name.upper()}__")
        else:
            out.append(f"{prefix}{name.upper()}")
    return out


def test_every_setting_is_documented() -> None:
    names = _names(Settings, "THRESHOLD_")
    assert len(names) > 60
    assert [n for n in names if f"`{n}`" not in DOC] == []


def test_no_setting_that_is_gone_is_documented() -> None:
    for gone in ("THRESHOLD_MAX_SHARE_BYTES", "THRESHOLD_QUERY_ROW_LIMIT", "THRESHOLD_ENGINE_MEMORY_LIMIT"):
        assert gone not in DOC
