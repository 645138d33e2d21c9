"""The score table the main job prints."""

from course.grading.scores import NotebookScore, format_table


def test_table_has_a_line_per_notebook_and_a_total_per_student():
    rows = [
        NotebookScore("ala", "01_a", "a", 3.0, 4.0),
        NotebookScore("ala", "02_b", "b", 1.5, 2.0),
        NotebookScore("bob", "01_a", "a", 0.0, 4.0),
    ]
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["student", "assignment", "notebook", "score"]
    body = [line.split() for line in lines[2:]]
    assert body == [
        ["ala", "01_a", "a", "3", "/", "4"],
        ["ala", "02_b", "b", "1.5", "/", "2"],
        ["ala", "TOTAL", "4.5", "/", "6"],
        ["bob", "01_a", "a", "0", "/", "4"],
        ["bob", "TOTAL", "0", "/", "4"],
    ]


def test_empty_gradebook_says_so():
    assert format_table([]) == "no graded submissions"
