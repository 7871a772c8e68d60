"""Containment: the one way an untrusted process starts (launcher, views, cgroups, namespaces, uid
leases, watchdog). Imports nothing above it.
"""
