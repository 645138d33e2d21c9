"""What students receive: the student package (``package``), its notebooks in one language or
both (``languages``) and its exact, students-only requirements (``pins``)."""
