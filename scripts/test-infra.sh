#!/usr/bin/env bash
# Brings up the real parts the integration tests need, on a fresh Debian machine as root:
# a PostgreSQL cluster (scripts/postgres-setup.sh), a Docker engine, a local registry on 127.0.0.1:5000, the base images the
# generated Dockerfiles use (built locally: no registry can be pulled from here),
# and the systemd + sshd image the ssh target's test hosts boot from.
# Idempotent and cached: a second run does almost nothing. It never fails the test
# run: when a part cannot come up, it says why, and the tests that need it say so by name.
set -uo pipefail
STATE=/var/lib/gantry-test
LOG=/var/log/gantry-test-infra.log
say() { echo "[test-infra] $*"; }
mkdir -p "$STATE" 2>/dev/null || true

# helm and kubectl for the kubernetes target's chart checks (no Docker needed).
bash "$(dirname "$0")/k8s-tools.sh"

engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
registry_up() { node -e "fetch('http://127.0.0.1:5000/v2/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v git >/dev/null 2>&1 || missing+=(git)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} (apt)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >>"$LOG" 2>&1 || say "apt-get install failed (see $LOG)"
  else
    say "cannot install ${missing[*]}: not root or no apt-get"
  fi
fi

# The server's tests: a real PostgreSQL on 127.0.0.1:55432 (independent of Docker).
"$(dirname "$0")/postgres-setup.sh"

# The dashboard's browser tests drive Debian's Chromium (playwright-core never downloads a browser).
chromium_ok() { [ -x /usr/bin/chromium ] && /usr/bin/chromium --version 2>/dev/null | grep -q '^Chromium [0-9]'; }
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing chromium (apt)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 chromium) >>"$LOG" 2>&1 || say "ERROR: apt-get install chromium failed (see $LOG): the dashboard's browser tests will fail"
  else
    say "ERROR: /usr/bin/chromium is missing and cannot be installed (not root or no apt-get): the dashboard's browser tests will fail"
  fi
fi
if chromium_ok; then say "$(/usr/bin/chromium --version 2>/dev/null | head -n1)"; else say "ERROR: /usr/bin/chromium does not run (chromium --version failed): the dashboard's browser tests will fail"; fi

if ! engine_up && command -v dockerd >/dev/null 2>&1; then
  say "starting dockerd"
  # setsid: the engine must outlive this script and the test runner's process group.
  setsid dockerd >/var/log/gantry-dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 120); do engine_up && break; sleep 0.5; done
fi
if engine_up; then say "docker engine $(docker version --format '{{.Server.Version}}')"; else say "no docker engine (see /var/log/gantry-dockerd.log)"; exit 0; fi

if ! registry_up && command -v docker-registry >/dev/null 2>&1; then
  say "starting docker-registry on 127.0.0.1:5000"
  mkdir -p "$STATE/registry"
  cat > "$STATE/registry.yml" <<YAML
version: 0.1
storage: { filesystem: { rootdirectory: $STATE/registry }, delete: { enabled: true } }
http: { addr: 127.0.0.1:5000 }
YAML
  setsid docker-registry serve "$STATE/registry.yml" >/var/log/gantry-registry.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do registry_up && break; sleep 0.5; done
fi
registry_up && say "registry up on 127.0.0.1:5000" || say "no registry (see /var/log/gantry-registry.log)"

# Every systemd test host takes inotify instances (and keyrings); the default 128 per user runs
# out at ~25 hosts and systemd then exits at boot (status 255). Raised, never lowered.
raise_sysctl() { local cur; cur=$(sysctl -n "$1" 2>/dev/null || echo 0); [ "$cur" -ge "$2" ] 2>/dev/null || sysctl -w "$1=$2" >/dev/null 2>&1 || say "could not raise $1 to $2"; }
raise_sysctl fs.inotify.max_user_instances 8192
raise_sysctl kernel.keys.maxkeys 2000
"$(dirname "$0")/build-base-images.sh" || say "base images could not be built (see $LOG)"
# The ssh target's test hosts: a systemd + sshd "VM" image (the tests start containers from it).
# On a fresh machine it takes minutes, so it is built in the background while the other tests
# run; it holds $STATE/vm-image.lock meanwhile and the ssh tests wait on that lock.
vm_lock="$STATE/vm-image.lock"
rm -f "$STATE/vm-image.problem"
setsid bash -c 'exec 9>"$1"; flock 9; "$2" >>"$3" 2>&1 || echo "the ssh test host image could not be built (see $3)" >"$4"' _ \
  "$vm_lock" "$(dirname "$0")/build-vm-image.sh" "$LOG" "$STATE/vm-image.problem" < /dev/null > /dev/null 2>&1 &
say "building the ssh test host image in the background (scripts/build-vm-image.sh; log: $LOG)"
exit 0
