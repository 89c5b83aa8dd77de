
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('db', '0010_vm_fault_code'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='max_invitations',
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name='Invitation',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('email', models.EmailField(max_length=254)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('sent', models.DateTimeField()),
                ('send_count', models.IntegerField(default=1)),
                ('accepted', models.DateTimeField(blank=True, null=True)),
                ('inviter', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='invitations', to='db.user')),
                ('user', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='accepted_invitation', to='db.user')),
            ],
            options={
                'db_table': 'db_invitation',
            },
        ),
    ]
