#!/usr/bin/env bash
# Builds the Kubernetes binaries (and etcd, CoreDNS, helm, konnectivity) from the Go module proxy into a cache outside the
# repository, keyed by version, so a warm machine skips the build. Prints progress while go compiles.
#
#   e2e/build/build-kubernetes.sh            build what is missing, print the Kubernetes bin folder
#   e2e/build/build-kubernetes.sh helm       build only the named parts (kubernetes etcd coredns helm konnectivity metallb flannel e2e)
#   KUBECEPTION_CACHE=/some/dir ...          cache root (default ~/.cache/kubeception)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
source "$here/versions.env"
cache=${KUBECEPTION_CACHE:-$HOME/.cache/kubeception}
kube_bin="$cache/kubernetes/$KUBE_VERSION/bin"
etcd_bin="$cache/etcd/$ETCD_VERSION/bin"
coredns_bin="$cache/coredns/$COREDNS_VERSION/bin"
helm_bin="$cache/helm/$HELM_VERSION/bin"
konnectivity_bin="$cache/konnectivity/$KONNECTIVITY_VERSION/bin"
metallb_dir="$cache/metallb/$METALLB_VERSION"
flannel_bin="$cache/flannel/$FLANNEL_VERSION/bin"
flannel_cni_bin="$cache/flannel-cni-plugin/$FLANNEL_CNI_PLUGIN_VERSION/bin"
e2e_bin="$cache/kubernetes-e2e/$KUBE_VERSION/bin"
kube_cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubeadm kubectl)
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

log() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Runs `go build -v` and reports how many packages have been compiled every 20 s.
build_with_progress() {
  local label=$1 workdir=$2 logfile=$3; shift 3
  ( cd "$workdir" && go build -v "$@" ) >"$logfile" 2>&1 &
  local pid=$! start=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 20
    log "$label: $(grep -c . "$logfile" 2>/dev/null || echo 0) packages compiled, $((SECONDS - start)) s"
  done
  if ! wait "$pid"; then
    tail -40 "$logfile" >&2
    log "$label: build failed, full log in $logfile"
    return 1
  fi
  log "$label: done in $((SECONDS - start)) s"
}

