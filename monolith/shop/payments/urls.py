from django.urls import path

from . import views

# Included under "api/payments" (no trailing slash), hence the leading slash below.
urlpatterns = [
    path("", views.PaymentListView.as_view(), name="payments-list"),
    path("/<uuid:payment_id>", views.PaymentDetailView.as_view(), name="payments-detail"),
]
