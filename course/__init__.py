"""Helpers the course's notebooks import: the students' side of the course.

Nothing here solves an exercise: students import these modules from the released notebooks, so a
function in this package is one the student may call, never one they should write. The
instructors' grading tooling lives in ``course.grading``; nothing here imports it.
"""
