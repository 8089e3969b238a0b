#!/usr/bin/env bash
# Builds, once, the image the ssh target's tests boot as "VMs": a Debian bookworm rootfs
# (debootstrap) with systemd as PID 1, openssh-server, nodejs, python3, rsync and nginx-light,
# as gantry-vm:bookworm. Two cached layers: the debootstrapped rootfs, imported as
# gantry-vm-rootfs:bookworm (minutes; redone only when the package list changes), and the
# test-host setup on top of it (a docker build of seconds; redone when RECIPE changes).
# The result is boot-checked once per image id rather than trusted by name.
# Each container generates its own host keys at boot (none are baked in), so two test hosts
# never share a host key. Authorized keys are bind-mounted by the tests.
set -euo pipefail
STATE=/var/lib/gantry-test
LOG=/var/log/gantry-test-infra.log
IMAGE=gantry-vm:bookworm
ROOTFS_IMAGE=gantry-vm-rootfs:bookworm
PACKAGES=systemd,systemd-sysv,dbus,openssh-server,ca-certificates,nodejs,python3,rsync,nginx-light,iproute2,procps
# Bump when the setup below changes: a stale image is rebuilt instead of trusted by its name.
RECIPE=4
say() { echo "[vm-image] $*"; }
label_of() { docker image inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }

build_rootfs() {
  local rootfs="$STATE/vmroot" t0=$SECONDS
  command -v debootstrap >/dev/null 2>&1 || { say "debootstrap missing (apt-get install debootstrap)"; return 1; }
  # A finished debootstrap is kept until it is imported (an interrupted build resumes there).
  if [ "$(cat "$rootfs/.gantry-packages" 2>/dev/null || true)" != "$PACKAGES" ]; then
    rm -rf "$rootfs"
    say "debootstrap bookworm with systemd + openssh-server (a few minutes)"
    debootstrap --variant=minbase --include="$PACKAGES" bookworm "$rootfs" http://deb.debian.org/debian >>"$LOG" 2>&1
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    echo "$PACKAGES" > "$rootfs/.gantry-packages"
  fi
  tar -C "$rootfs" --exclude=./.gantry-packages -c . | docker import -c "LABEL dev.gantry.vm-packages=$PACKAGES" - "$ROOTFS_IMAGE" >>"$LOG"
  rm -rf "$rootfs"
  say "rootfs imported as $ROOTFS_IMAGE in $((SECONDS - t0)) s"
}

build_image() {
  local ctx t0=$SECONDS
  ctx=$(mktemp -d)
  # Unique host keys per container, made by a oneshot unit before sshd starts. Only ed25519
  # and ECDSA: RSA key generation was 1.4 s of a 2.4 s boot.
  cat > "$ctx/gantry-ssh-hostkeys.service" <<'UNIT'
[Unit]
Description=Generate this host's SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
ExecStart=/usr/bin/ssh-keygen -q -t ecdsa -N "" -f /etc/ssh/ssh_host_ecdsa_key
[Install]
WantedBy=ssh.service
UNIT
  # Key-only root login; no DNS lookups (slow logins without a resolver); the host keys above.
  printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' > "$ctx/gantry-test.conf"
  cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $ROOTFS_IMAGE
COPY gantry-ssh-hostkeys.service /etc/systemd/system/gantry-ssh-hostkeys.service
COPY gantry-test.conf /etc/ssh/sshd_config.d/gantry-test.conf
# Units a container cannot run (no kernel modules, no consoles) are masked, so the system
# reaches "running" rather than "degraded" for reasons that have nothing to do with a test.
# nginx is installed for the reverse_proxy tests, which start it; it does not start at boot.
RUN rm -f /etc/ssh/ssh_host_* \\
 && mkdir -p /etc/systemd/system/ssh.service.wants /root/.ssh && chmod 700 /root/.ssh \\
 && ln -sf ../gantry-ssh-hostkeys.service /etc/systemd/system/ssh.service.wants/gantry-ssh-hostkeys.service \\
 && for u in systemd-modules-load.service getty@tty1.service console-getty.service systemd-remount-fs.service sys-kernel-config.mount sys-kernel-debug.mount; do ln -sf /dev/null /etc/systemd/system/\$u; done \\
 && rm -f /etc/systemd/system/multi-user.target.wants/nginx.service \\
 && echo gantry-vm > /etc/hostname
LABEL dev.gantry.vm-recipe=$RECIPE dev.gantry.vm-rootfs=$rootfs_id
CMD ["/sbin/init"]
DOCKERFILE
  docker build -q -t "$IMAGE" "$ctx" >>"$LOG" 2>&1 || { rm -rf "$ctx"; say "docker build of $IMAGE failed (see $LOG)"; return 1; }
  rm -rf "$ctx"
  say "built $IMAGE in $((SECONDS - t0)) s"
}

# Boots one container and checks what the tests rely on.
check() {
  local name="gantry-vm-check-$$" ok=1 state="" ip
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker run -d --name "$name" --label dev.gantry.test=vm-check \
    --cap-add SYS_ADMIN --cap-add NET_ADMIN \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --tmpfs /run --tmpfs /run/lock -v /sys/fs/cgroup:/sys/fs/cgroup:rw --cgroupns=host \
    "$IMAGE" >/dev/null || { say "could not start a container from $IMAGE"; return 1; }
  for _ in $(seq 1 60); do
    state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) break ;; esac
    sleep 0.5
  done
  case "$state" in running|degraded) ;; *) say "systemd did not come up (state: ${state:-none})"; ok=0 ;; esac
  if [ "$ok" = 1 ]; then
    docker exec "$name" systemctl is-active --quiet ssh || { say "sshd is not active"; ok=0; }
    ip=$(docker inspect --format '{{.NetworkSettings.IPAddress}}' "$name")
    # sshd answers with its banner on port 22.
    node -e "const s=require('net').connect(22,process.argv[1]);s.setTimeout(5000,()=>process.exit(1));s.once('data',d=>process.exit(String(d).startsWith('SSH-2.0-')?0:1));s.on('error',()=>process.exit(1))" "$ip" \
      || { say "sshd did not answer on $ip:22"; ok=0; }
    docker exec "$name" node --version >/dev/null 2>&1 || { say "no node in the image"; ok=0; }
  fi
  [ "$ok" = 1 ] && say "$IMAGE boots: systemd $state, sshd answers"
  docker rm -f "$name" >/dev/null 2>&1 || true
  [ "$ok" = 1 ]
}

mkdir -p "$STATE"
[ "$(label_of "$ROOTFS_IMAGE" dev.gantry.vm-packages)" = "$PACKAGES" ] || build_rootfs
rootfs_id=$(docker image inspect --format '{{.Id}}' "$ROOTFS_IMAGE")
[ "$(label_of "$IMAGE" dev.gantry.vm-recipe)" = "$RECIPE" ] && [ "$(label_of "$IMAGE" dev.gantry.vm-rootfs)" = "$rootfs_id" ] || build_image
# The check boots a container (a few seconds): once per image id.
id=$(docker image inspect --format '{{.Id}}' "$IMAGE")
if [ "$(cat "$STATE/vm-image-checked" 2>/dev/null || true)" != "$id" ]; then
  check || { say "$IMAGE does not work (see above); the ssh tests will say so"; exit 1; }
  echo "$id" > "$STATE/vm-image-checked"
fi
