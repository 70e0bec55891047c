# Runs with bash -eu in a chroot of the template, as root, after the packages are installed.
#
# The agent (not a Jupyter server) starts the kernels from their kernelspecs: python3 (python3-ipykernel) and ir
# (r-cran-irkernel) are installed by the packages into /usr/share/jupyter/kernels. Bash, JavaScript, TypeScript and
# Java kernels are built into the agent and need only bash, node (+ node-typescript) and the bind-mounted JDK.

# Kernels run as root (as in E2B's template); their cwd defaults to /home/user.
# Build matplotlib's font cache now, or the first plot in every sandbox pays several seconds for it.
HOME=/root MPLBACKEND=Agg python3 -c 'import matplotlib.pyplot as plt; plt.figure(); plt.close("all")'

# Compile the Python stack once, so kernels in read-only layers do not try (and fail) to write .pyc files.
python3 -m compileall -q /usr/lib/python3/dist-packages >/dev/null 2>&1 || true


