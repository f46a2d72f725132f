from gpuwise.cli.main import entry

entry()
