"""EdgeQuest: a terminal game for on-device learning, federated fleets and privacy."""

__version__ = "0.2.0"
