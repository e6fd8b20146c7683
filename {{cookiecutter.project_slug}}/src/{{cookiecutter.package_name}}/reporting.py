"""One way to write a report: a list of blocks, rendered as Markdown (fit for a pull-request
comment) and as one self-contained HTML page (charts inlined as PNG), with one chart style.

A block is ("h2" | "h3" | "h4" | "p", text), ("list", [text]), ("table", Table) or
("chart", Chart); text may use the little Markdown both renderings understand: `code`,
[links](url), **bold** (what failed: red in HTML), *italics*. A journey builds its blocks once
and says what each chart is (`Chart.kind`).
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .runtime import InfrastructureError


@dataclass
class Table:
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    align: str = ""  # "l" or "r" per column; by default the first left, the rest (numbers) right

    def alignment(self) -> str:
        return self.align or "l" + "r" * (len(self.headers) - 1)


@dataclass
class Chart:
    kind: str  # what the journey draws, e.g. "latency" or "tokens"


Block = (
    tuple  # ("h2" | "h3" | "h4" | "p", text), ("list", [text]), ("table", Table), ("chart", Chart)
)
HEADINGS = {"h2": "##", "h3": "###", "h4": "####"}


# --- Markdown -------------------------------------------------------------------------------

MARKUP = re.compile(r"([\\`*_\[\]])")


def literal(text) -> str:
    """Text shown as written (an input, an answer, a rationale): the characters Markdown reads
    as markup are escaped, so GitHub and inline_html both show them as they are. Table cells
    escape `|` themselves."""
    return MARKUP.sub(r"\\\1", str(text))


def shorten(text, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    flat = " ".join(str(text).split())
    return flat[: limit - 1] + "…" if len(flat) > limit else flat


def clip(text, limit: int) -> str:
    """User text on one line, cut to `limit` characters, shown as written (see literal)."""
    return literal(shorten(text, limit))


def markdown(blocks: list[Block], chart_text: Callable[[Chart], str]) -> str:
    """The blocks as Markdown; `chart_text` says what stands for a chart (a PNG has no place
    there)."""
    lines: list[str] = []
    for kind, content in blocks:
        if kind in HEADINGS:
            lines += [f"{HEADINGS[kind]} {content}", ""]
        elif kind == "p":
            lines += [content, ""]
        elif kind == "list":
            lines += [*(f"- {item}" for item in content), ""]
        elif kind == "table":
            lines += [*markdown_table(content), ""]
        elif kind == "chart" and chart_text(content):  # "": no stand-in for the chart
            lines += [chart_text(content), ""]
    return "\n".join(lines).rstrip() + "\n"


def markdown_table(table: Table) -> list[str]:
    def row(cells) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    aligns = ["---:" if a == "r" else "---" for a in table.alignment()]
    return [row(table.headers), row(aligns), *(row(r) for r in table.rows)]


# --- HTML -----------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; padding: 0 1rem; max-width: 72rem;
       color: #222; }
h1, h2, h3, h4, p, li { overflow-wrap: anywhere; }
.wide { overflow-x: auto; margin: 0.5rem 0 1.5rem; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { background: #f4f4f4; padding: 0 0.2rem; }
img { max-width: 100%; }
strong { color: #b00020; }
"""
CODE = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
BOLD = re.compile(r"\*\*([^*]+)\*\*")
ITALIC = re.compile(r"\*([^*]+)\*")
ESCAPED = re.compile(r"\\([\\`*_\[\]])")  # \* and the like: the character itself
HIDDEN = 0xE000  # escaped characters wait in the private-use area while the markup is read
UNHIDE = re.compile("[\ue000-\ue0ff]")


def inline_html(text: str) -> str:
    """The little Markdown the blocks use (code, links, bold, italics), escaped first."""
    out = html.escape(str(text), quote=True)
    out = ESCAPED.sub(lambda m: chr(HIDDEN + ord(m.group(1))), out)
    out = CODE.sub(r"<code>\1</code>", out)
    out = LINK.sub(r'<a href="\2">\1</a>', out)
    out = BOLD.sub(r"<strong>\1</strong>", out)
    out = ITALIC.sub(r"<em>\1</em>", out)
    return UNHIDE.sub(lambda m: chr(ord(m.group()) - HIDDEN), out)


