"""/admin/ (pages) and /admin/api/ (JSON); mounted before the public APIs."""

from django.urls import re_path

from . import api, views

OP = r"(?P<operation>[a-z]+\.[a-z]+)"

urlpatterns = [
    re_path(r"^admin/?$", views.dashboard),
    re_path(r"^admin/login/$", views.sign_in),
    re_path(r"^admin/logout/$", views.sign_out),
    re_path(r"^admin/do/%s/$" % OP, views.act),
    re_path(r"^admin/users/$", views.users),
    re_path(r"^admin/users/(?P<ident>[^/]+)/$", views.user),
    re_path(r"^admin/servers/$", views.servers),
    re_path(r"^admin/servers/(?P<server_id>[0-9]+)/$", views.server),
    re_path(r"^admin/flavors/$", views.flavors),
    re_path(r"^admin/images/$", views.images),
    re_path(r"^admin/networks/$", views.networks),
    re_path(r"^admin/invitations/$", views.invitations),
    re_path(r"^admin/backends/$", views.backends),
    re_path(r"^admin/deadletters/$", views.queues),
    re_path(r"^admin/audit/$", views.audit),
    # the admin API
    re_path(r"^admin/api/dashboard/?$", api.dashboard),
    re_path(r"^admin/api/users/?$", api.users),
    re_path(r"^admin/api/users/(?P<ident>[^/]+)/?$", api.user),
    re_path(r"^admin/api/servers/?$", api.servers),
    re_path(r"^admin/api/servers/(?P<server_id>[^/]+)/?$", api.server),
    re_path(r"^admin/api/flavors/?$", api.flavors),
    re_path(r"^admin/api/images/?$", api.images),
    re_path(r"^admin/api/networks/?$", api.networks),
    re_path(r"^admin/api/invitations/?$", api.invitations),
    re_path(r"^admin/api/backends/?$", api.backends),
    re_path(r"^admin/api/deadletters/?$", api.queues),
    re_path(r"^admin/api/deadletters/(?P<name>[^/]+)/?$", api.queue),
    re_path(r"^admin/api/audit/?$", api.audit),
    re_path(r"^admin/api/actions/(?P<operation>[^/]+)/?$", api.action),
]