# The linker flags of a Kubernetes binary built from the module proxy: stripped, and stamped with the version
# (what `kubectl version`, `kubeadm version` and the apiserver's /version report), as upstream's build does.
kube_version_ldflags() {
  local minor_patch=${KUBE_VERSION#v1.} date ld="-s -w"
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=${minor_patch%%.*}"
    ld+=" -X $p.gitTreeState=clean -X $p.gitCommit=module-proxy-$KUBE_VERSION -X $p.buildDate=$date"
  done
  echo "$ld"
}

build_kubernetes() {
  local have=1
  for c in "${kube_cmds[@]}"; do [ -x "$kube_bin/$c" ] || have=0; done
  if [ $have = 1 ]; then log "kubernetes $KUBE_VERSION: cached in $kube_bin"; return; fi
  local minor_patch=${KUBE_VERSION#v1.}   # 36.5
  local staging_version="v0.$minor_patch"
  local work="$cache/work/kubernetes-$KUBE_VERSION"
  mkdir -p "$work" "$kube_bin.tmp"
  log "kubernetes $KUBE_VERSION: preparing wrapper module in $work"
  # The tag's go.mod requires its staging modules at v0.0.0 and replaces them with ./staging paths, which
  # only exist in the kubernetes repository: replace each with its published v0.<minor>.<patch> instead.
  local upstream_mod
  upstream_mod=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module kubeception.local/kubernetes-build"
    echo
    echo "go 1.26.0"
    echo
    echo "godebug default=go1.26"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    grep -E '^\s+k8s.io/[a-z0-9-]+ => \./staging' "$upstream_mod" | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
  } >"$work/go.mod"
  local pkgs=()
  for c in "${kube_cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  local ld; ld=$(kube_version_ldflags)
  log "kubernetes $KUBE_VERSION: resolving modules (first time downloads ~500 MB)"
  (cd "$work" && go mod download -x 2>&1 | grep -c '^# get' >/dev/null || true)
  (cd "$work" && GOFLAGS=-mod=mod go list "${pkgs[@]}" >/dev/null)
  log "kubernetes $KUBE_VERSION: compiling ${kube_cmds[*]} (cold: about 11 min on 2 cores)"
  build_with_progress "kubernetes" "$work" "$work/build.log" -mod=mod -trimpath -ldflags "$ld" -o "$kube_bin.tmp/" "${pkgs[@]}"
  rm -rf "$kube_bin"; mv "$kube_bin.tmp" "$kube_bin"
  "$kube_bin/kubectl" version --client >&2
}

build_etcd() {
  if [ -x "$etcd_bin/etcd" ] && [ -x "$etcd_bin/etcdctl" ]; then log "etcd $ETCD_VERSION: cached in $etcd_bin"; return; fi
  local work="$cache/work/etcd-$ETCD_VERSION"
  mkdir -p "$work" "$etcd_bin.tmp"
  printf 'module kubeception.local/etcd-build\n\ngo 1.26.0\n\nrequire (\n\tgo.etcd.io/etcd/server/v3 %s\n\tgo.etcd.io/etcd/etcdctl/v3 %s\n)\n' \
    "$ETCD_VERSION" "$ETCD_VERSION" >"$work/go.mod"
  (cd "$work" && GOFLAGS=-mod=mod go list go.etcd.io/etcd/server/v3 go.etcd.io/etcd/etcdctl/v3 >/dev/null)
  log "etcd $ETCD_VERSION: compiling"
  build_with_progress "etcd" "$work" "$work/build.log" -mod=mod -trimpath -ldflags "-s -w" -o "$etcd_bin.tmp/" \
    go.etcd.io/etcd/server/v3 go.etcd.io/etcd/etcdctl/v3
  mv "$etcd_bin.tmp/server" "$etcd_bin.tmp/etcd"  # go names it after the path element before /v3
  rm -rf "$etcd_bin"; mv "$etcd_bin.tmp" "$etcd_bin"
  ls "$etcd_bin" >&2
}

# CoreDNS from its module with only the plugins a cluster DNS needs (the full plugin set pulls in every
# cloud SDK): the test bed's own DNS and the tenants' CoreDNS addon image.
build_coredns() {
  if [ -x "$coredns_bin/coredns" ]; then log "coredns $COREDNS_VERSION: cached in $coredns_bin"; return; fi
  local work="$cache/work/coredns-$COREDNS_VERSION"
  mkdir -p "$work" "$coredns_bin.tmp"
  printf 'module kubeception.local/coredns-build\n\ngo 1.26.0\n\nrequire github.com/coredns/coredns %s\n' "$COREDNS_VERSION" >"$work/go.mod"
  cp "$here/coredns-main.go.txt" "$work/main.go"
  (cd "$work" && GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || true)
  log "coredns $COREDNS_VERSION: compiling"
  build_with_progress "coredns" "$work" "$work/build.log" -mod=mod -trimpath \
    -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=module-proxy" -o "$coredns_bin.tmp/coredns" .
  rm -rf "$coredns_bin"; mv "$coredns_bin.tmp" "$coredns_bin"
}

# helm from its module (installs, lints and renders manifests/kubeception). The version is stamped the way
# helm's Makefile does for a tagged release, so `helm version` names it.
build_helm() {
  if [ -x "$helm_bin/helm" ]; then log "helm $HELM_VERSION: cached in $helm_bin"; return; fi
  local module="helm.sh/helm/${HELM_VERSION%%.*}"   # helm.sh/helm/v4
  local work="$cache/work/helm-$HELM_VERSION"
  mkdir -p "$work" "$helm_bin.tmp"
  printf 'module kubeception.local/helm-build\n\ngo 1.26.0\n\nrequire %s %s\n' "$module" "$HELM_VERSION" >"$work/go.mod"
  log "helm $HELM_VERSION: resolving modules"
  (cd "$work" && GOFLAGS=-mod=mod go list "$module/cmd/helm" >/dev/null)
  local ld="-s -w -X $module/internal/version.version=$HELM_VERSION -X $module/internal/version.metadata="
  ld+=" -X $module/internal/version.gitCommit=module-proxy-$HELM_VERSION -X $module/internal/version.gitTreeState=clean"
  log "helm $HELM_VERSION: compiling"
  build_with_progress "helm" "$work" "$work/build.log" -mod=mod -trimpath -ldflags "$ld" -o "$helm_bin.tmp/helm" "$module/cmd/helm"
  rm -rf "$helm_bin"; mv "$helm_bin.tmp" "$helm_bin"
  "$helm_bin/helm" version >&2
}

# konnectivity (apiserver-network-proxy) from its module: proxy-server runs beside each tenant apiserver,
# proxy-agent on the tenant's nodes. The tag's go.mod replaces its konnectivity-client module with the
# in-repository copy, which a dependency's replace cannot do: require the client published with the same tag.
build_konnectivity() {
  if [ -x "$konnectivity_bin/proxy-server" ] && [ -x "$konnectivity_bin/proxy-agent" ]; then
    log "konnectivity $KONNECTIVITY_VERSION: cached in $konnectivity_bin"; return
  fi
  local module=sigs.k8s.io/apiserver-network-proxy
  local work="$cache/work/konnectivity-$KONNECTIVITY_VERSION"
  mkdir -p "$work" "$konnectivity_bin.tmp"
  printf 'module kubeception.local/konnectivity-build\n\ngo 1.26.0\n\nrequire (\n\t%s %s\n\t%s/konnectivity-client %s\n)\n' \
    "$module" "$KONNECTIVITY_VERSION" "$module" "$KONNECTIVITY_VERSION" >"$work/go.mod"
  log "konnectivity $KONNECTIVITY_VERSION: resolving modules"
  (cd "$work" && GOFLAGS=-mod=mod go list "$module/cmd/server" "$module/cmd/agent" >/dev/null)
  log "konnectivity $KONNECTIVITY_VERSION: compiling proxy-server proxy-agent (cold: about 1.5 min on 2 cores once the Kubernetes modules are cached)"
  build_with_progress "konnectivity proxy-server" "$work" "$work/build-server.log" -mod=mod -trimpath -ldflags "-s -w" \
    -o "$konnectivity_bin.tmp/proxy-server" "$module/cmd/server"
  build_with_progress "konnectivity proxy-agent" "$work" "$work/build-agent.log" -mod=mod -trimpath -ldflags "-s -w" \
    -o "$konnectivity_bin.tmp/proxy-agent" "$module/cmd/agent"
  rm -rf "$konnectivity_bin"; mv "$konnectivity_bin.tmp" "$konnectivity_bin"
  ls -l "$konnectivity_bin" >&2   # neither binary has a --version flag
}

# MetalLB (the test bed's LoadBalancer implementation, L2 mode) from its module: controller and speaker, the
# module's own CRDs (config/crd/bases) and its manifest (config/manifests/metallb-native.yaml: RBAC, Deployment,
# DaemonSet), kept beside the binaries so the test bed applies the same version (e2e/testbed/metallb.ts).
build_metallb() {
  if [ -x "$metallb_dir/bin/controller" ] && [ -x "$metallb_dir/bin/speaker" ] && [ -d "$metallb_dir/crd" ] \
    && [ -f "$metallb_dir/manifests/metallb-native.yaml" ]; then
    log "metallb $METALLB_VERSION: cached in $metallb_dir"; return
  fi
  local module=go.universe.tf/metallb
  local work="$cache/work/metallb-$METALLB_VERSION"
  mkdir -p "$work" "$metallb_dir.tmp/bin" "$metallb_dir.tmp/crd" "$metallb_dir.tmp/manifests"
  printf 'module kubeception.local/metallb-build\n\ngo 1.26.0\n\nrequire %s %s\n' "$module" "$METALLB_VERSION" >"$work/go.mod"
  log "metallb $METALLB_VERSION: resolving modules"
  (cd "$work" && GOFLAGS=-mod=mod go list "$module/controller" "$module/speaker" >/dev/null)
  local ld="-s -w -X $module/internal/version.gitCommit=module-proxy -X $module/internal/version.gitBranch=$METALLB_VERSION"
  log "metallb $METALLB_VERSION: compiling controller speaker"
  build_with_progress "metallb" "$work" "$work/build.log" -mod=mod -trimpath -ldflags "$ld" -o "$metallb_dir.tmp/bin/" "$module/controller" "$module/speaker"
  local src; src=$(cd "$work" && go list -m -f '{{.Dir}}' "$module")
  cp "$src"/config/crd/bases/*.yaml "$metallb_dir.tmp/crd/"
  cp "$src/config/manifests/metallb-native.yaml" "$metallb_dir.tmp/manifests/"
  chmod -R u+w "$metallb_dir.tmp"
  rm -rf "$metallb_dir"; mv "$metallb_dir.tmp" "$metallb_dir"
  ls "$metallb_dir/bin" "$metallb_dir/crd" "$metallb_dir/manifests" >&2
}

# flannel, the tenants' default CNI addon: flanneld and install-conf (which the DaemonSet's init container uses to
# write the CNI config) from the flannel module, and the `flannel` CNI meta-plugin from containernetworking/plugins
# (plugins/meta/flannel; the last release that has it is v0.9.1, later it moved to flannel-io/cni-plugin, which the
# module proxy does not serve). Two wrapper modules: flannel requires a newer containernetworking/plugins.
build_flannel() {
  if [ -x "$flannel_bin/flanneld" ] && [ -x "$flannel_bin/install-conf" ] && [ -x "$flannel_cni_bin/flannel" ]; then
    log "flannel $FLANNEL_VERSION (CNI plugin $FLANNEL_CNI_PLUGIN_VERSION): cached in $flannel_bin, $flannel_cni_bin"; return
  fi
  local module=github.com/flannel-io/flannel plugins=github.com/containernetworking/plugins
  local work="$cache/work/flannel-$FLANNEL_VERSION" cni_work="$cache/work/flannel-cni-plugin-$FLANNEL_CNI_PLUGIN_VERSION"
  mkdir -p "$work" "$cni_work" "$flannel_bin.tmp" "$flannel_cni_bin.tmp"
  printf 'module kubeception.local/flannel-build\n\ngo 1.26.0\n\nrequire %s %s\n' "$module" "$FLANNEL_VERSION" >"$work/go.mod"
  printf 'module kubeception.local/flannel-cni-plugin-build\n\ngo 1.26.0\n\nrequire %s %s\n' "$plugins" "$FLANNEL_CNI_PLUGIN_VERSION" >"$cni_work/go.mod"
  # flanneld is the module root's package main, which imports every backend. Two cannot be built here: the
  # Tencent Cloud VPC backend's SDK module (tencentcloud-sdk-go/tencentcloud/vpc) is refused by the module proxy
  # (403), and the udp backend needs cgo on amd64 (upstream's Makefile turns cgo on for it alone). So flanneld is
  # built from upstream's own main.go, taken from the module at this version, with only those two backends' import
  # lines removed (vxlan, host-gw, ipip, ipsec, wireguard, extension stay), in the wrapper module requiring flannel.
  log "flannel $FLANNEL_VERSION: resolving modules"
  (cd "$work" && GOFLAGS=-mod=mod go mod download "$module@$FLANNEL_VERSION")
  local src; src=$(cd "$work" && go mod download -json "$module@$FLANNEL_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  grep -vE '"github.com/flannel-io/flannel/pkg/backend/(tencentvpc|udp)"' "$src/main.go" >"$work/main.go"
  (cd "$work" && GOFLAGS=-mod=mod go list . "$module/cmd/install_conf" >/dev/null)
  (cd "$cni_work" && GOFLAGS=-mod=mod go list "$plugins/plugins/meta/flannel" >/dev/null)
  log "flannel $FLANNEL_VERSION: compiling flanneld install-conf"
  build_with_progress "flanneld" "$work" "$work/build.log" -mod=mod -trimpath \
    -ldflags "-s -w -X $module/pkg/version.Version=$FLANNEL_VERSION" -o "$flannel_bin.tmp/flanneld" .
  build_with_progress "flannel install-conf" "$work" "$work/build-install-conf.log" -mod=mod -trimpath -ldflags "-s -w" \
    -o "$flannel_bin.tmp/install-conf" "$module/cmd/install_conf"
  log "flannel CNI plugin $FLANNEL_CNI_PLUGIN_VERSION: compiling"
  build_with_progress "flannel CNI plugin" "$cni_work" "$cni_work/build.log" -mod=mod -trimpath \
    -ldflags "-s -w -X $plugins/pkg/utils/buildversion.BuildVersion=$FLANNEL_CNI_PLUGIN_VERSION" \
    -o "$flannel_cni_bin.tmp/flannel" "$plugins/plugins/meta/flannel"
  rm -rf "$flannel_bin" "$flannel_cni_bin"; mv "$flannel_bin.tmp" "$flannel_bin"; mv "$flannel_cni_bin.tmp" "$flannel_cni_bin"
  "$flannel_bin/flanneld" --version >&2
}

# The upstream conformance suite (npm run conformance, e2e/conformance/): e2e.test compiled from
# k8s.io/kubernetes/test/e2e, the ginkgo CLI at the version kubernetes' go.mod pins (runs e2e.test in parallel),
# and the binaries of the suite's own test images: agnhost (k8s.io/kubernetes/test/images/agnhost), nnp
# (test/images/nonewprivs) and the sample-apiserver (k8s.io/sample-apiserver, the aggregator spec). Same wrapper module shape as build_kubernetes
# (the staging replaces), its own work folder, the shared Go build cache. Not part of the default set: only the
# conformance runner builds it. What is missing is built; the rest is kept.
build_e2e() {
  # `npm test` starts this build in the background while the other tests run, and the conformance test asks
  # for it again: one build at a time, the second waits for the first and then finds everything cached.
  mkdir -p "$cache/kubernetes-e2e"
  exec {e2e_lock}>"$cache/kubernetes-e2e/.build-$KUBE_VERSION.lock"
  if ! flock -n "$e2e_lock"; then
    log "kubernetes e2e $KUBE_VERSION: another build of it is running; waiting for it"
    flock "$e2e_lock"
  fi
  local tools=(ginkgo agnhost nonewprivs sample-apiserver) missing_tools=0
  for t in "${tools[@]}"; do [ -x "$e2e_bin/$t" ] || missing_tools=1; done
  if [ $missing_tools = 0 ] && [ -x "$e2e_bin/e2e.test" ]; then
    log "kubernetes e2e $KUBE_VERSION: cached in $e2e_bin"; exec {e2e_lock}>&-; return
  fi
  local minor_patch=${KUBE_VERSION#v1.}
  local staging_version="v0.$minor_patch"
  local work="$cache/work/kubernetes-e2e-$KUBE_VERSION"
  mkdir -p "$work" "$e2e_bin"
  local upstream_mod
  upstream_mod=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  local ginkgo_version
  ginkgo_version=$(awk '$1 == "github.com/onsi/ginkgo/v2" {print $2; exit}' "$upstream_mod")
  {
    echo "module kubeception.local/kubernetes-e2e-build"
    echo
    echo "go 1.26.0"
    echo
    echo "godebug default=go1.26"
    echo
    echo "require ("
    echo "	k8s.io/kubernetes $KUBE_VERSION"
    echo "	github.com/onsi/ginkgo/v2 $ginkgo_version"
    echo ")"
    echo
    grep -E '^\s+k8s.io/[a-z0-9-]+ => \./staging' "$upstream_mod" | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
  } >"$work/go.mod"
  local ld; ld=$(kube_version_ldflags)
  local tool_pkgs=(github.com/onsi/ginkgo/v2/ginkgo k8s.io/kubernetes/test/images/agnhost k8s.io/kubernetes/test/images/nonewprivs k8s.io/sample-apiserver)
  log "kubernetes e2e $KUBE_VERSION: resolving modules (ginkgo $ginkgo_version)"
  (cd "$work" && GOFLAGS=-mod=mod go list -test k8s.io/kubernetes/test/e2e "${tool_pkgs[@]}" >/dev/null)
  if [ $missing_tools = 1 ]; then
    log "kubernetes e2e $KUBE_VERSION: compiling ${tools[*]}"
    rm -rf "$e2e_bin.tools"; mkdir -p "$e2e_bin.tools"
    build_with_progress "${tools[*]}" "$work" "$work/build-tools.log" -mod=mod -trimpath -ldflags "$ld" -o "$e2e_bin.tools/" "${tool_pkgs[@]}"
    mv "$e2e_bin.tools"/* "$e2e_bin/"; rmdir "$e2e_bin.tools"
  fi
  if [ ! -x "$e2e_bin/e2e.test" ]; then
    # go test -c: e2e.test is the package's test binary (-v would be a test flag here: progress is the time only)
    log "kubernetes e2e $KUBE_VERSION: compiling e2e.test (cold: about 11 min on 2 cores beside other builds)"
    ( cd "$work" && go test -c -mod=mod -trimpath -ldflags "$ld" -o "$e2e_bin/e2e.test.tmp" k8s.io/kubernetes/test/e2e ) >"$work/build-e2e.log" 2>&1 &
    local pid=$! start=$SECONDS
    while kill -0 "$pid" 2>/dev/null; do
      sleep 20
      log "e2e.test: compiling, $((SECONDS - start)) s"
    done
    if ! wait "$pid"; then tail -40 "$work/build-e2e.log" >&2; log "e2e.test: build failed, full log in $work/build-e2e.log"; return 1; fi
    mv "$e2e_bin/e2e.test.tmp" "$e2e_bin/e2e.test"
    log "e2e.test: done in $((SECONDS - start)) s"
  fi
  ls -l "$e2e_bin" >&2
  exec {e2e_lock}>&-
}

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(kubernetes etcd coredns helm konnectivity metallb flannel)
for part in "${parts[@]}"; do
  case $part in
    kubernetes | etcd | coredns | helm | konnectivity | metallb | flannel | e2e) "build_$part" ;;
    *) log "unknown part '$part' (known: kubernetes etcd coredns helm konnectivity metallb flannel e2e)"; exit 2 ;;
  esac
done
echo "$kube_bin"
