"""The harness: programs, peers, streams, waits, transcripts, builds and the pytest plugin that
runs cases. Imports containment, never the layers above.
"""
