"""Included as ``path("api/orders", ...)``: the patterns start with "/" (APPEND_SLASH is off)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.OrdersView.as_view(), name="orders"),
    path("/checkout", views.CheckoutView.as_view(), name="orders-checkout"),
    path("/<uuid:order_id>", views.OrderDetailView.as_view(), name="orders-detail"),
    path("/<uuid:order_id>/pay", views.OrderPayView.as_view(), name="orders-pay"),
    path("/<uuid:order_id>/cancel", views.OrderCancelView.as_view(), name="orders-cancel"),
    path("/<uuid:order_id>/fulfil", views.OrderFulfilView.as_view(), name="orders-fulfil"),
]
