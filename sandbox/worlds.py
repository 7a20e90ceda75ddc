"""Sandbox developers' own worlds, each on a clock of its own (Stripe test-clock style).

A developer signs up (a login of the DEVELOPER role), creates worlds and builds scenario persons in
them. A world's cities are the sandbox's city profiles under division codes of its own, on the
world's clock: advancing it runs that world's due work alone, and nobody else's world (nor the
shared demo world) moves. The developer administers their worlds' cities as an operator does
theirs, so the access rules that keep operators to their cities keep developers to their worlds.
Deleting a world erases every row in it, in one transaction.
"""

import secrets
from collections import defaultdict
from datetime import datetime

from django.apps import apps
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from knox.models import AuthToken

from cities.models import City
from common import clock
from common.errors import DomainError
from common.models import SimulatedClock
from sandbox.error_codes import SandboxErrorCode
from sandbox.models import WORLD_SLOTS, SandboxWorld
from sandbox.world import CITY_PROFILES, sandbox_city
from users.models import User


def developer_create(*, username: str | None = None) -> tuple[User, str]:
    """A new sandbox developer login and its API token (shown once)."""
    with transaction.atomic():
        user = User(username=username or f"dev-{secrets.token_hex(4)}", role=User.Role.DEVELOPER)
        user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        _, token = AuthToken.objects.create(user, expiry=None)
    return user, token


def _free_slot() -> int:
    taken = set(SandboxWorld.objects.values_list("slot", flat=True))
    for slot in range(1, WORLD_SLOTS + 1):
        if slot not in taken:
            return slot
    raise DomainError(SandboxErrorCode.WORLDS_FULL)


def world_create(*, owner: User, name: str = "", starting_at: datetime | None = None):
    """A new, empty world of ``owner``'s, its clock at ``starting_at`` (default: the shared
    clock's time, so a new world starts where the demo world is)."""
    if owner.role != User.Role.DEVELOPER:
        raise DomainError(SandboxErrorCode.DEVELOPER_ONLY)
    starting_at = starting_at or clock.now(clock.SHARED_CLOCK_ID)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                slot = _free_slot()
                world_clock = SimulatedClock.objects.create(pk=slot + 1, now=starting_at)
                world = SandboxWorld.objects.create(
                    owner=owner, name=name, slot=slot, clock=world_clock
                )
            # A world once deleted may have left its clock's time in the cache.
            clock.forget_cached_now(world_clock.pk)
            return world
        except IntegrityError:
            continue  # another world took the slot at the same moment: take the next free one
    raise DomainError(SandboxErrorCode.WORLDS_FULL)


def worlds_of(owner: User) -> models.QuerySet:
    return SandboxWorld.objects.filter(owner=owner).select_related("clock")


def world_get(*, owner: User, world_id) -> SandboxWorld:
    """``owner``'s world ``world_id``; anyone else's, or none, answers WORLD_NOT_FOUND."""
    try:
        world_id = int(world_id)
    except (TypeError, ValueError):
        raise DomainError(SandboxErrorCode.WORLD_NOT_FOUND) from None
    world = worlds_of(owner).filter(pk=world_id).first()
    if world is None:
        raise DomainError(SandboxErrorCode.WORLD_NOT_FOUND)
    return world


def world_current(owner: User, world_id=None) -> SandboxWorld | None:
    """The world a developer's request acts in: the one named, else their newest (None if they
    have none)."""
    if world_id not in (None, ""):
        return world_get(owner=owner, world_id=world_id)
    return worlds_of(owner).order_by("-id").first()


def world_city(world: SandboxWorld, profile_key: str, *, by=None) -> City:
    """The world's city of a profile, provisioned (with its accounts) the first time; its
    developer administers it."""
    index = list(CITY_PROFILES).index(profile_key)
    profile = CITY_PROFILES[profile_key]
    city = sandbox_city(
        profile_key,
        by=by,
        code=world.city_code(index),
        name=f"{profile.name} (world {world.pk})"[:64],
        name_zh=f"{profile.name_zh} (沙箱世界 {world.pk})"[:64],
        clock_id=world.clock_id,
    )
    world.owner.cities.add(city)
    return city


def world_cities(world: SandboxWorld) -> models.QuerySet:
    return City.objects.filter(clock_id=world.clock_id)


