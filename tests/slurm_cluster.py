"""A real single-node Slurm for the tests: munged, slurmctld and slurmd under one temporary folder.

Two partitions on the one node: `low` (the default; its jobs are preempted by requeue,
after USR2) and `high` (preempts `low`). Free ports are picked so two test sessions do
not meet. Scheduler settings shorten a requeued job's restart to seconds. The daemons
are stopped by the PIDs in their pid files. See ../shared/notes/slurm.md.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "scancel")


def missing_tools() -> list[str]:
    return [t for t in DAEMONS + CLIENTS if shutil.which(t) is None and not Path("/usr/sbin", t).exists()]


def _tool(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


CONFIG = """\
ClusterName=repro
SlurmctldHost=localhost
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser={user}
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={dir}/munge.socket,cred_expire=10
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
SlurmctldParameters=preempt_send_user_signal
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} Sockets=1 CoresPerSocket={cpus} ThreadsPerCore=1 RealMemory=20000 State=UNKNOWN
PartitionName=low Nodes=localhost Default=YES MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=REQUEUE GraceTime=30
PartitionName=high Nodes=localhost MaxTime=INFINITE State=UP PriorityTier=10 PreemptMode=OFF
"""


@dataclass
class Cluster:
    dir: Path
    conf: Path
    cpus: int

    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def run(self, *args: str, timeout: float = 30) -> str:
        out = subprocess.run([_tool(args[0]), *args[1:]], env={**os.environ, **self.env()}, capture_output=True,
                             text=True, timeout=timeout)
        if out.returncode:
            raise RuntimeError(f"{' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout

    def pids(self) -> dict[str, int]:
        found = {}
        for name in DAEMONS:
            pid_file = self.dir / f"{name}.pid"
            if pid_file.exists() and pid_file.read_text().strip():
                found[name] = int(pid_file.read_text().split()[0])
        return found

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.dir.glob("*.log")))


def start(folder: Path, timeout: float = 30) -> Cluster:
    """Start munged, slurmctld and slurmd; return once the node is idle (or raise with the logs)."""
    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("state", "spool", "munge"):
        (folder / sub).mkdir(exist_ok=True)
    cpus = max(1, min(os.cpu_count() or 1, 4))
    ctld_port, slurmd_port = _free_ports(2)
    conf = folder / "slurm.conf"
    conf.write_text(CONFIG.format(dir=folder, ctld_port=ctld_port, slurmd_port=slurmd_port, cpus=cpus,
                                  user=os.environ.get("USER") or "root"))
    cluster = Cluster(folder, conf, cpus)
    env = {**os.environ, **cluster.env()}
    subprocess.run([_tool("munged"), "--force", f"--socket={folder}/munge.socket", f"--pid-file={folder}/munged.pid",
                    f"--log-file={folder}/munged.log", f"--seed-file={folder}/munge/seed"], env=env, check=True,
                   capture_output=True, timeout=timeout)
    subprocess.run([_tool("slurmctld"), "-f", str(conf)], env=env, check=True, capture_output=True, timeout=timeout)
    subprocess.run([_tool("slurmd"), "-f", str(conf), "-N", "localhost"], env=env, check=True, capture_output=True,
                   timeout=timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if "idle" in cluster.run("sinfo", "-h", "-o", "%t"):
                return cluster
        except (RuntimeError, subprocess.SubprocessError):
            pass
        time.sleep(0.2)
    stop(cluster)
    raise RuntimeError(f"the test cluster did not come up within {timeout:.0f} s:\n{cluster.logs()}")


def stop(cluster: Cluster, timeout: float = 15) -> None:
    """Cancel what is left in the queue, stop the daemons by their pid files' PIDs (slurmd first),
    then end any job process still carrying this cluster's SLURM_CONF (a step slurmd left behind)."""
    try:
        ids = cluster.run("squeue", "-h", "-o", "%A").split()
        if ids:
            cluster.run("scancel", *ids)
            deadline = time.monotonic() + timeout
            while cluster.run("squeue", "-h", "-o", "%A").split() and time.monotonic() < deadline:
                time.sleep(0.2)
    except (RuntimeError, subprocess.SubprocessError):
        pass
    pids = cluster.pids()
    for name in ("slurmd", "slurmctld", "munged"):
        if name in pids:
            _end(pids[name], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for pid in pids.values():
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            _end(pid, signal.SIGKILL)
    for pid in _processes_of(cluster):
        _end(pid, signal.SIGKILL)


def _processes_of(cluster: Cluster) -> list[int]:
    """PIDs whose environment names this cluster's slurm.conf: its job steps and their children."""
    marker = f"SLURM_CONF={cluster.conf}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0") and _alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _end(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of ours counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
