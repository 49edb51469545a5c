from django.urls import path

from . import views

urlpatterns = [
    path("categories", views.CategoriesView.as_view(), name="catalog-categories"),
    path("products", views.ProductsView.as_view(), name="catalog-products"),
    path("products/<slug:slug>", views.ProductView.as_view(), name="catalog-product"),
    path("skus/<str:sku>", views.SkuView.as_view(), name="catalog-sku"),
    path("skus/<str:sku>/stock", views.SkuStockView.as_view(), name="catalog-sku-stock"),
    path(
        "skus/<str:sku>/stock-adjustments",
        views.SkuStockAdjustmentsView.as_view(),
        name="catalog-sku-stock-adjustments",
    ),
]
