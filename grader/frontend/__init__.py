"""The front end: the grade command, batches, reports and exports. The top layer: nothing imports
it.
"""
