from datetime import date

from django.db import migrations

AGREEMENT_TEXT = """Electronic medical-insurance voucher user agreement

1. The voucher identifies you at designated hospitals and pharmacies and lets you query your
   medical-insurance information online.
2. Activation needs face authentication against your resident ID photo.
3. Keep your phone and its codes safe; report a lost phone to the platform at once.
4. Your data is used only for medical-insurance services, as the law provides.
"""


def create_initial_agreement(apps, schema_editor):
    Agreement = apps.get_model("cards", "EVoucherAgreement")
    Agreement.objects.get_or_create(
        version="2025.1",
        defaults={
            "title": "E-voucher user agreement",
            "text": AGREEMENT_TEXT,
            "effective_from": date(2020, 1, 1),
        },
    )


class Migration(migrations.Migration):
    dependencies = [("cards", "0003_initial")]

    operations = [migrations.RunPython(create_initial_agreement, migrations.RunPython.noop)]
