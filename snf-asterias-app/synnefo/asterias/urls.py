# URL patterns of the compute service, mounted at the site root by the web project.
urlpatterns = []
