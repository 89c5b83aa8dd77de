"""/ui/ (the application's page), its translation catalog, and the site root
(browsers are sent to /ui/)."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    re_path(r"^ui/?$", views.page, name="ui"),
    path("ui/jsi18n.js", views.catalog, name="ui-jsi18n"),
    path("", views.root, name="ui-root"),
]
