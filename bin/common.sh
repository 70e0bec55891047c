# Shared by bin/boxwood and bin/test: find Java 25, install missing Debian packages, build the jars.
# Sourced, not run.
set -euo pipefail

BOXWOOD_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BOXWOOD_HOME

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'boxwood: %s\n' "$*" >&2; exit 1; }

# Debian packages the server needs at run time, and the build needs.
RUNTIME_PACKAGES=(crun runsc debootstrap nftables iproute2 uidmap util-linux procps e2fsprogs ca-certificates curl)
BUILD_PACKAGES=(maven)

find_java() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25'; then
    return
  fi
  local candidate
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk-* /usr/lib/jvm/java-25-*; do
    if [[ -x "$candidate/bin/java" ]]; then
      export JAVA_HOME="$candidate"
      return
    fi
  done
  die "Java 25 is required (looked in /usr/lib/jvm); install a Temurin 25 JDK or set JAVA_HOME"
}

# gVisor's runsc from bookworm-backports: inside bookworm's own (20221219), coreutils' statx fails with EINVAL, so
# even `ls` breaks. Backports stay at apt's default low priority, so nothing else is upgraded from there.
ensure_runsc() {
  if runsc --version 2>/dev/null | grep -q 'version 0.0~2022'; then
    [[ $EUID -eq 0 ]] || die "runsc is too old; run as root so it can be upgraded from bookworm-backports"
  elif command -v runsc >/dev/null; then
    return
  fi
  [[ $EUID -eq 0 ]] || die "missing Debian package runsc; run as root so it can be installed"
  local list=/etc/apt/sources.list.d/bookworm-backports.list
  grep -qs 'bookworm-backports' /etc/apt/sources.list "$list" \
    || echo 'deb http://deb.debian.org/debian bookworm-backports main' >"$list"
  say "Installing runsc (gVisor) from bookworm-backports"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports runsc >/dev/null
}

ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    if [[ $pkg == runsc ]]; then ensure_runsc; continue; fi
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    [[ $EUID -eq 0 ]] || die "missing Debian packages (${missing[*]}); run as root so they can be installed"
    say "Installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# CRIU for pause-by-checkpoint (runc runtime). Bookworm's criu 3.17 fails on kernel 6.x ("Unexpected rt vDSO area
# bounds") and trixie's 4.1.1 binary needs glibc >= 2.38, so build trixie's 4.1.1 source once into a cache directory
# (BOXWOOD_TOOLS, default /var/lib/boxwood/tools; about 3 min on 2 cores). The trixie deb-src list lives in a temporary
# apt directory, so the system's apt configuration never sees trixie. Prints the binary's path.
CRIU_VERSION=4.1.1
CRIU_BUILD_PACKAGES=(build-essential pkg-config xz-utils libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev protobuf-compiler
  python3-protobuf libnl-3-dev libnl-route-3-dev libnet1-dev libcap-dev libbsd-dev libgnutls28-dev libnftables-dev uuid-dev
  libaio-dev libdrm-dev)
# What a checkpoint needs at run time besides CRIU: runc drives it, and CRIU locks the sandbox's network during a dump
# with iptables-restore (its default network lock), which a minimal Debian does not have.
CRIU_RUNTIME_PACKAGES=(runc iptables)
ensure_criu() {
  local tools="${BOXWOOD_TOOLS:-/var/lib/boxwood/tools}"
  local dir="$tools/criu-$CRIU_VERSION-bw1" criu="$tools/criu-$CRIU_VERSION-bw1/criu"
  ensure_packages "${CRIU_RUNTIME_PACKAGES[@]}" >&2
  if [[ -x "$criu" ]]; then
    echo "$criu"
    return
  fi
  ensure_packages "${CRIU_BUILD_PACKAGES[@]}" >&2
  if [[ ! -x "$criu" ]]; then
    say "Building CRIU $CRIU_VERSION from Debian trixie's source (once; cached in $dir)"
    local work
    work="$(mktemp -d)"
    mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/src"
    echo 'deb-src http://deb.debian.org/debian trixie main' >"$work/apt/sources.list"
    local apt_opts=(-o "Dir::Etc::SourceList=$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache" -o APT::Sandbox::User=root)
    apt-get "${apt_opts[@]}" update -qq >&2
    # Only the upstream tarball is needed (no Debian patch touches the build here), and some mirrors no longer
    # serve the .dsc once a newer revision is out; its checksum comes from trixie's signed Sources index.
    local uri sum
    read -r uri _ _ sum < <(apt-get "${apt_opts[@]}" source --print-uris -qq criu | grep "criu_$CRIU_VERSION.orig.tar")
    [[ -n "$uri" ]] || die "trixie no longer has criu $CRIU_VERSION"
    curl -fsS -o "$work/src/criu.orig.tar" "${uri//\'/}"
    echo "${sum#SHA256:}  $work/src/criu.orig.tar" | sha256sum -c --quiet - || die "criu source checksum mismatch"
    tar -xf "$work/src/criu.orig.tar" -C "$work/src"
    # Kernels from 6.16 answer EOPNOTSUPP to SO_PASSCRED/SO_PASSSEC on sockets other than unix and netlink, and
    # 4.1.1 then fails every dump of a TCP socket ("Can't get 1:16 opt"); read them as off there (restore only sets
    # them when on), as later CRIU releases do.
    local opt
    for opt in SO_PASSCRED SO_PASSSEC; do
      sed -i "s/^\tret |= dump_opt(sk, SOL_SOCKET, $opt, &val);/\t{ socklen_t l = sizeof(val); if (getsockopt(sk, SOL_SOCKET, $opt, \&val, \&l) < 0) { if (errno != EOPNOTSUPP) ret |= -1; val = 0; } }/" \
        "$work/src/criu-$CRIU_VERSION/criu/sockets.c"
      grep -q "SOL_SOCKET, $opt, &val, &l" "$work/src/criu-$CRIU_VERSION/criu/sockets.c" || die "cannot patch CRIU ($opt)"
    done
    (cd "$work/src/criu-$CRIU_VERSION" && make -j"$(nproc)" criu >"$work/build.log" 2>&1) \
      || { tail -30 "$work/build.log" >&2; die "CRIU build failed (log: $work/build.log)"; }
    mkdir -p "$dir"
    install -m 0755 "$work/src/criu-$CRIU_VERSION/criu/criu" "$criu.tmp"
    mv "$criu.tmp" "$criu"
    rm -rf "$work"
  fi
  "$criu" check >&2 || die "criu check failed for $criu"
  echo "$criu"
}

# Rebuilds the jars when any source or pom is newer than the launcher jar.
ensure_jars() {
  local jar="$BOXWOOD_HOME/cli/target/boxwood.jar"
  if [[ ! -f "$jar" || -n "$(find "$BOXWOOD_HOME" -path '*/node_modules' -prune -o \( -name '*.java' -o -name 'pom.xml' -o -path '*/src/main/resources/*' \) -newer "$jar" -print -quit)" ]]; then
    say "Building Boxwood (mvn package)"
    (cd "$BOXWOOD_HOME" && mvn -B -q -DskipTests package 2>&1 | grep -v -e '^WARNING' >&2) || die "build failed"
  fi
}

find_java
export PATH="$JAVA_HOME/bin:$PATH"
