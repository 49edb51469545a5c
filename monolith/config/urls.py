"""URL map. Each context owns one path prefix, which is also the strangler proxy's route key:

/api/users/...  /api/catalog/...  /api/cart...  /api/orders/...
/api/payments/...  /api/notifications/...
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from shop.common import health
from shop.users.views import WellKnownJwksView

urlpatterns = [
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(".well-known/jwks.json", WellKnownJwksView.as_view(), name="well-known-jwks"),
    path("api/users/", include("shop.users.urls")),
    path("api/catalog/", include("shop.catalog.urls")),
    path("api/cart", include("shop.cart.urls")),
    path("api/orders", include("shop.orders.urls")),
    path("api/payments", include("shop.payments.urls")),
    path("api/notifications", include("shop.notifications.urls")),
]

handler400 = "shop.common.errors.handler400"
handler403 = "shop.common.errors.handler403"
handler404 = "shop.common.errors.handler404"
handler500 = "shop.common.errors.handler500"
