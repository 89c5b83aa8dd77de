# URL patterns of the compute service, mounted at the site root by the web project.
from synnefo.admin.urls import urlpatterns as admin_urlpatterns
from synnefo.api.urls import urlpatterns as api_urlpatterns
from synnefo.ui.urls import urlpatterns as ui_urlpatterns

urlpatterns = list(admin_urlpatterns) + list(api_urlpatterns) + list(ui_urlpatterns)
