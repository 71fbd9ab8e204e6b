#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The README's test command: on a fresh Debian 12 machine, as root, install
# the dependencies, build, and run every test (unit, fuzz, selftests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
make check
