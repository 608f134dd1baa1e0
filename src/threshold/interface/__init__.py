"""What the interfaces (REST API, web pages, CLI) share: the signed-in person and the request
dependencies (`deps.py`), the permission every route declares (`permissions.py`), receiving an upload
(`uploads.py`) and the share preview as JSON (`previews.py`)."""
