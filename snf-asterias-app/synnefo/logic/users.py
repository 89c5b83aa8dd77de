"""Users of the compute service: creation, passwords, flags, quota overrides."""

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction

from synnefo.db.models import User

from .errors import InvalidInput, NotFound
from .ids import parse_id

QUOTA_FIELDS = ("max_servers", "max_cores", "max_ram", "max_disk", "max_networks",
                "max_image_space")


def get_user(name_or_id):
    """The user with this numeric id or name; NotFound otherwise."""
    query = User.objects.all()
    text = str(name_or_id)
    try:
        if text.isdigit():
            return query.get(pk=parse_id(text))
        return query.get(name=text)
    except User.DoesNotExist:
        raise NotFound("No user %r (give a user name or numeric id)." % text) from None


def _check_name(name):
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise InvalidInput("A user name must be 1-100 characters, got %r." % (name,))
    if name.isdigit():
        raise InvalidInput("A user name cannot be all digits (it would look like an id): %r."
                           % name)


def _check_quota(field, value):
    if value is not None and (not isinstance(value, int) or value < 0):
        raise InvalidInput("Quota %s must be a non-negative integer, got %r." % (field, value))


def create_user(name, email="", password=None, is_admin=False, **quotas):
    _check_name(name)
    for field, value in quotas.items():
        if field not in QUOTA_FIELDS:
            raise InvalidInput("Unknown quota %r; known: %s." % (field, ", ".join(QUOTA_FIELDS)))
        _check_quota(field, value)
    user = User(name=name, email=email or "", is_admin=bool(is_admin), **quotas)
    user.password = make_password(password) if password else ""
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise InvalidInput("A user named %r already exists." % name) from None
    return user


def set_password(user, password):
    if not password:
        raise InvalidInput("The password must not be empty.")
    user.password = make_password(password)
    user.save(update_fields=["password", "updated"])


def modify_user(user, is_admin=None, state=None, email=None, **quotas):
    """Change flags and quota overrides; a quota value of None keeps it, -1 resets it."""
    fields = ["updated"]
    if is_admin is not None:
        user.is_admin = bool(is_admin)
        fields.append("is_admin")
    if state is not None:
        if state not in dict(User.STATES):
            raise InvalidInput("State must be one of %s, got %r."
                               % (", ".join(dict(User.STATES)), state))
        user.state = state
        fields.append("state")
    if email is not None:
        user.email = email
        fields.append("email")
    for field, value in quotas.items():
        if field not in QUOTA_FIELDS:
            raise InvalidInput("Unknown quota %r; known: %s." % (field, ", ".join(QUOTA_FIELDS)))
        if value is None:
            continue
        if value == -1:
            value = None
        _check_quota(field, value)
        setattr(user, field, value)
        fields.append(field)
    user.save(update_fields=fields)
    return user
