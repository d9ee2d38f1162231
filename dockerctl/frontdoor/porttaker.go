package frontdoor

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// portHolder names the process listening on a TCP port, as far as the
// kernel's tables (/proc/net/tcp, tcp6) and the processes' file
// descriptors tell: "python3 (pid 4242)"; "" when it cannot be known (not
// Linux, another user's process, another network namespace).
func portHolder(port int) string {
	inode := listeningInode(port)
	if inode == "" {
		return ""
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*") // a constant pattern: no error
	want := "socket:[" + inode + "]"
	for _, fd := range procs {
		if link, err := os.Readlink(fd); err != nil || link != want {
			continue
		}
		pid := strings.Split(fd, "/")[2]
		comm, err := os.ReadFile(filepath.Join("/proc", pid, "comm"))
		if err != nil {
			return "pid " + pid
		}
		return fmt.Sprintf("%s (pid %s)", strings.TrimSpace(string(comm)), pid)
	}
	return ""
}

// listeningInode is the socket inode listening on port, "" when none is.
func listeningInode(port int) string {
	hexPort := fmt.Sprintf(":%04X", port)
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" || !strings.HasSuffix(fields[1], hexPort) {
				continue
			}
			if _, err := strconv.Atoi(fields[9]); err == nil {
				f.Close()
				return fields[9]
			}
		}
		f.Close()
	}
	return ""
}
