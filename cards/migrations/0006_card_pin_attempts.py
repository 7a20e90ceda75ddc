"""A card pays from a personal account only with its PIN: wrong PINs in a row are counted on the
card, and too many lock its PIN until the end of the day."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cards', '0005_evoucher_presentation_codes'),
    ]

    operations = [
        migrations.AddField(
            model_name='socialsecuritycard',
            name='pin_failures',
            field=models.PositiveSmallIntegerField(default=0, editable=False, help_text='Wrong PINs entered in a row at a terminal.'),
        ),
        migrations.AddField(
            model_name='socialsecuritycard',
            name='pin_locked_until',
            field=models.DateTimeField(blank=True, editable=False, help_text='After too many wrong PINs the card pays from no account until then.', null=True),
        ),
    ]
