# Runs with bash -eu in a chroot of the template, as root, after the packages are installed.

# E2B's default user: uid/gid 1000, home /home/user, passwordless sudo. Root stays available to the agent.
groupadd --gid 1000 user
useradd --uid 1000 --gid 1000 --create-home --home-dir /home/user --shell /bin/bash user
printf 'user ALL=(ALL:ALL) NOPASSWD: ALL\n' > /etc/sudoers.d/user
chmod 0440 /etc/sudoers.d/user

# E2B images let `pip install` work system-wide; Debian's PEP 668 marker would refuse it.
rm -f /usr/lib/python3*/EXTERNALLY-MANAGED

# The runtime writes /etc/hostname, /etc/hosts and /etc/resolv.conf per sandbox; leave friendly defaults.
echo sandbox > /etc/hostname
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > /etc/hosts
printf 'LANG=C.UTF-8\n' > /etc/default/locale

# Every command the E2B SDK runs is `bash -l -c`, and Debian's /etc/profile forks and execs `id -u` to tell root from
# the others: as much CPU as the shell itself. bash knows its EUID; a shell without one (dash) still asks id.
sed -i 's/"$(id -u)"/"${EUID:-$(id -u)}"/' /etc/profile
# Root's ~/.profile (from base-files) ends with `mesg n`, which only means something on a terminal: for the SDK's
# terminal-less `bash -l -c` it was a fork and an exec of mesg per root command, doubling a `true` (~7 ms here).
sed -i 's/^mesg n 2> \/dev\/null || true$/if [ -t 0 ]; then mesg n 2> \/dev\/null || true; fi/' /root/.profile

# /bin/bash is Debian's static build of the same bash (package bash-static): every SDK command starts one, and on a
# host where a page fault is dear the dynamic one spends half its start in the loader (`bash -l -c true` in a sandbox
# here: 6.0-6.4 ms dynamic, 3.6 ms static). Same version, readline, job control and NSS lookups; only `enable -f`
# (loadable builtins) is missing. The diversion keeps the dynamic build as /bin/bash.dynamic through upgrades; the
# swap is a rename, so that there is always a /bin/bash (dpkg warns against a diversion that renames it).
dpkg-divert --local --no-rename --divert /bin/bash.dynamic --add /bin/bash
cp -p /bin/bash /bin/bash.dynamic
ln -s bash-static /bin/bash.static-link
mv -T /bin/bash.static-link /bin/bash

# Paths the runtime bind-mounts the agent and the host JDK onto.
mkdir -p /opt/boxwood/jdk
touch /opt/boxwood/agent.jar

# sudo through the agent: under no_new_privs the setuid /usr/bin/sudo cannot gain root, so /usr/local/bin/sudo (first
# on PATH) asks the agent over /run/boxwood-sudo.sock (agent package dev.boxwood.agent.sudo).
install -m 0755 /tmp/boxwood-recipe/sudo /usr/local/bin/sudo
