from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('db', '0008_vm_user_data'),
    ]

    operations = [
        migrations.AddField(
            model_name='virtualmachine',
            name='fault_code',
            field=models.IntegerField(default=500),
        ),
    ]
