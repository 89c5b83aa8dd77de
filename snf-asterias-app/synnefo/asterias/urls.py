# URL patterns of the compute service, mounted at the site root by the web project.
from synnefo.api.urls import urlpatterns as api_urlpatterns
from synnefo.ui.urls import urlpatterns as ui_urlpatterns

urlpatterns = list(api_urlpatterns) + list(ui_urlpatterns)
