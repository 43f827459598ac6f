"""The translations are complete and nothing a patient reads escapes them.

- every patient template and patient email has no text outside `{% trans %}` / `_()`: a new
  or edited template with a sentence left unmarked fails here, naming the file and text;
- the catalog template (messages.pot) holds exactly what the code marks today, and the
  Spanish catalog translates every message of it (nothing missing, nothing fuzzy);
- the compiled catalog (.mo) is not older than its .po (scripts/setup.sh compiles it).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2 import Environment, nodes

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
TRANSLATIONS = ROOT / "webapp" / "translations"
SPANISH = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"

# Templates patients never read: staff pages and the staff email stay English.
ENGLISH_ONLY = ("staff/", "email/staff-new-request.")
# Attributes whose values people read or hear.
READ_ATTRIBUTES = ("aria-label", "title", "alt", "placeholder")
# Text that is no words: punctuation, symbols, entities (&larr;).
NOT_WORDS = re.compile(r"&[a-z]+;|&#\d+;|[^A-Za-z]")

# Only lexes and parses templates, never renders them: autoescaping does not apply.
_env = Environment(extensions=["jinja2.ext.i18n"])  # noqa: S701


def patient_templates() -> list[Path]:
    paths = sorted(TEMPLATES.rglob("*.html")) + sorted(TEMPLATES.rglob("*.txt"))
    return [path for path in paths if not str(path.relative_to(TEMPLATES)).startswith(ENGLISH_ONLY)]


def _untranslated_text(source: str) -> str:
    """The template with every expression, tag and `{% trans %}` block replaced by a
    placeholder: what is left is written in the template as it is, in one language."""
    out: list[str] = []
    in_trans = False
    block: list[str] = []
    for _, token, value in _env.lex(source):
        if token == "block_begin":
            block = []
        elif token == "name" and block == []:
            block.append(value)
            if value == "trans":
                in_trans = True
            elif value == "endtrans":
                in_trans = False
        elif token == "data" and not in_trans:
            out.append(value)
            continue
        if token in ("variable_end", "block_end"):
            out.append("\x00")  # stands for what the expression or tag renders
    return "".join(out)


def unmarked_strings(source: str, *, html: bool) -> list[str]:
    text = _untranslated_text(source)
    found = []
    if html:
        for attribute in READ_ATTRIBUTES:
            found += re.findall(rf'\b{attribute}="([^"]*)"', text)
        text = re.sub(r"<[^>]*>", "\x00", text)  # markup, attributes and all
    found += re.split(r"\x00+", text)
    return [piece.strip() for piece in found if NOT_WORDS.sub("", piece)]


def literal_strings(source: str) -> list[str]:
    """String literals shown as text ({{ 'Book' }}, `default('Book')`, `label="..."`) that
    no `_()` wraps: words start with a capital or contain a space. Identifiers, endpoint
    names and status codes ('pages.index', 'CANCELLED', 'patient') are not text."""
    tree = _env.parse(source)
    inside_gettext = {
        id(const)
        for call in tree.find_all(nodes.Call)
        if isinstance(call.node, nodes.Name) and call.node.name in ("_", "gettext", "ngettext")
        for const in call.find_all(nodes.Const)
    }
    return [
        const.value
        for const in tree.find_all(nodes.Const)
        if isinstance(const.value, str)
        and id(const) not in inside_gettext
        and not const.value.isupper()
        and re.search(r"[A-Za-z]", const.value)
        and (" " in const.value.strip() or re.match(r"[A-Z][a-z]", const.value))
    ]


@pytest.mark.parametrize(
    "path", patient_templates(), ids=lambda path: str(path.relative_to(TEMPLATES))
)
def test_every_patient_template_string_is_marked_for_translation(path):
    source = path.read_text()
    unmarked = unmarked_strings(source, html=path.suffix == ".html") + literal_strings(source)
    assert not unmarked, (
        f"templates/{path.relative_to(TEMPLATES)} shows text not marked for translation: "
        f"{unmarked!r}. Wrap it in {{{{ _('...') }}}} or {{% trans %}}...{{% endtrans %}}, "
        "then update the catalogs (README, 'Languages')."
    )


def test_the_check_finds_unmarked_text_text_in_attributes_and_literals():
    marked = '<p>{{ _("Hello") }}</p><a href="{{ url }}">{% trans %}Hi {{ x }}{% endtrans %}</a>'
    assert unmarked_strings(marked, html=True) == []
    assert unmarked_strings('<p class="x">Join the waitlist</p>', html=True) == [
        "Join the waitlist"
    ]
    assert unmarked_strings('<a aria-label="Leave {{ x }}">{{ x }}</a>', html=True) == [
        "Leave \x00"
    ]
    assert unmarked_strings("Dear {{ name }},\n", html=False) == ["Dear"]
    assert unmarked_strings("<p>{{ n }} &ndash; {{ m }}</p>", html=True) == []
    assert literal_strings("{{ label | default('Book') }}{{ url_for('pages.index') }}") == ["Book"]
    assert literal_strings("{{ _('Book') }}{% if s == 'CANCELLED' %}{% endif %}") == []


def _messages(path: Path) -> dict:
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {message.id: message for message in catalog if message.id}


def test_the_catalog_template_holds_what_the_code_marks(tmp_path):
    extracted = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "N_",
            "-o",
            str(extracted),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    now, committed = set(_messages(extracted)), set(_messages(TRANSLATIONS / "messages.pot"))
    assert now == committed, (
        "webapp/translations/messages.pot is out of date (README, 'Languages'): "
        f"new {sorted(map(str, now - committed))}, gone {sorted(map(str, committed - now))}"
    )


def test_every_message_has_a_spanish_translation():
    template = _messages(TRANSLATIONS / "messages.pot")
    spanish = _messages(SPANISH)
    assert set(template) <= set(spanish), sorted(map(str, set(template) - set(spanish)))
    untranslated = [
        str(message.id)
        for message in spanish.values()
        if message.fuzzy
        or not (all(message.string) if isinstance(message.string, tuple) else message.string)
    ]
    assert untranslated == []


def test_the_spanish_catalog_is_compiled_from_its_latest_po():
    compiled = SPANISH.with_suffix(".mo")
    assert compiled.exists(), "run scripts/setup.sh (pybabel compile -d webapp/translations)"
    assert compiled.stat().st_mtime >= SPANISH.stat().st_mtime, (
        "messages.mo is older than messages.po: pybabel compile -d webapp/translations"
    )
