from django.conf import settings
from django.urls import path, re_path
from django.views.static import serve

from . import plugins, views

urlpatterns = plugins.url_patterns()
handler400 = views.bad_request

# An unexpected error answers a JSON fault with the request id (logged with the traceback).
handler500 = "synnefo.webproject.requestid.server_error"

if settings.WEBPROJECT_SERVE_STATIC:
    urlpatterns.append(re_path(r"^%s/(?P<path>.*)$" % settings.STATIC_URL.strip("/"),
                               serve, {"document_root": settings.STATIC_ROOT}))

# Fallback landing page when no installed app claims the site root.
urlpatterns.append(path("", views.index, name="webproject-index"))
