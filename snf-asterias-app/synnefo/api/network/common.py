"""What the Neutron-shaped views share: body and name checks, list filters, and the
GET/PUT/DELETE of one item."""

from .. import faults
from ..util import empty_response, json_response, parse_body


def text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def filtered(request, items, names):
    wanted = {k: request.GET.getlist(k) for k in names if k in request.GET}
    out = []
    for item in items:
        if all(text(item.get(k)).lower() in [v.lower() for v in values]
               if isinstance(item.get(k), bool) else text(item.get(k)) in values
               for k, values in wanted.items()):
            out.append(item)
    return out


def body(request, key, allowed):
    spec = parse_body(request, key)
    unknown = set(spec) - set(allowed)
    if unknown:
        raise faults.BadRequest("'%s' has attributes this service does not support: %s."
                                % (key, ", ".join(sorted(unknown))))
    return spec


def name_of(spec, key):
    name = spec.get("name", "")
    if name is None:
        name = ""
    if not isinstance(name, str):
        raise faults.BadRequest("'%s.name' must be a string." % key)
    return name


def check_booleans(spec, key, fields):
    for field in fields:
        if spec.get(field) not in (None, False, True):
            raise faults.BadRequest("'%s.%s' must be a boolean." % (key, field))


def item(request, key, item_id, delete, rename, show,
          put_keys=("name", "description", "admin_state_up")):
    """GET, PUT or DELETE of one network, subnet or port: DELETE answers 204; PUT may
    change only the name; GET and PUT answer ``{key: show(user, item_id)}``."""
    user = request.snf_user
    if request.method == "DELETE":
        delete(user, item_id)
        return empty_response(204)
    if request.method == "PUT":
        spec = body(request, key, put_keys)
        if "name" in spec:
            rename(user, item_id, name_of(spec, key))
    return json_response({key: show(user, item_id)})
