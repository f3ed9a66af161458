"""The click command-line interface: thin; each command parses, makes one library call, prints."""
