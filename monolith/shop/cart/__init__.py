"""cart: one cart per user, lines priced by snapshot, totals computed by the server.

    views.py      GET/DELETE /api/cart, POST /api/cart/items, PATCH/DELETE /api/cart/items/{sku}
    services.py   cart_add_item, cart_set_quantity, cart_remove_item, cart_clear, cart_reprice
    selectors.py  cart_get -> CartView (frozen; what orders reads at checkout)
    models.py     Cart (user_id, currency, version) 1-* CartItem (sku, quantity, price snapshot)

Prices and stock come from shop.catalog.selectors; the cart row is locked (select_for_update)
on every write, so concurrent writes for one user serialise.
"""
