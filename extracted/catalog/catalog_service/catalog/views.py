"""The public catalog API: the monolith's /api/catalog/... paths, bodies and errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from servicekit.auth import IsStaff

from . import selectors, services
from .errors import NotFound
from .models import Product
from .pagination import Pagination
from .serializers import (
    CategoryIn,
    CategoryOut,
    ProductIn,
    ProductListParams,
    ProductOut,
    ProductPatchIn,
    StockAdjustmentIn,
    StockOut,
    VariantOut,
    VariantPatchIn,
)

SLUG = OpenApiParameter("slug", str, OpenApiParameter.PATH, description="The product's slug.")
SKU = OpenApiParameter("sku", str, OpenApiParameter.PATH, description="The variant's SKU.")


class PublicReadStaffWrite(APIView):
    """GET for anyone; other methods for staff (anonymous: 401, a customer: 403)."""

    def get_permissions(self) -> Sequence[BasePermission]:
        if self.request.method in SAFE_METHODS:
            return [AllowAny()]
        return [IsAuthenticated(), IsStaff()]


def _product(slug: str, *, include_inactive: bool = False) -> Product:
    product = selectors.product_get(slug=slug, include_inactive=include_inactive)
    if product is None:
        raise NotFound(f"No product {slug!r}.")
    return product


def _variant_input(data: dict[str, Any]) -> services.VariantInput:
    return services.VariantInput(
        sku=data["sku"],
        name=data["name"],
        price=data["price"],
        currency=data["currency"],
        attributes=data["attributes"],
        on_hand=data["on_hand"],
    )


class CategoriesView(PublicReadStaffWrite):
    @extend_schema(responses={200: CategoryOut(many=True)}, operation_id="catalog_categories_list")
    def get(self, request: Request) -> Response:
        """Every category."""
        return Response(CategoryOut(selectors.categories_list(), many=True).data)

    @extend_schema(
        request=CategoryIn, responses={201: CategoryOut}, operation_id="catalog_categories_create"
    )
    def post(self, request: Request) -> Response:
        """Create a category (staff)."""
        data = CategoryIn(data=request.data)
        data.is_valid(raise_exception=True)
        category = services.category_create(**data.validated_data)
        return Response(CategoryOut(category).data, status=status.HTTP_201_CREATED)


class ProductsView(PublicReadStaffWrite, generics.ListAPIView[Product]):
    serializer_class = ProductOut
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[Product]:
        params = ProductListParams(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.products_list(**params.validated_data)

    @extend_schema(parameters=[ProductListParams], operation_id="catalog_products_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Active products, filtered, ordered and paginated."""
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ProductIn, responses={201: ProductOut}, operation_id="catalog_products_create"
    )
    def post(self, request: Request) -> Response:
        """Create a product with its variants and their stock (staff)."""
        data = ProductIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        variants = [_variant_input(variant) for variant in fields.pop("variants")]
        product = services.product_create(**fields, variants=variants)
        body = ProductOut(_product(product.slug, include_inactive=True)).data
        return Response(body, status=status.HTTP_201_CREATED)


class ProductView(PublicReadStaffWrite):
    @extend_schema(
        parameters=[SLUG], responses={200: ProductOut}, operation_id="catalog_products_retrieve"
    )
    def get(self, request: Request, slug: str) -> Response:
        """One active product."""
        return Response(ProductOut(_product(slug)).data)

    @extend_schema(
        parameters=[SLUG],
        request=ProductPatchIn,
        responses={200: ProductOut},
        operation_id="catalog_products_update",
    )
    def patch(self, request: Request, slug: str) -> Response:
        """Change a product (staff); `category: null` removes its category."""
        data = ProductPatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if "category" in fields and fields["category"] is None:
            fields["category"] = ""  # null removes the category
        product = services.product_update(slug=slug, **fields)
        return Response(ProductOut(_product(product.slug, include_inactive=True)).data)


class SkuView(PublicReadStaffWrite):
    @extend_schema(
        parameters=[SKU], responses={200: VariantOut}, operation_id="catalog_skus_retrieve"
    )
    def get(self, request: Request, sku: str) -> Response:
        """One variant of an active product."""
        variant = selectors.variant_detail(sku=sku)
        if variant is None:
            raise NotFound(f"No SKU {sku}.")
        return Response(VariantOut(variant).data)

    @extend_schema(
        parameters=[SKU],
        request=VariantPatchIn,
        responses={200: VariantOut},
        operation_id="catalog_skus_update",
    )
    def patch(self, request: Request, sku: str) -> Response:
        """Change a variant's price, name or attributes (staff)."""
        data = VariantPatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.variant_update(sku=sku, **data.validated_data)
        variant = selectors.variant_detail(sku=sku, include_inactive=True)
        assert variant is not None  # just updated, in this request
        return Response(VariantOut(variant).data)


class SkuStockView(APIView):
    permission_classes = (IsAuthenticated, IsStaff)

    @extend_schema(
        parameters=[SKU], responses={200: StockOut}, operation_id="catalog_skus_stock_retrieve"
    )
    def get(self, request: Request, sku: str) -> Response:
        """A SKU's stock (staff)."""
        stock = selectors.stock_get(sku=sku)
        if stock is None:
            raise NotFound(f"No SKU {sku}.")
        return Response(StockOut(stock).data)


class SkuStockAdjustmentsView(APIView):
    permission_classes = (IsAuthenticated, IsStaff)

    @extend_schema(
        parameters=[SKU],
        request=StockAdjustmentIn,
        responses={200: StockOut},
        operation_id="catalog_skus_stock_adjust",
    )
    def post(self, request: Request, sku: str) -> Response:
        """Add to or remove from a SKU's stock on hand (staff); never below what is reserved."""
        data = StockAdjustmentIn(data=request.data)
        data.is_valid(raise_exception=True)
        stock = services.stock_adjust(sku=sku, **data.validated_data)
        return Response(StockOut(stock).data)
