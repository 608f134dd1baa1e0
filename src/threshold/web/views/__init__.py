"""Page handlers, one module per area: each builds a data dict from services and calls `page()`."""
