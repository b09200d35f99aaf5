"""Engines: what turns a prompt into tokens. `base` holds the interface every engine keeps."""
