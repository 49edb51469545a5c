from django.urls import path

from . import internal

urlpatterns = [
    path("reservations", internal.ReservationsView.as_view(), name="internal-reservations"),
    path(
        "reservations/<uuid:reservation_id>",
        internal.ReservationDetailView.as_view(),
        name="internal-reservation",
    ),
    path(
        "reservations/<uuid:reservation_id>/commit",
        internal.ReservationCommitView.as_view(),
        name="internal-reservation-commit",
    ),
    path(
        "reservations/<uuid:reservation_id>/release",
        internal.ReservationReleaseView.as_view(),
        name="internal-reservation-release",
    ),
    path("restock", internal.RestockView.as_view(), name="internal-restock"),
    path("variants", internal.VariantsView.as_view(), name="internal-variants"),
]
