"""Helpers shared by the course's notebooks and its tooling.

Nothing here solves an exercise: students import these modules from the released notebooks,
so a function in this package is one the student may call, never one they should write.
"""
