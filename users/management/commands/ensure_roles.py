from django.core.management.base import BaseCommand

from users.services import operator_group_ensure


class Command(BaseCommand):
    help = "Create or refresh the Operators group and its admin permissions (safe to run again)."

    def handle(self, *args, **options):
        group = operator_group_ensure()
        self.stdout.write(f"{group.name}: {group.permissions.count()} permissions")
