__version__ = "0.1.0"
#: Version of the JSON documents gpuwise prints with --json (bumped when a key changes meaning).
SCHEMA_VERSION = 1
