"""/ui/ (the application's page), its translation catalog, and the site root
(browsers are sent to /ui/)."""

from django.urls import path, re_path
from django.views.i18n import JavaScriptCatalog

from . import views

urlpatterns = [
    re_path(r"^ui/?$", views.page, name="ui"),
    # the script's strings (gettext), as a same-origin script: no inline JSON needed
    path("ui/jsi18n.js", JavaScriptCatalog.as_view(packages=["synnefo.ui"]),
         name="ui-jsi18n"),
    path("", views.root, name="ui-root"),
]
