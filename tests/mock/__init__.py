"""Contract tests of the mock identity platform and Graph."""
