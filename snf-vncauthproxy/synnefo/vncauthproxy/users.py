"""The users file of a TCP control socket: ``user:hash`` lines, hash in SHA-512 crypt
(``$6$salt$...``, as ``openssl passwd -6`` or ``mkpasswd -m sha-512`` print it) --
the format vncauthproxy 1.5 used, so existing files keep working."""

import hmac
import warnings

with warnings.catch_warnings():
    # crypt is deprecated (removed in 3.13); bookworm's Python 3.11 has it, and it is
    # the only stdlib implementation of SHA-512 crypt.
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt


class UsersFileError(Exception):
    pass


def load_users(path):
    """{user: hash} from ``path``; UsersFileError names the file and line."""
    users = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersFileError("cannot read users file %s: %s" % (path, exc)) from None
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user or not hashed.startswith("$6$"):
            raise UsersFileError("%s, line %d: expected user:$6$salt$hash (SHA-512 crypt)"
                                 % (path, number))
        users[user] = hashed
    return users


def check_password(users, user, password):
    hashed = users.get(user)
    if not isinstance(password, str) or hashed is None:
        return False
    return hmac.compare_digest(crypt.crypt(password, hashed) or "", hashed)


def hash_password(password):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