# --- Deleting a world -------------------------------------------------------------------------


def _children_by_model() -> dict[type, list[tuple[type, str]]]:
    """For every model, the models (history and many-to-many link tables included) whose foreign
    keys point at it, and the column that does."""
    children = defaultdict(list)
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy:
            continue
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is not None:
                target = field.related_model._meta.concrete_model
                children[target].append((model, field.attname))
    return children


def _world_rows(world: SandboxWorld) -> dict[type, set]:
    """Every row in the world: its cities, the logins of its persons, and everything that points
    at them, down to the last link; the transfers its ledger entries belong to, with theirs."""
    from accounts.models import Entry, Transfer
    from persons.models import InsuredPerson

    children = _children_by_model()
    rows: dict[type, set] = defaultdict(set)
    pending: list[tuple[type, set]] = []

    def add(model, ids) -> None:
        model = model._meta.concrete_model
        new = set(ids) - rows[model]
        if new:
            rows[model] |= new
            pending.append((model, new))

    city_ids = set(world_cities(world).values_list("id", flat=True))
    add(City, city_ids)
    add(
        User,
        InsuredPerson.objects.filter(city_id__in=city_ids)
        .exclude(user_id=None)
        .values_list("user_id", flat=True),
    )
    while pending:
        model, ids = pending.pop()
        for child, column in children.get(model, ()):
            found = child._base_manager.filter(**{f"{column}__in": ids}).values_list(
                "pk", flat=True
            )
            add(child, found)
            if child is Entry:
                add(
                    Transfer,
                    Entry.objects.filter(pk__in=rows[Entry]).values_list("transfer_id", flat=True),
                )
        if not pending:
            # The audit history of the rows found (kept by id, not by a foreign key).
            for history in _history_models():
                if history.instance_type in rows:
                    ids = rows[history.instance_type]
                    add(
                        history,
                        history._base_manager.filter(id__in=ids).values_list("pk", flat=True),
                    )
    return rows


def _history_models() -> list[type]:
    return [
        model
        for model in apps.get_models()
        if getattr(model, "instance_type", None) is not None and hasattr(model, "history_id")
    ]


def world_delete(*, world: SandboxWorld) -> dict[str, int]:
    """Erase the world and every row in it, in one transaction; nothing outside it changes. A
    world whose money moved to or from an account outside it (a person of it settled at a demo
    institution) is refused with WORLD_ENTANGLED: deleting it would rewrite another world's
    books."""
    from accounts.models import Account, Entry

    with transaction.atomic():
        world = SandboxWorld.objects.select_for_update().get(pk=world.pk)
        SimulatedClock.objects.select_for_update().get(pk=world.clock_id)
        rows = _world_rows(world)
        outside = Entry.objects.filter(transfer_id__in=rows.get(_transfer_model(), ())).exclude(
            account_id__in=rows.get(Account, ())
        )
        if outside.exists():
            raise DomainError(SandboxErrorCode.WORLD_ENTANGLED)
        with connection.cursor() as cursor:
            # The ledger's rows are kept for good everywhere but in a world being erased: its
            # immutability triggers let this transaction's deletes through (migration 0002).
            cursor.execute("SET LOCAL yibao.erasing_sandbox_world = 'on'")
        erased = {}
        for model, ids in rows.items():
            if ids:
                erased[model._meta.label] = model._base_manager.filter(pk__in=ids)._raw_delete(
                    connection.alias
                )
        clock_id = world.clock_id
        SandboxWorld.objects.filter(pk=world.pk).delete()
        SimulatedClock.objects.filter(pk=clock_id).delete()
        _forget_jobs_of_clock(clock_id)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL yibao.erasing_sandbox_world = 'off'")
        transaction.on_commit(lambda: clock.forget_cached_now(clock_id))
    return {label: count for label, count in erased.items() if count}


def _transfer_model():
    from accounts.models import Transfer

    return Transfer


def _forget_jobs_of_clock(clock_id: int) -> None:
    from jobs.models import JobDay

    JobDay.objects.filter(clock=clock_id).delete()


def worlds_now(world: SandboxWorld) -> datetime:
    return clock.now(world.clock_id) if world else timezone.now()
