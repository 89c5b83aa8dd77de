from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('db', '0009_image_data'),
    ]

    operations = [
        migrations.AddField(
            model_name='virtualmachine',
            name='fault_code',
            field=models.IntegerField(default=500),
        ),
    ]
