"""Identity's own tables: failed sign-ins (counted per account and per client address to throttle guessing)
and the SCRAM secrets of the PostgreSQL front door."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from threshold.store.models import Base


class SignInFailure(Base):
    """One failed sign-in (web, API token, CLI login). The account is the name as typed, so an unknown
    account is counted (and slowed down) exactly as a real one. Rows older than the window are pruned."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_account_at", "account", "at"),
        Index("ix_sign_in_failures_address_at", "address", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    account: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(64))


class ScramSecret(Base):
    """What checks a SCRAM-SHA-256 proof (the PostgreSQL front door) for a person's password (`token_id`
    null) or one of their tokens, derived when the plaintext passed through (`identity.scram`). All of a
    person's rows share one salt: the server sends it before it knows which secret the client holds."""

    __tablename__ = "scram_secrets"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), unique=True, default=None
    )
    salt: Mapped[str] = mapped_column(String(64))
    """Base64."""
    iterations: Mapped[int] = mapped_column(Integer)
    secret: Mapped[str] = mapped_column(String(200))
    """`StoredKey:ServerKey`, base64 each."""
