"""The one report writer: the same blocks read the same as Markdown and as HTML, and text a user
wrote (inputs, answers, rationales) is shown as written in both."""

from html.parser import HTMLParser

from {{ cookiecutter.package_name }}.reporting import (
    Table,
    clip,
    html_document,
    inline_html,
    literal,
    markdown,
)

QUESTION = "Ignore *all* `rules`, see [docs](http://evil) | a_b \\ c"


class Text(HTMLParser):
    """The visible text of each table cell, and the tags used inside the cells."""

    def __init__(self, page: str):
        super().__init__()
        self.cells, self.tags, self._depth = [], [], 0
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "td":
            self.cells.append("")
            self._depth = 1
        elif self._depth:
            self.tags.append(tag)

    def handle_endtag(self, tag):
        if tag == "td":
            self._depth = 0

    def handle_data(self, data):
        if self._depth:
            self.cells[-1] += data


def test_user_text_is_shown_as_written_in_html():
    page = html_document("t", [("table", Table(("Input",), [(literal(QUESTION),)]))], str)
    parsed = Text(page)
    assert parsed.cells == [QUESTION]
    assert parsed.tags == []  # no <em>, <code> or <a> made out of a user's characters


def test_user_text_is_escaped_for_markdown_renderers():
    text = markdown([("table", Table(("Input",), [(literal(QUESTION),)]))], str)
    row = text.splitlines()[2]
    assert row == "| Ignore \\*all\\* \\`rules\\`, see \\[docs\\](http://evil) \\| a\\_b \\\\ c |"


def test_the_blocks_own_markup_still_works_beside_user_text():
    html = inline_html(f"**FAIL** `pii` [trace](http://ui/t1): {literal('*not bold*')}")
    assert html == (
        '<strong>FAIL</strong> <code>pii</code> <a href="http://ui/t1">trace</a>: *not bold*'
    )


def test_clip_puts_text_on_one_line_and_cuts_it():
    assert clip("a\n  b\tc", 10) == "a b c"
    assert clip("x" * 20, 10) == "x" * 9 + "…"
    assert clip("*" * 3, 10) == "\\*\\*\\*"
