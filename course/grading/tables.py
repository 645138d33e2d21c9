"""The one plain-text table renderer of the course's reports (scores, grading summaries).

Columns are left-aligned and as wide as their widest cell, with a dashed rule under the header,
so the tables read well in a terminal and in a CI log, and tests can split lines on whitespace.
"""

from collections.abc import Iterable, Sequence


def render(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """``header`` and ``rows`` as aligned text, one line per row, trailing spaces removed."""
    body = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *body)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    return "\n".join([line(header), line(["-" * width for width in widths]), *map(line, body)])
