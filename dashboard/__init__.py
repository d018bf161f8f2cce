"""CNN Lab: all logic behind the pages, importable and testable without a browser."""