def html_document(title: str, blocks: list[Block], chart_html: Callable[[Chart], str]) -> str:
    """The blocks as one HTML page; `chart_html` draws each chart (see png_img)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        # Phones lay the page out at their own width (not a zoomed-out 980 px desktop page).
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{STYLE}</style></head>",
        "<body>",
    ]
    for kind, content in blocks:
        if kind in HEADINGS:
            parts.append(f"<{kind}>{inline_html(content)}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{inline_html(content)}</p>")
        elif kind == "list":
            parts.append("<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in content) + "</ul>")
        elif kind == "table":
            parts.append(html_table(content))
        elif kind == "chart":
            parts.append(chart_html(content))
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def html_table(table: Table) -> str:
    head = "".join(f"<th>{inline_html(h)}</th>" for h in table.headers)
    body = []
    for row in table.rows:
        cells = "".join(
            f'<td class="num">{inline_html(c)}</td>' if a == "r" else f"<td>{inline_html(c)}</td>"
            for a, c in zip(table.alignment(), row, strict=False)  # rows are not checked
        )
        body.append(f"<tr>{cells}</tr>")
    # A table wider than a phone scrolls inside its box instead of widening the whole page.
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="wide">{table}</div>'


# --- Charts: one style ----------------------------------------------------------------------


def figure(rows: int):
    """A figure sized for `rows` bars. The object-oriented API with the Agg canvas: no pyplot
    state, no display needed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise InfrastructureError(
            "the report charts need matplotlib, which mlflow installs but mlflow-skinny does "
            "not; run `pip install matplotlib`"
        ) from err

    drawing = Figure(figsize=(9, 1.2 + 0.55 * rows), layout="constrained")
    FigureCanvasAgg(drawing)
    return drawing


def bars(
    axes, labels: list[str], series: dict[str, list[float]], unit: str, fmt, log: bool = True
) -> None:
    """Grouped horizontal bars, labelled with the same formatting as the tables; `log`: switch
    to a log scale when the values span more than 50x (latencies do; means in [0, 1] should
    not)."""
    height = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        positions = [row + (i - (len(series) - 1) / 2) * height for row in range(len(labels))]
        drawn = axes.barh(positions, values, height=height, label=name)
        axes.bar_label(drawn, labels=[fmt(v) for v in values], padding=2, fontsize=8)
    axes.set_yticks(range(len(labels)), labels)
    axes.invert_yaxis()
    axes.set_xlabel(unit)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the bars, never on them
    axes.margins(x=0.12)  # room for the value labels
    values = [v for vs in series.values() for v in vs if v > 0]
    if log and values and max(values) / min(values) > 50:  # spans from 0.1 ms to seconds: log scale
        axes.set_xscale("log")
        axes.set_xlabel(f"{unit} (log scale)")


def png(drawing) -> bytes:
    buffer = io.BytesIO()
    drawing.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def png_img(image: bytes, alt: str) -> str:
    data = base64.b64encode(image).decode("ascii")
    return f'<img alt="{alt}" src="data:image/png;base64,{data}">'


def means_chart(labels: list[str], series: dict[str, list[float]], fmt) -> bytes:
    """Grouped bars of means in [0, 1] (gates, baseline vs candidate), on a linear scale."""
    drawing = figure(len(labels))
    axes = drawing.add_subplot()
    bars(axes, labels, series, "mean", fmt, log=False)
    axes.set_xlim(0, 1.1)
    return png(drawing)


# --- Files ----------------------------------------------------------------------------------


def write_pair(folder: Path, stem: str, markdown_text: str, html_text: str) -> tuple[Path, Path]:
    """<stem>.md and <stem>.html in `folder` (made if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    md_path, html_path = folder / f"{stem}.md", folder / f"{stem}.html"
    md_path.write_text(markdown_text, encoding="utf-8")
    html_path.write_text(html_text, encoding="utf-8")
    return md_path, html_path
