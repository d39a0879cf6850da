"""The Romanian catalogue is complete (nothing untranslated, fuzzy or missing from a fresh
extraction), its placeholders match, both languages cover every sync-error case, and Romanian is
written with comma-below ș and ț."""
import re
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from qbo.quickbooks.problems import catalogue

ROOT = Path(__file__).resolve().parents[2]
RO_PO = ROOT / "translations" / "ro" / "LC_MESSAGES" / "messages.po"
CEDILLA = re.compile("[şţŞŢ]")


def _romanian():
    with RO_PO.open("rb") as f:
        return read_po(f)


def _strings(message) -> tuple:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def test_it_translates_every_romanian_message():
    untranslated = [m.id for m in _romanian() if m.id and not all(_strings(m))]
    assert untranslated == [], "run `make i18n-update`, then translate these in the .po"


def test_it_has_no_fuzzy_romanian_message():
    catalog = _romanian()
    assert not catalog.fuzzy
    assert [m.id for m in catalog if m.id and m.fuzzy] == [], "check these and remove `#, fuzzy`"


def test_it_gives_every_plural_its_three_romanian_forms():
    plurals = [m for m in _romanian() if m.pluralizable]
    assert plurals and all(len(m.string) == 3 and all(m.string) for m in plurals)


def test_it_keeps_every_placeholder_of_the_english_text():
    problems = [(m.id, [str(e) for e in errors]) for m, errors in _romanian().check()]
    assert problems == []


def test_it_has_every_string_of_a_fresh_extraction(tmp_path, monkeypatch):
    pot = tmp_path / "messages.pot"
    monkeypatch.chdir(ROOT)
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", "babel.cfg", "-k", "_l",
                                "-k", "lazy_gettext", "-o", str(pot), "."])
    with pot.open("rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    translated = {m.id for m in _romanian() if m.id}
    assert extracted, "the extraction found nothing: check babel.cfg"
    assert sorted(map(str, extracted - translated)) == [], "run `make i18n-update` and translate them"


@pytest.mark.parametrize("case_id", sorted(catalogue.CASES))
def test_it_explains_every_case_in_english_and_romanian(case_id):
    english, romanian = catalogue.localised(case_id, "en"), catalogue.localised(case_id, "ro")
    for field in ("title", "explanation", "fix"):
        assert getattr(english, field).strip(), (case_id, field)
        assert getattr(romanian, field).strip(), (case_id, field)
        assert getattr(romanian, field) != getattr(english, field), (case_id, field, "not translated")


def test_it_writes_s_and_t_with_a_comma_below():
    assert not CEDILLA.findall(RO_PO.read_text(encoding="utf-8"))
    assert not CEDILLA.findall((ROOT / "qbo" / "quickbooks" / "problems" / "catalogue.py").read_text(encoding="utf-8"))
    for case_id in catalogue.CASES:
        case = catalogue.localised(case_id, "ro")
        assert not CEDILLA.search(case.title + case.explanation + case.fix), case_id
