#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need, as root, idempotently:
#   postfix     the real MTA the tests run against (private instances only; the system
#               instance stays unconfigured and stopped: debconf "No configuration")
#   swaks       SMTP client for manual checks and tests
#   miltertest  scripted milter client (OpenDKIM project) for the milter's protocol tests
#   prometheus  for `promtool check metrics`
#   curl, python3  used by scripts/demo.sh to talk to the admin API and read JSON
# Packages already installed are skipped; nothing is fetched when all are present.
set -euo pipefail

PACKAGES=(postfix swaks miltertest prometheus curl python3)

log() { printf 'install-deps: %s\n' "$*" >&2; }

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} > 0)); then
    if [[ $(id -u) -ne 0 ]]; then
        log "missing packages: ${missing[*]}; run this script as root (sudo $0)"
        exit 77
    fi
    log "installing: ${missing[*]}"
    # Keep package scripts from starting services (postfix, prometheus) during the install;
    # only our own temporary policy file is removed afterwards.
    created_policy=
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    cleanup() { if [[ -n "$created_policy" ]]; then rm -f /usr/sbin/policy-rc.d; fi; }
    trap cleanup EXIT
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    log "all present: ${PACKAGES[*]}"
fi

for tool in /usr/sbin/postfix /usr/sbin/postconf /usr/sbin/smtp-sink /usr/sbin/smtp-source \
            /usr/bin/swaks /usr/bin/miltertest /usr/bin/promtool /usr/bin/curl /usr/bin/python3; do
    [[ -x "$tool" ]] || { log "expected $tool after the install, not found"; exit 1; }
done
getent passwd postfix >/dev/null || { log "user postfix missing after the install"; exit 1; }
getent group postdrop >/dev/null || { log "group postdrop missing after the install"; exit 1; }

# The tests start private instances on loopback high ports; a running system instance is not
# needed and must not receive test mail. Stop it through its own config, never by name.
if [[ -f /etc/postfix/main.cf ]] && postfix -c /etc/postfix status >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]]; then
        log "stopping the system Postfix instance"
        postfix -c /etc/postfix stop
    else
        log "the system Postfix instance is running; stop it as root: postfix stop"
    fi
fi
log "ok"
