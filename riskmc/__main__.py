from riskmc.cli import entry

entry()
