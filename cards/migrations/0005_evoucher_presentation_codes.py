"""The e-voucher has no standing code any more: a person shows a short-lived presentation code
(the dynamic QR code), kept only as a digest, at most one current per voucher. The standing codes
(and their copies in the history table) are dropped: they worked for anyone who had read them.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cards', '0004_initial_agreement'),
    ]

    operations = [
        migrations.CreateModel(
            name='EVoucherPresentationCode',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(editable=False, max_length=64, unique=True)),
                ('issued_at', models.DateTimeField()),
                ('expires_at', models.DateTimeField()),
                ('retired_at', models.DateTimeField(blank=True, help_text='When a newer code replaced this one.', null=True)),
                ('request_id', models.CharField(blank=True, max_length=64)),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.RemoveConstraint(
            model_name='evoucher',
            name='activated_evoucher_has_code',
        ),
        migrations.RemoveField(
            model_name='evoucher',
            name='code',
        ),
        migrations.RemoveField(
            model_name='historicalevoucher',
            name='code',
        ),
        migrations.AddField(
            model_name='evoucherpresentationcode',
            name='evoucher',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='presentation_codes', to='cards.evoucher'),
        ),
        migrations.AddConstraint(
            model_name='evoucherpresentationcode',
            constraint=models.UniqueConstraint(condition=models.Q(('retired_at__isnull', True)), fields=('evoucher',), name='one_current_presentation_code_per_evoucher'),
        ),
        migrations.AddConstraint(
            model_name='evoucherpresentationcode',
            constraint=models.CheckConstraint(condition=models.Q(('expires_at__gt', models.F('issued_at'))), name='presentation_code_expires_after_issue'),
        ),
    ]
