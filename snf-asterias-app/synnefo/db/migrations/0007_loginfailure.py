from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('db', '0006_token_parent'),
    ]

    operations = [
        migrations.CreateModel(
            name='LoginFailure',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False,
                                        verbose_name='ID')),
                ('key', models.CharField(max_length=64)),
                ('created', models.DateTimeField(db_index=True)),
            ],
            options={
                'db_table': 'db_loginfailure',
                'indexes': [models.Index(fields=['key', 'created'],
                                         name='db_loginfailure_key_time')],
            },
        ),
    ]
