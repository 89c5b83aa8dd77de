"""/compute/v2.1/os-keypairs: import or generate, list, show, delete."""

from synnefo.logic import keypairs as logic

from . import faults
from . import serializers as ser
from .util import api_view, empty_response, json_response, parse_body


@api_view(["GET", "POST"])
def keypairs_collection(request):
    user = request.snf_user
    if request.method == "GET":
        return json_response({"keypairs": [{"keypair": ser.keypair(kp)}
                                           for kp in logic.list_keypairs(user)]})
    spec = parse_body(request, "keypair")
    unknown = set(spec) - {"name", "public_key", "type"}
    if unknown:
        raise faults.BadRequest("'keypair' has fields this service does not support: %s. "
                                "Supported: name, public_key, type." % ", ".join(sorted(unknown)))
    if "name" not in spec:
        raise faults.BadRequest("'keypair.name' is required.")
    key_type = spec.get("type", "ssh")
    if key_type != "ssh":
        raise faults.BadRequest("'keypair.type' must be 'ssh', got %r." % (key_type,))
    public_key = spec.get("public_key")
    if public_key is not None and not isinstance(public_key, str):
        raise faults.BadRequest("'keypair.public_key' must be an OpenSSH public key string.")
    kp, private_key = logic.create_keypair(user, spec["name"], public_key)
    data = ser.keypair(kp)
    data["user_id"] = str(user.id)
    if private_key is not None:
        data["private_key"] = private_key
    return json_response({"keypair": data})


@api_view(["GET", "DELETE"])
def keypair_item(request, name):
    user = request.snf_user
    if request.method == "DELETE":
        logic.delete_keypair(user, name)
        return empty_response(202)
    return json_response({"keypair": ser.keypair(logic.get_keypair(user, name),
                                                 with_user=True)})
