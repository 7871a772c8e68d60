"""Readable Python versions of the lecture's network programs and of mytalk."""
