from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('db', '0003_network_subnet_names'),
    ]

    operations = [
        migrations.AddField(
            model_name='virtualmachine',
            name='nictime',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='virtualmachine',
            name='firewalltime',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
