"""The grader: saves -> replay through the game core -> grades, in the formats graders read.

A grade is always re-derived from the recorded moves, with the mission version whose
hash the save recorded; nothing a save claims about its own outcome is believed.

- ``library``: which mission version a save is graded with (by SHA-256).
- ``replay``: a record replayed part by part through :class:`~edgequest.game.play.Game`;
  ``replay_cmd``: the ``edgequest replay`` command.
- ``verdict``: one save's grade (never raises: a bad save is "not gradable" with a reason).
- ``collect``, ``pool``: which files to grade, and grading many of them across processes.
- ``lateness``: the submission's own time against the deadline.
- ``forensics``: flags for copied records, Lock answers read off the engine and
  impossible move times (never scored).
- ``formats``, ``histogram``: Gradescope ``results.json``, plain JSON, CSV, and the class's
  distributions drawn with plotext.
- ``grade``: the ``edgequest grade`` command.
"""
