"""Tortoise models of the digest bot.

Every datetime column stores aware UTC values: ``UtcDatetimeField`` rejects naive values
instead of guessing their zone, and converts aware values from other zones to UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class UtcDatetimeField(fields.DatetimeField[datetime]):
    """A datetime column that only accepts aware values and stores them in UTC."""

    def to_db_value(self, value: Any, instance: Any) -> Any:
        return super().to_db_value(self._checked(value), instance)

    def to_python_value(self, value: Any) -> Any:
        return super().to_python_value(self._checked(value))

    def _checked(self, value: Any) -> Any:
        if not isinstance(value, datetime):
            return value
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"{self.model_field_name} got a naive datetime {value.isoformat()}; "
                "pass an aware datetime, for example datetime.now(UTC)"
            )
        return value.astimezone(UTC)


class ChannelState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    UNAVAILABLE = "unavailable"


class PostState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class DigestState(StrEnum):
    OPEN = "open"
    SENDING = "sending"
    SENT = "sent"


class AccountState(StrEnum):
    ACTIVE = "active"
    COOLING = "cooling"
    PARKED = "parked"
    DISABLED = "disabled"


class Reader(Model):
    id = fields.IntField(primary_key=True)
    telegram_user_id = fields.BigIntField(unique=True)
    chat_id = fields.BigIntField()
    language = fields.CharField(max_length=8, default="ru")
    time_zone = fields.CharField(max_length=64, default="UTC")
    delivery_times: Any = fields.JSONField(default=list)
    next_delivery_at = UtcDatetimeField(null=True)
    is_active = fields.BooleanField(default=True)
    created_at = UtcDatetimeField(auto_now_add=True)
    updated_at = UtcDatetimeField(auto_now=True)

    class Meta:
        table = "reader"
        indexes = (Index(fields=("is_active", "next_delivery_at"), name="ix_reader_due"),)


class Channel(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=32, null=True, unique=True)
    title = fields.CharField(max_length=255, default="")
    telegram_id = fields.BigIntField(null=True, unique=True)
    cursor = fields.BigIntField(null=True)
    state = fields.CharEnumField(ChannelState, max_length=16, default=ChannelState.ACTIVE)
    state_reason = fields.CharField(max_length=255, default="")
    created_at = UtcDatetimeField(auto_now_add=True)
    updated_at = UtcDatetimeField(auto_now=True)

    class Meta:
        table = "channel"

    async def save(self, *args: Any, **kwargs: Any) -> None:
        """Store the username in lower case, so that uniqueness ignores case."""
        if self.username is not None:
            self.username = normalize_username(self.username)
        await super().save(*args, **kwargs)


def normalize_username(username: str) -> str:
    """Return a channel username without ``@`` and in lower case."""
    return username.strip().removeprefix("@").lower()


class Tone(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    title_ru = fields.CharField(max_length=64)
    title_en = fields.CharField(max_length=64)
    instruction = fields.TextField()
    is_builtin = fields.BooleanField(default=False)
    created_by: fields.ForeignKeyNullableRelation[Reader] = fields.ForeignKeyField(
        "models.Reader", related_name="custom_tones", null=True, on_delete=fields.SET_NULL
    )
    created_at = UtcDatetimeField(auto_now_add=True)

    class Meta:
        table = "tone"


class Subscription(Model):
    id = fields.IntField(primary_key=True)
    reader: fields.ForeignKeyRelation[Reader] = fields.ForeignKeyField(
        "models.Reader", related_name="subscriptions", on_delete=fields.CASCADE
    )
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "models.Channel", related_name="subscriptions", on_delete=fields.CASCADE
    )
    tone: fields.ForeignKeyRelation[Tone] = fields.ForeignKeyField(
        "models.Tone", related_name="subscriptions", on_delete=fields.RESTRICT
    )
    is_active = fields.BooleanField(default=True)
    created_at = UtcDatetimeField(auto_now_add=True)

    class Meta:
        table = "subscription"
        unique_together = (("reader", "channel"),)
        indexes = (Index(fields=("channel_id", "is_active", "tone_id"), name="ix_sub_channel"),)


class Post(Model):
    id = fields.IntField(primary_key=True)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "models.Channel", related_name="posts", on_delete=fields.CASCADE
    )
    message_id = fields.BigIntField()
    text = fields.TextField(default="")
    link = fields.CharField(max_length=255, null=True)
    published_at = UtcDatetimeField()
    edited_at = UtcDatetimeField(null=True)
    album_id = fields.CharField(max_length=64, null=True)
    media = fields.CharField(max_length=255, default="")
    description = fields.TextField(default="")
    forwarded_from = fields.CharField(max_length=255, null=True)
    state = fields.CharEnumField(PostState, max_length=16, default=PostState.PENDING)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
    created_at = UtcDatetimeField(auto_now_add=True)
    updated_at = UtcDatetimeField(auto_now=True)

    class Meta:
        table = "post"
        unique_together = (("channel", "message_id"),)
        indexes = (Index(fields=("state", "id"), name="ix_post_state"),)


class ChatGPTAccount(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    api_key = fields.TextField()
    base_url = fields.CharField(max_length=255, default="https://api.openai.com/v1")
    model = fields.CharField(max_length=128, default="gpt-4o-mini")
    weight = fields.FloatField(default=1.0)
    requests_per_minute = fields.IntField(default=500)
    tokens_per_minute = fields.IntField(default=200_000)
    max_concurrency = fields.IntField(default=8)
    state = fields.CharEnumField(AccountState, max_length=16, default=AccountState.ACTIVE)
    cooldown_until = UtcDatetimeField(null=True)
    state_reason = fields.CharField(max_length=255, default="")
    consecutive_failures = fields.IntField(default=0)
    requests_total = fields.BigIntField(default=0)
    failures_total = fields.BigIntField(default=0)
    invalid_outputs_total = fields.BigIntField(default=0)
    prompt_tokens_total = fields.BigIntField(default=0)
    completion_tokens_total = fields.BigIntField(default=0)
    last_used_at = UtcDatetimeField(null=True)
    created_at = UtcDatetimeField(auto_now_add=True)
    updated_at = UtcDatetimeField(auto_now=True)

    class Meta:
        table = "chatgpt_account"

    def __str__(self) -> str:
        return f"{self.name} ({mask_secret(self.api_key)}, {self.model} at {self.base_url})"

    def __repr__(self) -> str:
        return f"<ChatGPTAccount id={self.id} name={self.name!r} key={mask_secret(self.api_key)}>"


def mask_secret(secret: str) -> str:
    """Return a key shortened to its first 3 and last 4 characters."""
    if len(secret) <= 10:
        return "***"
    return f"{secret[:3]}…{secret[-4:]}"


class Summary(Model):
    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="summaries", on_delete=fields.CASCADE
    )
    tone: fields.ForeignKeyRelation[Tone] = fields.ForeignKeyField(
        "models.Tone", related_name="summaries", on_delete=fields.RESTRICT
    )
    text = fields.TextField()
    is_original = fields.BooleanField(default=False)
    fallback_reason = fields.CharField(max_length=255, default="")
    account: fields.ForeignKeyNullableRelation[ChatGPTAccount] = fields.ForeignKeyField(
        "models.ChatGPTAccount", related_name="summaries", null=True, on_delete=fields.SET_NULL
    )
    prompt_tokens = fields.IntField(default=0)
    completion_tokens = fields.IntField(default=0)
    created_at = UtcDatetimeField(auto_now_add=True)

    class Meta:
        table = "summary"
        unique_together = (("post", "tone"),)


class Digest(Model):
    id = fields.IntField(primary_key=True)
    reader: fields.ForeignKeyRelation[Reader] = fields.ForeignKeyField(
        "models.Reader", related_name="digests", on_delete=fields.CASCADE
    )
    state = fields.CharEnumField(DigestState, max_length=16, default=DigestState.OPEN)
    created_at = UtcDatetimeField(auto_now_add=True)
    updated_at = UtcDatetimeField(auto_now=True)
    sent_at = UtcDatetimeField(null=True)
    # The reader's id while the digest is open and NULL afterwards: the unique constraint
    # allows one open digest per reader on SQLite and PostgreSQL alike.
    open_for_reader = fields.IntField(null=True, unique=True)

    class Meta:
        table = "digest"
        indexes = (Index(fields=("reader_id", "state"), name="ix_digest_reader_state"),)


class DigestItem(Model):
    id = fields.IntField(primary_key=True)
    digest: fields.ForeignKeyRelation[Digest] = fields.ForeignKeyField(
        "models.Digest", related_name="items", on_delete=fields.CASCADE
    )
    summary: fields.ForeignKeyRelation[Summary] = fields.ForeignKeyField(
        "models.Summary", related_name="digest_items", on_delete=fields.CASCADE
    )
    created_at = UtcDatetimeField(auto_now_add=True)

    class Meta:
        table = "digest_item"
        unique_together = (("digest", "summary"),)
