"""Who did a write, and through which channel, for every history record.

django-simple-history records *what* changed and *when*; the request middleware gives
it the admin user. API keys, management commands and the import worker are not
users, so each entry point opens an `audit_context` and the signal handler below copies
it onto every historical row written inside it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from django.db import models
from django.dispatch import receiver
from simple_history.manager import HistoryManager
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from organisations.models import ApiKey


class Channel(models.TextChoices):
    API = "api", "API"
    ADMIN = "admin", "Admin"
    COMMAND = "command", "Management command"
    IMPORT = "import", "Excel import"
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class Actor:
    channel: str
    user: "AbstractBaseUser | None" = None
    api_key: "ApiKey | None" = None


_current: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)


@contextmanager
def audit_context(
    *, channel: str, user: "AbstractBaseUser | None" = None, api_key: "ApiKey | None" = None
) -> Iterator[Actor]:
    actor = Actor(channel=channel, user=user, api_key=api_key)
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def begin_actor(actor: Actor) -> Token[Actor | None]:
    """For entry points whose actor is known only mid-request (see ScopedAPIMixin)."""
    return _current.set(actor)


def end_actor(token: Token[Actor | None]) -> None:
    _current.reset(token)


def current_actor() -> Actor | None:
    return _current.get()


class AuditedHistory(models.Model):
    """Extra columns on every historical model: the API key and the channel."""

    history_api_key = models.ForeignKey(
        "organisations.ApiKey",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,  # history is read per object, never by key
    )
    history_channel = models.CharField(max_length=16, choices=Channel, default=Channel.SYSTEM)

    class Meta:
        abstract = True


class HistoryManagerMadeOnce(HistoryManager):
    """simple-history makes the manager class of `instance.history` anew on every access
    (`Manager.from_queryset` builds a class: ~0.15 ms), and every save reads it to find
    the history model. Here the class is made once per queryset class."""

    @classmethod
    @cache
    def from_queryset(cls, queryset_class: Any, class_name: str | None = None) -> Any:
        return super().from_queryset(queryset_class, class_name)


class AuditedHistoricalRecords(HistoricalRecords):
    """The history of every model that keeps one: simple-history's, with the audit
    columns (AuditedHistory) and a history manager class made once.

    `plain_user_column`: history_user without a foreign key constraint or index, like
    history_api_key, for history written in bulk (the import), where each costs a
    trigger or an index insert per row. No query looks history up by its user; deleting
    a user then scans the history table to clear the column.
    """

    def __init__(self, *, plain_user_column: bool = False, **kwargs: Any) -> None:
        self.plain_user_column = plain_user_column
        if plain_user_column:
            kwargs["user_db_constraint"] = False
        super().__init__(bases=[AuditedHistory], history_manager=HistoryManagerMadeOnce, **kwargs)

    def _get_history_user_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = super()._get_history_user_fields()
        if self.plain_user_column:
            fields["history_user"].db_index = False
        return fields


def history_stamp(*, reason: str | None = None) -> dict[str, Any]:
    """The who, channel and reason columns of a history row written now: by the signal
    below for per-row saves, and by bulk writers (connections, imports) for theirs."""
    actor = current_actor()
    return {
        "history_user_id": actor.user.pk if actor and actor.user else None,
        "history_api_key_id": actor.api_key.pk if actor and actor.api_key else None,
        "history_channel": actor.channel if actor else Channel.SYSTEM,
        "history_change_reason": reason,
    }


@receiver(pre_create_historical_record)
def _stamp_actor(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    actor = current_actor()
    if actor is None:
        # Admin requests are stamped through HistoryRequestMiddleware's user.
        if history_instance.history_user_id is not None:
            history_instance.history_channel = Channel.ADMIN
        return
    stamp = history_stamp(reason=history_instance.history_change_reason)
    if stamp["history_user_id"] is None:
        del stamp["history_user_id"]  # keep the user the middleware may have set
    for name, value in stamp.items():
        setattr(history_instance, name, value)
