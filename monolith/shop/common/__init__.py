"""Cross-cutting pieces every context uses: errors, middleware, health, pagination."""
