"""Signals as recorded and as prepared for windows: the Recording container (with lazy
signals that stay on disk), preprocessing steps, channel-quality checks, and windowing."""
