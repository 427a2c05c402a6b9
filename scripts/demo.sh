#!/bin/sh
# demo.sh - build optiinfra and show it working on the default SQLite
# database (sqlite:optiinfra.db in the current directory): migrate, seed,
# validate, and list the agents.
set -eu
cd "$(dirname "$0")/.."

sh scripts/deps.sh
make
build/optiinfra db upgrade
build/optiinfra seed
build/optiinfra validate
build/optiinfra agents
