"""The Romanian pages need compiled catalogues. `make test` compiles them first; this compiles them
again from the .po files so `pytest tests/i18n` alone tests what is written, never a stale .mo."""
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues():
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as f:
            catalog = read_po(f)
        with po.with_suffix(".mo").open("wb") as f:
            write_mo(f, catalog)  # fuzzy entries are left out, as `pybabel compile` does
    return TRANSLATIONS


from tests.browser.conftest import live_server  # noqa: E402,F401  (the Chromium tests' served app)
