# URL patterns of the public APIs (compute, identity, image); filled in by synnefo.api.
urlpatterns = []
