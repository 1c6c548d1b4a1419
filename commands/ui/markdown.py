"""The data-model document (`ddb.modeling.document.render`, Markdown) as HTML, for the subset it is written in.

Headings (`#`), paragraphs, `- ` lists, pipe tables (`\\|` an escaped pipe), inline
`code`, and fenced blocks; a `mermaid` block becomes `<pre class="mermaid">` for the
Mermaid script to draw. Every piece of text is escaped: nothing in the document is markup.
"""

import re

from .html import Html, h, join, tag

_CODE = re.compile(r"`([^`]*)`")
_PIPE = "\x00"  # stands for an escaped pipe while a row is split


def inline(text: str) -> Html:
    """Text with `code` spans; everything else escaped."""
    parts, last = [], 0
    for match in _CODE.finditer(text):
        parts += [h(text[last : match.start()]), tag("code", match.group(1))]
        last = match.end()
    return join([*parts, h(text[last:])])


def _cells(row: str) -> list[str]:
    inner = row.strip().replace("\\|", _PIPE).strip("|")
    return [cell.strip().replace(_PIPE, "|") for cell in inner.split("|")]


def _table(rows: list[str]) -> Html:
    head, body = _cells(rows[0]), [_cells(r) for r in rows[2:]]
    return tag(
        "table",
        tag("thead", tag("tr", *(tag("th", inline(c)) for c in head))),
        tag("tbody", *(tag("tr", *(tag("td", inline(c)) for c in row)) for row in body)),
    )


def to_html(markdown: str) -> Html:
    """The document as HTML blocks."""
    blocks: list[Html] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("```"):
            language = line[3:].strip()
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
            code = "\n".join(lines[i + 1 : end])
            blocks.append(tag("pre", code, class_="mermaid" if language == "mermaid" else None))
            i = end + 1
        elif line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")), 6)  # the document's title (#) is left to the page
            blocks.append(tag(f"h{level}", inline(line.lstrip("#").strip())))
            i += 1
        elif line.startswith("|"):
            end = next((j for j in range(i, len(lines)) if not lines[j].startswith("|")), len(lines))
            blocks.append(_table(lines[i:end]))
            i = end
        elif line.startswith("- "):
            end = next((j for j in range(i, len(lines)) if not lines[j].startswith("- ")), len(lines))
            blocks.append(tag("ul", *(tag("li", inline(item[2:])) for item in lines[i:end])))
            i = end
        else:
            end = next(
                (j for j in range(i, len(lines)) if not lines[j].strip() or lines[j].startswith(("#", "|", "- ", "```"))),
                len(lines),
            )
            blocks.append(tag("p", inline(" ".join(lines[i:end]))))
            i = end
    return join(blocks)
