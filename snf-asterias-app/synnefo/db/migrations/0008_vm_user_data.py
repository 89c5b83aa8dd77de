from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('db', '0007_loginfailure'),
    ]

    operations = [
        migrations.AddField(
            model_name='virtualmachine',
            name='user_data',
            field=models.TextField(blank=True, default=''),
        ),
    ]
