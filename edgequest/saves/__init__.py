"""Saves: the input record <-> one file, atomic, locked, versioned; saved on hangup."""
