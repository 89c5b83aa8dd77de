from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('db', '0004_vm_nictime_firewalltime'),
    ]

    operations = [
        migrations.AddField(
            model_name='backendnetwork',
            name='batchjobid',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='backendnetwork',
            name='retries',
            field=models.IntegerField(default=0),
        ),
    ]
