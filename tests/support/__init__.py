"""Test helpers shared across test packages (servers, fixtures)."""
