import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('db', '0005_backendnetwork_batchjobid_retries'),
    ]

    operations = [
        migrations.AddField(
            model_name='token',
            name='parent',
            field=models.ForeignKey(blank=True, null=True,
                                    on_delete=django.db.models.deletion.CASCADE,
                                    related_name='children', to='db.token'),
        ),
    ]
