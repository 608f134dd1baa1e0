"""What the interfaces (REST API, web pages, CLI) share: the signed-in person and the request
dependencies (`deps.py`), and the permission every route declares (`permissions.py`)."""
