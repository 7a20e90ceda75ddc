"""Writes about users and their roles."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

OPERATORS_GROUP = "Operators"

# What an operator may do in the admin (always within the cities they administer).
OPERATOR_PERMISSIONS = {
    "cities": {"city": ["view", "change"]},
    "persons": {"insuredperson": ["view", "change"]},
    "employers": {"employer": ["view", "add", "change"], "employment": ["view"]},
    "cards": {
        "socialsecuritycard": ["view", "change"],
        "evoucher": ["view"],
        "evoucheragreement": ["view", "add", "change"],
        "faceauthattempt": ["view"],
    },
    "accounts": {
        "account": ["view"],
        "transfer": ["view"],
        "entry": ["view"],
        "contribution": ["view"],
        "contributionarrear": ["view"],
        "creditingrun": ["view", "change"],
        "contributioncollection": ["view", "change"],
        "crediting": ["view"],
    },
    "uploads": {"cityupload": ["view", "change"], "balancesnapshot": ["view"]},
    "institutions": {"institution": ["view", "add", "change"]},
    "settlement": {
        "settlement": ["view", "reverse"],
        "crosscityfiling": ["view", "add", "change"],
        "catalogitem": ["view"],
        "familyauthorization": ["view", "change"],
        "benefitpolicy": ["view", "change"],
        "benefitrule": ["view", "add", "change"],
        "annualusage": ["view"],
        "visit": ["view"],
        "clearingrun": ["view"],
        "clearingstatement": ["view"],
    },
    # Reviewed by the insured city's agency (an approval pays at once).
    "claims": {
        "reimbursementclaim": ["view", "change", "review"],
        "claimline": ["view"],
        "claimreceipt": ["view"],
    },
    "jobs": {"jobday": ["view"]},
    "events": {"event": ["view"]},
    "fsi": {"message": ["view"], "signin": ["view"]},
    "webhooks": {
        "webhookendpoint": ["view"],
        "webhookdelivery": ["view"],
        "webhookattempt": ["view"],
    },
    "common": {"simulatedclock": ["view", "change"]},
    "django_celery_beat": {
        "periodictask": ["view", "change"],
        "intervalschedule": ["view"],
        "crontabschedule": ["view"],
    },
}


def operator_group_ensure() -> Group:
    """The Operators group with its admin permissions (idempotent; run after migrations)."""
    with transaction.atomic():
        group, _ = Group.objects.get_or_create(name=OPERATORS_GROUP)
        wanted = []
        for app_label, models in OPERATOR_PERMISSIONS.items():
            for model, actions in models.items():
                codenames = [f"{action}_{model}" for action in actions]
                wanted.extend(
                    Permission.objects.filter(
                        content_type__app_label=app_label, codename__in=codenames
                    )
                )
        group.permissions.set(wanted)
        return group


def operator_create(*, username: str, password: str, cities, superuser: bool = False):
    from users.models import User

    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(
            username=username, role=User.Role.OPERATOR, is_staff=True, is_superuser=superuser
        )
        user.set_password(password)
        user.save()
        user.cities.set(cities)
        if not superuser:
            user.groups.add(operator_group_ensure())
    return user


def terminal_create(*, username: str, password: str, institution):
    from users.models import User

    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, role=User.Role.INSTITUTION, institution=institution)
        user.set_password(password)
        user.save()
    return user
