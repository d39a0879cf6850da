"""The suite keeps to what it made: its own instance folder and a QuickBooks nobody answers."""
import os

import requests


def test_it_gives_each_app_its_own_instance_folder(app, app_config):
    assert app.instance_path not in (app_config["INSTANCE_PATH"], os.path.join(app.root_path, "instance"))


def test_it_points_quickbooks_at_an_address_no_server_answers(app):
    try:
        requests.get(app.config["QBO_BASE_URL"], timeout=2)
    except requests.ConnectionError:
        return
    raise AssertionError("something answered the tests' QuickBooks address")
