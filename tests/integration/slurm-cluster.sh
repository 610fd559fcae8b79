# A private single-node Slurm cluster for the tests and the bench (sourced,
# not run): munged, slurmctld and slurmd as this shell's own processes, with
# their key, sockets, pid files, spool, state and logs under one directory,
# and the machine's host name as SlurmctldHost and node. Stopped by PID with
# cluster_stop. Jobs run as root (SlurmUser=root), as shipyard's builds
# need.
#
# cluster_start DIR: starts it under DIR and exports SLURM_CONF; returns 1
# with the reason in $cluster_why when a daemon cannot start (the caller
# skips). proctrack/cgroup (whole process trees killed on scancel) is used
# where slurmd starts with it; else proctrack/linuxproc, which finds a job's
# processes through their parent ids (a process that leaves its parent
# escapes it). $cluster_proctrack says which.

# free_port: a TCP port nothing listens on now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cluster_write_conf() {
	cat >"$cluster_dir/slurm.conf" <<CONF
ClusterName=shipyardtest
SlurmctldHost=$cluster_host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$cluster_dir/munge.socket
SlurmctldPort=$cluster_ctld_port
SlurmdPort=$cluster_d_port
SlurmctldPidFile=$cluster_dir/slurmctld.pid
SlurmdPidFile=$cluster_dir/slurmd.pid
SlurmdSpoolDir=$cluster_dir/spool
StateSaveLocation=$cluster_dir/state
SlurmctldLogFile=$cluster_dir/slurmctld.log
SlurmdLogFile=$cluster_dir/slurmd.log
ProctrackType=proctrack/$cluster_proctrack
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$cluster_dir/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,sched_min_interval=0,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=3600
KillWait=5
InactiveLimit=0
SlurmctldParameters=enable_configless
MpiDefault=none
NodeName=$cluster_host CPUs=$cluster_cpus RealMemory=$cluster_mem TmpDisk=$cluster_tmp State=UNKNOWN
PartitionName=build Nodes=$cluster_host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
	cat >"$cluster_dir/cgroup.conf" <<CONF
CgroupPlugin=autodetect
ConstrainCores=no
ConstrainRAMSpace=no
CONF
}

# Waits up to $2 tenths of a second for command $1 to succeed.
cluster_wait() {
	i=0
	until eval "$1" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt "$2" ] || return 1
		sleep 0.1
	done
}

cluster_start() {
	cluster_dir=$1
	cluster_why=""
	cluster_pids=""
	for cmd in munged slurmctld slurmd sbatch squeue scancel; do
		command -v "$cmd" >/dev/null 2>&1 || { cluster_why="$cmd not installed"; return 1; }
	done
	mkdir -p "$cluster_dir/spool" "$cluster_dir/state"
	chmod 700 "$cluster_dir"
	cluster_host=$(hostname -s)
	cluster_cpus=$(nproc)
	cluster_mem=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024))
	cluster_tmp=$(($(df -Pm "$cluster_dir" | awk 'NR==2 {print $4}') / 2))
	cluster_ctld_port=$(free_port)
	cluster_d_port=$(free_port)
	# munge: a private key, socket, pid, seed and log.
	dd if=/dev/urandom of="$cluster_dir/munge.key" bs=1024 count=1 2>/dev/null
	chmod 400 "$cluster_dir/munge.key"
	munged --force --key-file="$cluster_dir/munge.key" --socket="$cluster_dir/munge.socket" \
		--pid-file="$cluster_dir/munged.pid" --seed-file="$cluster_dir/munged.seed" \
		--log-file="$cluster_dir/munged.log" 2>"$cluster_dir/munged.err" ||
		{ cluster_why="munged: $(cat "$cluster_dir/munged.err")"; return 1; }
	cluster_pids="$(cat "$cluster_dir/munged.pid")"
	export SLURM_CONF=$cluster_dir/slurm.conf
	for cluster_proctrack in cgroup linuxproc; do
		cluster_write_conf
		slurmctld -D -i -f "$SLURM_CONF" >"$cluster_dir/slurmctld.out" 2>&1 &
		cluster_ctld_pid=$!
		if ! cluster_wait 'scontrol ping | grep -q UP' 100; then
			cluster_why="slurmctld did not start: $(tail -n 3 "$cluster_dir/slurmctld.log" 2>/dev/null)"
			cluster_stop_pid "$cluster_ctld_pid"
			return 1
		fi
		slurmd -D -f "$SLURM_CONF" >"$cluster_dir/slurmd.out" 2>&1 &
		cluster_d_pid=$!
		if cluster_wait "sinfo -h -N -o %T | grep -Eq '^(idle|mixed|allocated)'" 100 &&
			kill -0 "$cluster_d_pid" 2>/dev/null && cluster_probe; then
			cluster_pids="$cluster_pids $cluster_ctld_pid $cluster_d_pid"
			return 0
		fi
		cluster_why="slurmd cannot run jobs: $(tail -n 3 "$cluster_dir/slurmd.log" 2>/dev/null)"
		scancel --user=root >/dev/null 2>&1 || true
		cluster_stop_pid "$cluster_d_pid"
		cluster_stop_pid "$cluster_ctld_pid"
		rm -rf "$cluster_dir/state" "$cluster_dir/spool"
		mkdir -p "$cluster_dir/spool" "$cluster_dir/state"
	done
	return 1
}

# cluster_probe: a trivial job runs to COMPLETED within 10 s (with
# proctrack/cgroup where cgroups are not delegated, slurmd starts but every
# job is cancelled at launch).
cluster_probe() {
	probe_id=$(sbatch --parsable --output=/dev/null --wrap=true 2>/dev/null) || return 1
	cluster_wait "squeue -h -t all -j $probe_id -o %T | grep -qx COMPLETED" 100
}

# Stops one process we started, and waits for it.
cluster_stop_pid() {
	kill "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ "$i" -lt 50 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null || true
}

# cluster_stop: stops the daemons cluster_start started, by PID; the
# jobs still running die with slurmd's job steps (scancel first).
cluster_stop() {
	[ -n "${cluster_pids:-}" ] || return 0
	scancel --user=root >/dev/null 2>&1 || true
	# The jobs' slurmstepd processes end once their jobs are over.
	cluster_wait '[ -z "$(squeue -h -o %i)" ]' 150 || true
	for pid in $cluster_pids; do
		# munged runs on after its parent: its pid is in its pid file.
		cluster_stop_pid "$pid"
	done
	cluster_pids=""
}
