"""videopoet: one decoder-only language model that generates video and audio as discrete tokens."""

from videopoet.errors import VideoPoetError

__all__ = ["VideoPoetError"]
__version__ = "0.1.0"
