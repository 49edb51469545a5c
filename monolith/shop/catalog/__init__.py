"""catalog: categories, products, variants (SKUs), prices, inventory and stock reservations.

    views.py ──▶ serializers.py (in/out shapes)
       │
       ├──▶ selectors.py   reads: product list/detail (one page = 3 queries), and the frozen
       │                   VariantView / StockView / ReservationView that cart and orders use
       └──▶ services.py    writes: products, variants, categories; stock_reserve → commit |
                           release | expire (reservations_expire); restock; staff stock_adjust;
                           catalog_seed (demo data)

Inventory per SKU: 0 <= reserved <= on_hand (CHECK constraints). Every stock change is a
conditional UPDATE with F() expressions plus a StockMovement row (append-only audit). Other
contexts name a variant by its ``sku`` and never import models.py or errors.py.
"""
