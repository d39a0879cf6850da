import threading

import pytest
from werkzeug.serving import make_server


@pytest.fixture
def live_server(app, app_config):
    """The real app (CSRF on) served on a free local port, sharing the test database."""
    from app import create_app

    served = create_app({**app_config, "WTF_CSRF_ENABLED": True, "TESTING": False})
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
