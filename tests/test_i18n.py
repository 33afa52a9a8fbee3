"""Ciclo speaks Brazilian Portuguese first: every string is in the pt-BR catalog, translated.

The catalog is ciclo/locale/pt_BR/LC_MESSAGES/django.po, written by `make messages`
and compiled by `make run` / `make test`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polib
import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import Client
from django.utils import translation
from django.utils.html import escape

import ciclo

PACKAGE_DIR = Path(ciclo.__file__).resolve().parent
PO_FILE = PACKAGE_DIR / "locale" / "pt_BR" / "LC_MESSAGES" / "django.po"
# The same folders `make messages` leaves out.
IGNORED = ["migrations"]

MsgKey = tuple[str, str]  # (msgctxt, msgid)


def _keys(po: polib.POFile) -> set[MsgKey]:
    return {(entry.msgctxt or "", entry.msgid) for entry in po if not entry.obsolete}


def _show(keys: set[MsgKey] | list[MsgKey], limit: int = 40) -> str:
    shown = sorted(keys)[:limit]
    lines = [f"  {ctxt + ' | ' if ctxt else ''}{msgid!r}" for ctxt, msgid in shown]
    if len(keys) > limit:
        lines.append(f"  ... and {len(keys) - limit} more")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def committed() -> polib.POFile:
    assert PO_FILE.exists(), f"{PO_FILE} is missing: run `make messages`"
    return polib.pofile(str(PO_FILE))


@pytest.fixture
def extracted(tmp_path: Path, settings, monkeypatch: pytest.MonkeyPatch) -> polib.POFile:
    """A fresh extraction of the project's strings, as `make messages` would write it.

    makemessages writes helper files beside the templates it reads, so it runs
    on a copy of the package, never on the work tree.
    """
    copy = tmp_path / "ciclo"
    shutil.copytree(
        PACKAGE_DIR,
        copy,
        ignore=shutil.ignore_patterns("locale", "__pycache__", "*.pyc", *IGNORED),
    )
    (copy / "locale").mkdir()
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["pt_BR"], ignore_patterns=IGNORED, verbosity=0)
    return polib.pofile(str(copy / "locale" / "pt_BR" / "LC_MESSAGES" / "django.po"))


def test_the_catalog_holds_every_translatable_string_of_the_project(
    committed: polib.POFile, extracted: polib.POFile
) -> None:
    missing = _keys(extracted) - _keys(committed)
    assert not missing, f"{len(missing)} strings are not in {PO_FILE.name}; run `make messages`:\n{_show(missing)}"


def test_the_catalog_holds_no_string_the_project_no_longer_uses(
    committed: polib.POFile, extracted: polib.POFile
) -> None:
    stale = _keys(committed) - _keys(extracted)
    assert not stale, f"{len(stale)} strings of {PO_FILE.name} are no longer used; run `make messages`:\n{_show(stale)}"


def test_every_string_has_a_reviewed_pt_br_translation(committed: polib.POFile) -> None:
    entries = [entry for entry in committed if not entry.obsolete]
    assert entries, f"{PO_FILE} has no strings: run `make messages`"
    fuzzy = {(e.msgctxt or "", e.msgid) for e in entries if "fuzzy" in e.flags}
    untranslated = {(e.msgctxt or "", e.msgid) for e in entries if not e.translated() and "fuzzy" not in e.flags}
    problems = []
    if untranslated:
        problems.append(
            f"{len(untranslated)} of {len(entries)} strings have no pt-BR translation:\n{_show(untranslated)}"
        )
    if fuzzy:
        problems.append(
            f"{len(fuzzy)} translations are marked fuzzy (review them, then drop the flag):\n{_show(fuzzy)}"
        )
    assert not problems, "\n".join(problems)


def test_the_catalog_header_is_filled_in_for_pt_br(committed: polib.POFile) -> None:
    assert committed.metadata.get("Language") == "pt_BR", "set 'Language: pt_BR' in the .po header"
    assert "n > 1" in committed.metadata.get("Plural-Forms", ""), "pt-BR plural forms: nplurals=2; plural=(n > 1);"
    assert not committed.metadata_is_fuzzy, "the .po header is still marked fuzzy: drop the flag"


# --- what a person sees -------------------------------------------------------


def _get(client: Client, url: str, language: str) -> str:
    response = client.get(url, headers={"accept-language": language}, follow=True)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


@pytest.mark.django_db
def test_the_login_page_speaks_portuguese_to_a_pt_br_browser(client: Client) -> None:
    page = _get(client, "/admin/login/", "pt-BR,pt;q=0.9,en;q=0.5")
    assert '<html lang="pt-br"' in page
    assert "<title>Acessar | Ciclo</title>" in page  # "Log in"
    assert "Log in" not in page


@pytest.mark.django_db
def test_the_login_page_speaks_english_to_an_english_browser(client: Client) -> None:
    page = _get(client, "/admin/login/", "en-US,en;q=0.9")
    assert '<html lang="en"' in page
    assert "<title>Log in | Ciclo</title>" in page
    assert "Acessar" not in page


@pytest.mark.django_db
def test_the_admin_names_ciclo_sections_in_the_visitors_language(client: Client, admin_user) -> None:
    """The app names come from Ciclo's own catalog, not Django's: this proves ours is compiled and loaded."""
    apps = {model._meta.app_config for model in admin.site._registry if model.__module__.startswith("ciclo.")}
    assert apps, "no Ciclo model is registered in the admin"
    client.force_login(admin_user)
    english = _get(client, "/admin/", "en")
    portuguese = _get(client, "/admin/", "pt-br")
    for app in sorted(apps, key=lambda a: a.label):
        with translation.override("en"):
            name_en = str(app.verbose_name)
        with translation.override("pt-br"):
            name_pt = str(app.verbose_name)
        assert name_pt != name_en, f"the app name {name_en!r} has no pt-BR translation"
        assert escape(name_en) in english
        assert escape(name_pt) in portuguese
