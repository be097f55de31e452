"""The one exception type the project raises for problems a person can fix."""


class VideoPoetError(ValueError):
    """Bad input or a missing resource, with a message that says what to do about it."""
