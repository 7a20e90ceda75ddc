from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Build the deterministic demo world (running it twice changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--port",
            type=int,
            default=8000,
            help="Port the demo is served on (for the URLs printed).",
        )

    def handle(self, *args, port: int, **options):
        User = get_user_model()
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser(
                "admin", password="admin-demo-2026", role=User.Role.OPERATOR
            )
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(
            f"Demo:  {base}/\nAPI:   {base}/api/v1/\nDocs:  {base}/api/v1/docs\nAdmin: {base}/admin/  (admin / admin-demo-2026)"
        )
