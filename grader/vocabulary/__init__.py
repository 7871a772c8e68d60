"""The check vocabulary: what case modules write checks with (grader's public names come from
here). Imports the harness and containment only.
"""
